// The mixed lock load: one worker per host certificate, each doing acquire / refresh / release
// / blocking acquire on a few mutexes and semaphores through a random live instance, and
// judging every answer against what it was told before (ledger.ts).
import https from 'node:https';
import type { KeyedCert } from '../../src/pki/x509.js';
import { send, type Outcome } from './http.js';
import type { Instance } from './instances.js';
import type { Ledger, Pair } from './ledger.js';
import { between, pick, sleep, type Random } from './random.js';

export interface LoadLock {
  name: string;
  maxHolders: number;
}

export const LOAD_LOCKS: LoadLock[] = [
  { name: 'chaos-one-a', maxHolders: 1 },
  { name: 'chaos-one-b', maxHolders: 1 },
  { name: 'chaos-one-c', maxHolders: 1 },
  { name: 'chaos-two', maxHolders: 2 },
  { name: 'chaos-two-b', maxHolders: 2 },
  { name: 'chaos-three', maxHolders: 3 },
  { name: 'chaos-five', maxHolders: 5 },
];

export interface Worker {
  host: string;
  cert: KeyedCert;
  agent: https.Agent;
}

export interface LoadContext {
  ledger: Ledger;
  caPem: string;
  instances: Instance[];
  rand: Random;
  stopping: () => boolean;
}

/** Counts an answer; a 5xx other than a 503 with Retry-After is a violation. */
export function judgeStatus(ledger: Ledger, outcome: Outcome, what: string): number | undefined {
  ledger.counts.operations++;
  if (!outcome.ok) {
    ledger.counts.transportErrors++;
    return undefined;
  }
  const { status, text } = outcome.answer;
  ledger.status(status);
  if (status >= 500 && status !== 503) ledger.violation(`http ${status}`, `${what}: ${text.slice(0, 300)}`);
  if (status === 503 && outcome.answer.headers['retry-after'] === undefined) {
    ledger.violation('503 without Retry-After', `${what}: ${text.slice(0, 200)}`);
  }
  return status;
}

function checkHolders(ledger: Ledger, lock: LoadLock, outcome: Outcome, what: string): void {
  if (!outcome.ok) return;
  const holders = outcome.answer.json?.holders;
  if (Array.isArray(holders) && holders.length > lock.maxHolders) {
    ledger.violation('over max_holders (answer)', `${what}: ${holders.length} holders of ${lock.name}`);
  }
}

async function operate(ctx: LoadContext, worker: Worker, lock: LoadLock): Promise<void> {
  const { ledger, rand } = ctx;
  const live = ctx.instances.filter((i) => i.running);
  if (live.length === 0) return sleep(100);
  const instance = pick(rand, live);
  const pair: Pair = ledger.pair(worker.host, lock.name);
  const belief = pair.belief;
  const path = `/api/dlmlocks/${lock.name}/lock`;
  const call = (method: string, query = '', timeoutMs = 15_000) =>
    send(instance.url, ctx.caPem, method, path + query, {
      cert: worker.cert,
      agent: worker.agent,
      timeoutMs,
    });

  pair.busy = true;
  pair.version++;
  try {
    if (belief.state === 'held' && (!belief.verified || rand() < 0.4)) {
      // refresh: a holder's re-acquire is 200 with the same token, whatever happened meanwhile
      const what = `refresh ${lock.name} by ${worker.host} via ${instance.name}`;
      const outcome = await call('PUT');
      const status = judgeStatus(ledger, outcome, what);
      checkHolders(ledger, lock, outcome, what);
      if (status === 200 && outcome.ok) {
        const token = Number(outcome.answer.json?.fencing_token);
        if (token !== belief.token) {
          ledger.violation('acknowledged acquire lost', `${what}: token ${belief.token} became ${token}`);
          pair.belief = { state: 'held', token, verified: true };
        } else ledger.verified(pair);
      } else if (status === 412) {
        ledger.violation('acknowledged acquire lost', `${what}: 412 to its holder (token ${belief.token})`);
        pair.belief = { state: 'free' };
      }
      return;
    }
    if (belief.state === 'held' || belief.state === 'unknown') {
      const what = `release ${lock.name} by ${worker.host} via ${instance.name}`;
      const outcome = await call('DELETE');
      const status = judgeStatus(ledger, outcome, what);
      checkHolders(ledger, lock, outcome, what);
      if (status === 200) pair.belief = { state: 'free' };
      else if (status === 412) {
        if (belief.state === 'held') {
          ledger.violation('acknowledged acquire lost', `${what}: 412 to its holder (token ${belief.token})`);
        }
        pair.belief = { state: 'free' };
      } else pair.belief = { state: 'unknown' };
      return;
    }
    // free: acquire, sometimes blocking
    const wait = rand() < 0.15 ? Math.ceil(between(rand, 0, 2)) : 0;
    const above = ledger.highest(lock.name);
    const what = `acquire${wait ? ` ?wait=${wait}` : ''} ${lock.name} by ${worker.host} via ${instance.name}`;
    const outcome = await call('PUT', wait ? `?wait=${wait}` : '', wait * 1000 + 15_000);
    const status = judgeStatus(ledger, outcome, what);
    checkHolders(ledger, lock, outcome, what);
    if (status === 200 && outcome.ok) {
      const token = Number(outcome.answer.json?.fencing_token);
      if (!Number.isFinite(token))
        ledger.violation('no fencing token', `${what}: ${outcome.answer.text.slice(0, 200)}`);
      else ledger.granted(pair, token, above);
    } else if (status !== 412) pair.belief = { state: 'unknown' };
  } finally {
    pair.version++;
    pair.busy = false;
  }
}

export async function runWorker(ctx: LoadContext, worker: Worker): Promise<void> {
  while (!ctx.stopping()) {
    await operate(ctx, worker, pick(ctx.rand, LOAD_LOCKS));
    await sleep(between(ctx.rand, 0, 40));
  }
}

/** The beliefs the final check holds against the database. */
export function heldPairs(ledger: Ledger): Pair[] {
  return [...ledger.pairs.values()].filter((p) => p.belief.state === 'held');
}
