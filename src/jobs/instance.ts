// The instance heartbeat: this process renews its row in `instances` every few seconds, so the
// blocking waiters it queued count as live (src/lock/queue.ts). A killed instance stops renewing
// and its waiters stop holding up everyone else once its lease (the timeout) runs out.
import type { Store } from '../store/store.js';
import { every, type Job } from './expiry.js';

export interface InstanceTiming {
  instanceHeartbeatSeconds: number;
  instanceTimeoutSeconds: number;
}

export async function startHeartbeat(
  store: Store,
  timing: InstanceTiming,
  onError: (err: unknown) => void,
): Promise<Job> {
  const leaseMs = timing.instanceTimeoutSeconds * 1000;
  await store.heartbeat(leaseMs, true);
  const job = every(timing.instanceHeartbeatSeconds * 1000, () => store.heartbeat(leaseMs), onError);
  return {
    async stop() {
      await job.stop();
      // A clean shutdown takes its row and queue entries along at once (best effort: the lease
      // runs out anyway when the database is unreachable now).
      await store.retireInstance().catch(() => undefined);
    },
  };
}
