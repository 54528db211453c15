// One `keyholder update` per host at a time (the timer and the boot-time resume may overlap).
// proper-lockfile uses an atomic mkdir and refreshes its mtime while held, so the lock of a run
// that died (kill -9, power loss) goes stale and does not block the next run forever.
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import lockfile from 'proper-lockfile';
import { ClientError } from './errors.js';

export type Unlock = () => Promise<void>;

const STALE_MS = 30_000;
const MIN_STALE_MS = 5_000;

/**
 * How old an unrefreshed lock must be to count as abandoned. Normally 30 s; but the lock lives in
 * the state directory, which survives reboots, and a lock older than this boot belongs to a
 * process that died with the previous one. Right after a quick reboot (a VM resets in seconds)
 * the boot-time resume must not wait for it, so the threshold never exceeds the uptime.
 */
export function staleAfterMs(uptimeSeconds: number): number {
  return Math.max(MIN_STALE_MS, Math.min(STALE_MS, Math.floor(uptimeSeconds * 1000) - 1000));
}

export function runLockPath(stateDir: string): string {
  return `${path.join(stateDir, 'update')}.lock`;
}

export async function lockRun(
  stateDir: string,
  onCompromised: (err: Error) => void,
  uptimeSeconds: number = os.uptime(),
): Promise<Unlock> {
  const target = path.join(stateDir, 'update');
  const stale = staleAfterMs(uptimeSeconds);
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o755 });
    return await lockfile.lock(target, {
      realpath: false,
      lockfilePath: runLockPath(stateDir),
      stale,
      update: Math.floor(stale / 3),
      // Losing the lock mid-run (clock jump, unwritable dir) must not crash a running update.
      onCompromised,
    });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOCKED') {
      throw new ClientError(
        'unavailable',
        `another keyholder update is running on this host (${runLockPath(stateDir)})`,
      );
    }
    throw new ClientError('local', `cannot lock ${runLockPath(stateDir)}: ${(err as Error).message}`);
  }
}
