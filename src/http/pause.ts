// /api/pause: the global pause — no new holder on any lock (foreman_dlm and FleetLock alike)
// until a time, with a reason. Holders keep refreshing and releasing. It is one database row, so
// every instance honours it in the transaction that decides; each change is in the audit trail
// (`pause`, `resume`), not in the lock events: it belongs to no one lock.
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Access } from '../identity/access.js';
import { auditActor } from '../identity/requester.js';
import { MAX_PAUSE_REASON_LENGTH, parseInstant, type Pause } from '../lock/calendar.js';
import { formatTimestamp } from '../lock/time.js';
import type { PauseService } from '../service/pause.js';
import { zodBody } from './zod-body.js';

const access = (a: Access) => ({ access: a });

const pauseBody = z
  .object({
    paused_until: z
      .string()
      .refine(
        (s) => parseInstant(s) !== undefined,
        'must be a timestamp such as 2026-12-24T18:00:00Z (UTC without an offset)',
      ),
    pause_reason: z.string().max(MAX_PAUSE_REASON_LENGTH).nullable().optional(),
  })
  .strict();

export const pauseSchema = {
  type: 'object',
  properties: {
    paused: { type: 'boolean', description: 'whether the pause is in force now' },
    paused_until: { type: ['string', 'null'], description: 'as set, also once it has passed' },
    pause_reason: { type: ['string', 'null'] },
  },
} as const;

function renderPause(pause: Pause | null, now: number) {
  return {
    paused: pause !== null && pause.until > now,
    paused_until: pause ? formatTimestamp(pause.until) : null,
    pause_reason: pause?.reason ?? null,
  };
}

export async function pauseRoutes(app: FastifyInstance, opts: { pauses: PauseService }): Promise<void> {
  const { pauses } = opts;
  const body = zodBody(pauseBody, 'pause');
  const schema = { tags: ['pause'], response: { 200: pauseSchema } };

  app.get('/pause', { config: access({ kind: 'user', role: 'viewer' }), schema }, async () => {
    const { pause, now } = await pauses.get();
    return renderPause(pause, now);
  });

  app.put(
    '/pause',
    {
      config: access({ kind: 'user', role: 'operator' }),
      schema: { ...schema, body: body.body },
      validatorCompiler: body.validatorCompiler,
    },
    async (request) => {
      const input = request.body as z.output<typeof pauseBody>;
      const until = parseInstant(input.paused_until)!;
      const { pause, now } = await pauses.set(
        { until, reason: input.pause_reason ?? null },
        auditActor(request.who),
      );
      return renderPause(pause, now);
    },
  );

  app.delete('/pause', { config: access({ kind: 'user', role: 'operator' }), schema }, async (request) => {
    const { pause, now } = await pauses.set(null, auditActor(request.who));
    return renderPause(pause, now);
  });
}
