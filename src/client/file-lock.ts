// One `keyholder update` per host at a time (the timer and the boot-time resume may overlap).
// proper-lockfile uses an atomic mkdir and refreshes its mtime while held, so the lock of a run
// that died (kill -9, power loss) goes stale and does not block the next run forever.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ClientError } from './errors.js';

export type Unlock = () => Promise<void>;

export async function lockRun(stateDir: string, onCompromised: (err: Error) => void): Promise<Unlock> {
  const target = path.join(stateDir, 'update');
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o755 });
    return await lockfile.lock(target, {
      realpath: false,
      lockfilePath: `${target}.lock`,
      stale: 30_000,
      update: 10_000,
      // Losing the lock mid-run (clock jump, unwritable dir) must not crash a running update.
      onCompromised,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new ClientError(
        'unavailable',
        `another keyholder update is running on this host (${target}.lock)`,
      );
    }
    throw new ClientError('local', `cannot lock ${target}.lock: ${(err as Error).message}`);
  }
}
