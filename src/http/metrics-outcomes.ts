// Grants and refusals of acquires, by API and by the rule's reason. A route that acquires
// notes the answer on its request; the metrics response hook counts it once, when answered.
// The label values are fixed lists, so the series are bounded.
import type { FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import type { RejectReason } from '../lock/rules.js';
import type { LockAnswer } from '../service/locks.js';

export type LockApi = 'dlmlocks' | 'fleetlock';
const APIS: LockApi[] = ['dlmlocks', 'fleetlock'];

/** every reason, so each series exists (at 0) from the start and rate() sees its first refusal */
const REASONS = Object.keys({
  held: true,
  full: true,
  queued: true,
  disabled: true,
  host_barred: true,
  outside_window: true,
  paused: true,
  blackout: true,
  gate_failed: true,
} satisfies Record<RejectReason, true>) as RejectReason[];

declare module 'fastify' {
  interface FastifyRequest {
    lockAcquire: { api: LockApi; answer: LockAnswer } | null;
  }
}

/** Notes an acquire's answer for the metrics; returns it unchanged. */
export function noteAcquire<A extends LockAnswer>(request: FastifyRequest, api: LockApi, answer: A): A {
  request.lockAcquire = { api, answer };
  return answer;
}

export function lockOutcomeCounters(registry: Registry) {
  const grants = new Counter({
    name: 'keyholder_lock_grants_total',
    help: 'Acquires answered with the lock held (refreshes included), by API',
    labelNames: ['api'] as const,
    registers: [registry],
  });
  const refusals = new Counter({
    name: 'keyholder_lock_refusals_total',
    help: 'Acquires refused, by API and reason (held, full, queued, disabled, host_barred, outside_window, paused, blackout, gate_failed)',
    labelNames: ['api', 'reason'] as const,
    registers: [registry],
  });
  for (const api of APIS) {
    grants.inc({ api }, 0);
    for (const reason of REASONS) refusals.inc({ api, reason }, 0);
  }
  return (request: FastifyRequest) => {
    const noted = request.lockAcquire;
    if (!noted) return;
    if (noted.answer.ok) grants.inc({ api: noted.api });
    else refusals.inc({ api: noted.api, reason: noted.answer.reason });
  };
}
