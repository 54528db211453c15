import type { FastifyInstance } from 'fastify';
import type { Store } from '../store/store.js';
import { AppError } from '../errors.js';

const publicAccess = { access: { kind: 'public' as const } };

export async function healthRoutes(app: FastifyInstance, opts: { store: Store }): Promise<void> {
  // process up: answers even when the database is down, so orchestrators restart only the dead
  app.get('/healthz', { config: publicAccess }, async () => ({ status: 'ok' }));
  app.get('/readyz', { config: publicAccess }, async () => {
    try {
      await opts.store.ping();
    } catch {
      throw new AppError('unavailable');
    }
    return { status: 'ok', database: opts.store.dialect };
  });
}
