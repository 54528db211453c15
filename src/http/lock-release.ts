// POST /api/dlmlocks/:id/release: an operator frees one holder of a lock (a semaphore's stuck
// host) or all of them, always with a reason. The events name the operator as the actor and
// carry the reason; the audit trail records who did it from where.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Access } from '../identity/access.js';
import { auditActor } from '../identity/requester.js';
import type { LockService } from '../service/locks.js';
import { lockSchema, renderLock } from './render.js';
import { zodBody } from './zod-body.js';

const releaseBody = z
  .object({
    host: z.string().min(1).max(255).optional(),
    reason: z.string().trim().min(1, 'must be given: say why the lock is taken away').max(500),
  })
  .strict();

type ReleaseRequest = FastifyRequest<{ Params: { id: string }; Body: z.output<typeof releaseBody> }>;

export async function lockReleaseRoutes(
  app: FastifyInstance,
  opts: { locks: LockService; staleAfterMs: number },
): Promise<void> {
  const body = zodBody(releaseBody);
  app.post(
    '/dlmlocks/:id/release',
    {
      config: { access: { kind: 'user', role: 'operator' } satisfies Access },
      schema: { body: body.body, response: { 200: lockSchema } },
      validatorCompiler: body.validatorCompiler,
    },
    async (request: ReleaseRequest) => {
      const user = request.who.user!;
      const lock = await opts.locks.forceRelease(
        request.params.id,
        { actor: { user: { id: user.id, login: user.login } }, audit: auditActor(request.who) },
        { hostName: request.body.host, reason: request.body.reason },
      );
      return renderLock(lock, { now: Date.now(), staleAfterMs: opts.staleAfterMs });
    },
  );
}
