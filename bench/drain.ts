// `npx tsx bench/drain.ts [N…]`: the cost of a hand-off as a blocking-acquire queue grows. N
// waiters queue on one SQLite lock (in process, no HTTP), each releasing as soon as it is
// granted; prints the drain time per grant and the transactions and wake-ups per grant. With
// wake-ups for the head of the queue only, the time per grant should not grow with N.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LockService } from '../src/service/locks.js';
import { SqliteStore } from '../src/store/sqlite/index.js';
import type { Store } from '../src/store/store.js';

async function drain(n: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyholder-drain-'));
  const store = new SqliteStore(join(dir, 'keyholder.sqlite'));
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
    const service = new LockService(counted, true);
    await service.acquire('drain', 'holder');
    const waiters: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const queued = new Promise<void>((r) => (onQueued = r));
      waiters.push(
        service.acquire('drain', `w${i}`, { waitSeconds: 300 }).then(() => service.release('drain', `w${i}`)),
      );
      await queued;
    }
    const ops0 = ops;
    const wakeups0 = service.waits.wakeups;
    const t0 = performance.now();
    await service.release('drain', 'holder');
    await Promise.all(waiters);
    const ms = performance.now() - t0;
    console.log(
      `${String(n).padStart(5)} waiters: drained in ${(ms / 1000).toFixed(2)} s, ${(ms / n).toFixed(1)} ms per grant, ` +
        `${((ops - ops0) / n).toFixed(2)} transactions and ${((service.waits.wakeups - wakeups0) / n).toFixed(2)} wake-ups per grant`,
    );
    service.stop();
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const sizes = process.argv.slice(2).map(Number);
for (const n of sizes.length ? sizes : [50, 100, 200, 400]) await drain(n);
