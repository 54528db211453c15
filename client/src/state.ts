// The update workflow's memory across a reboot. Written atomically (temp file, fsync, rename,
// fsync of the directory) so that power loss leaves either the old or the new state, never half.
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ClientError } from './errors.js';
import { STEPS } from './workflow.js';

const stateSchema = z.object({
  version: z.literal(1),
  lock: z.string(),
  url: z.string(),
  host: z.string(),
  /** the step being run, or to run next */
  step: z.enum(STEPS),
  /** running: in `step` now (or killed there); failed: `step` failed; rebooting: reboot issued */
  status: z.enum(['running', 'failed', 'rebooting']),
  fencingToken: z.string().optional(),
  startedAt: z.string(),
  updatedAt: z.string(),
  failure: z.string().optional(),
  /** the boot the reboot command was run in; resuming in the same boot means it did not reboot */
  bootId: z.string().optional(),
});

export type UpdateState = z.infer<typeof stateSchema>;

export const STATE_FILE = 'update-state.json';

export function statePath(stateDir: string): string {
  return path.join(stateDir, STATE_FILE);
}

export async function readState(stateDir: string): Promise<UpdateState | undefined> {
  const file = statePath(stateDir);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ClientError('local', `cannot read state file ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    raw = undefined;
  }
  const parsed = stateSchema.safeParse(raw);
  if (!parsed.success) {
    throw new ClientError(
      'local',
      `state file ${file} is corrupt; check whether this host holds the lock (keyholder lock status), then remove the file`,
    );
  }
  return parsed.data;
}

export async function writeState(stateDir: string, state: UpdateState): Promise<void> {
  const file = statePath(stateDir);
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await mkdir(stateDir, { recursive: true, mode: 0o755 });
    const fh = await open(tmp, 'w', 0o644);
    try {
      await fh.writeFile(`${JSON.stringify(state, null, 2)}\n`);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    await syncDir(stateDir);
  } catch (err) {
    await rm(tmp, { force: true });
    throw new ClientError('local', `cannot write state file ${file}: ${(err as Error).message}`);
  }
}

export async function clearState(stateDir: string): Promise<void> {
  try {
    await rm(statePath(stateDir), { force: true });
    await syncDir(stateDir);
  } catch (err) {
    throw new ClientError(
      'local',
      `cannot remove state file ${statePath(stateDir)}: ${(err as Error).message}`,
    );
  }
}

/** The rename is only durable once the directory entry is on disk. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!fh) return;
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
