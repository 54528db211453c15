// The per-host run lock: a second run is refused while the first lives, and a lock left behind by
// a process that died with the previous boot does not hold up the boot-time resume.
import { mkdir, mkdtemp, rm, utimes } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockRun, runLockPath, staleAfterMs } from '../../client/src/file-lock.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-file-lock-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const ignore = () => undefined;

/** A lock directory as a dead run leaves it, last refreshed `ageSeconds` ago. */
async function abandonedLock(stateDir: string, ageSeconds: number) {
  await mkdir(runLockPath(stateDir), { recursive: true });
  const then = new Date(Date.now() - ageSeconds * 1000);
  await utimes(runLockPath(stateDir), then, then);
}

describe('run lock', () => {
  it('refuses a second holder while the first holds it, and frees on unlock', async () => {
    const stateDir = path.join(dir, 'live');
    const unlock = await lockRun(stateDir, ignore);
    await expect(lockRun(stateDir, ignore)).rejects.toMatchObject({
      kind: 'unavailable',
      message: `another keyholder update is running on this host (${runLockPath(stateDir)})`,
    });
    await unlock();
    const again = await lockRun(stateDir, ignore);
    await again();
  });

  it('treats a lock from before this boot as abandoned, however recent', async () => {
    expect(staleAfterMs(3600)).toBe(30_000);
    expect(staleAfterMs(12)).toBe(11_000);
    expect(staleAfterMs(1)).toBe(5_000);

    const stateDir = path.join(dir, 'rebooted');
    // refreshed 15 s ago: fresh by the usual 30 s rule …
    await abandonedLock(stateDir, 15);
    await expect(lockRun(stateDir, ignore, 3600)).rejects.toMatchObject({ kind: 'unavailable' });
    // … but the host has been up for 12 s only, so its owner died with the previous boot
    const unlock = await lockRun(stateDir, ignore, 12);
    await unlock();
  });
});
