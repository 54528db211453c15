// `npx tsx bench/drain.ts [--store sqlite|postgres] [--pg-durable on|off] [--max-holders M] [--budget-seconds S] [N…]`:
// the cost of a hand-off as a blocking-acquire queue grows. N waiters queue on one lock with
// max_holders M (in process, no HTTP; PostgreSQL: a durable throwaway cluster, a database per
// size), each releasing as soon as it is granted; M holders then let go and the
// queue drains. Prints the time to queue them, the drain time per grant and the transactions
// and wake-ups per grant. With wake-ups for the head of the queue only, the time per grant
// should not grow with N. A size that does not queue and drain within the budget is reported
// with what it reached (grants so far and their rate), and larger sizes are skipped.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { LockService } from '../src/service/locks.js';
import { PostgresStore } from '../src/store/postgres/index.js';
import { SqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/store/store.js';
import { startPgCluster, type PgCluster } from '../test/support/postgres.js';

const { values: flags, positionals } = parseArgs({
  options: {
    store: { type: 'string', default: 'sqlite' },
    // off: no fsync, so what is left is the work per operation (reads, CPU), not the disk's
    'pg-durable': { type: 'string', default: 'on' },
    'max-holders': { type: 'string', default: '1' },
    'budget-seconds': { type: 'string', default: '300' },
  },
  allowPositionals: true,
  strict: true,
});
const maxHolders = Number(flags['max-holders']);
const budgetMs = Number(flags['budget-seconds']) * 1000;
if (!Number.isInteger(maxHolders) || maxHolders < 1) throw new Error('--max-holders: a whole number ≥ 1');
if (!(budgetMs > 0)) throw new Error('--budget-seconds: a number > 0');
if (flags.store !== 'sqlite' && flags.store !== 'postgres') throw new Error('--store: sqlite or postgres');
if (flags['pg-durable'] !== 'on' && flags['pg-durable'] !== 'off') throw new Error('--pg-durable: on or off');
const cluster: PgCluster | undefined =
  flags.store === 'postgres' ? await startPgCluster({ durable: flags['pg-durable'] === 'on' }) : undefined;

function openStore(dir: string, n: number): SqliteStore | PostgresStore {
  if (!cluster) return new SqliteStore(join(dir, 'keyholder.sqlite'));
  cluster.psql(`CREATE DATABASE drain_${n}`);
  return new PostgresStore({ url: cluster.url(`drain_${n}`) });
}

/** whether the size finished within the budget */
async function drain(n: number): Promise<boolean> {
  const dir = mkdtempSync(join(tmpdir(), 'keyholder-drain-'));
  const store = openStore(dir, n);
  const t00 = performance.now();
  const over = () => performance.now() - t00 > budgetMs;
  let service: LockService | undefined;
  try {
    await store.migrate();
    await store.heartbeat(600_000, true);
    let ops = 0;
    let onQueued: (() => void) | undefined;
    const counted = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop !== 'lockOp' && prop !== 'hostLockOp') return Reflect.get(target, prop, receiver) as unknown;
        return async (...args: Parameters<Store['hostLockOp']>) => {
          ops++;
          const out = await (target[prop] as Store['hostLockOp'])(...args);
          if (out?.waiterId !== undefined) onQueued?.();
          return out;
        };
      },
    });
    service = new LockService(counted, true);
    const svc = service;
    for (let h = 0; h < maxHolders; h++) {
      await svc.acquire('drain', `holder${h}`, { createMaxHolders: maxHolders });
    }
    let granted = 0;
    const waiters: Promise<unknown>[] = [];
    const tq = performance.now();
    let queued = 0;
    for (; queued < n && !over(); queued++) {
      const q = new Promise<void>((r) => (onQueued = r));
      const name = `w${queued}`;
      waiters.push(
        svc
          .acquire('drain', name, { waitSeconds: 300 })
          .then(() => granted++)
          .then(() => svc.release('drain', name))
          .catch(() => undefined),
      );
      await q;
    }
    const queueMs = performance.now() - tq;
    const ops0 = ops;
    const wakeups0 = svc.waits.wakeups;
    const t0 = performance.now();
    for (let h = 0; h < maxHolders; h++) await svc.release('drain', `holder${h}`);
    let timer: NodeJS.Timeout | undefined;
    const left = Math.max(0, budgetMs - (performance.now() - t00));
    await Promise.race([Promise.all(waiters), new Promise<void>((r) => (timer = setTimeout(r, left)))]);
    clearTimeout(timer);
    const ms = performance.now() - t0;
    const done = queued === n && granted === n;
    const per = granted > 0 ? ms / granted : NaN;
    console.log(
      `${flags.store} ${String(n).padStart(6)} waiters, max_holders ${maxHolders}: ` +
        (queued < n
          ? `only ${queued} queued within the budget (${(queueMs / 1000).toFixed(1)} s); `
          : `queued in ${(queueMs / 1000).toFixed(1)} s (${(queueMs / n).toFixed(2)} ms each); `) +
        (done
          ? `drained in ${(ms / 1000).toFixed(2)} s`
          : `${granted} granted in ${(ms / 1000).toFixed(1)} s (budget reached)`) +
        `, ${per.toFixed(2)} ms per grant, ` +
        `${((ops - ops0) / Math.max(1, granted)).toFixed(2)} transactions and ${((svc.waits.wakeups - wakeups0) / Math.max(1, granted)).toFixed(2)} wake-ups per grant`,
    );
    return done;
  } finally {
    // what is still queued is answered (shutdown) and left behind with the file
    service?.lapsed.stop();
    service?.stop();
    await store.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const sizes = positionals.map(Number);
try {
  for (const n of sizes.length ? sizes : [50, 100, 200, 400]) {
    if (!(await drain(n))) {
      console.log('  (larger sizes skipped)');
      break;
    }
  }
} finally {
  cluster?.stop();
}
