// `keyholder lock exec NAME -- COMMAND…` (like `consul lock`): take the lock (blocking, first
// come first served), run the command while holding it, renew the lease meanwhile, give the
// lock back when the command ends and pass its exit code on. If the lock is lost while the
// command runs (the lease ran out, an operator freed it), the command's process group is
// stopped and the exit code says so (4), so a job never carries on unprotected.
import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { ClientError, EXIT_LOCK_LOST, EXIT_UNREACHABLE, outcomeUnknown } from './errors.js';
import type { DlmClient } from './http.js';
import { LeaseKeeper } from './lease-keeper.js';
import { acquireWithRetry, lockOnce, releaseWithRetry } from './lock-ops.js';
import type { Logger } from './log.js';

export interface ExecOptions {
  client: DlmClient;
  host: string;
  lock: string;
  argv: string[];
  /** give up acquiring after this long; undefined waits as long as it takes */
  waitSeconds: number | undefined;
  /** per-request blocking wait to ask of keyholder */
  requestWaitSeconds: number;
  log: Logger;
  env: NodeJS.ProcessEnv;
  /** aborted on SIGTERM/SIGINT/SIGHUP: passed on to the command, which decides when to end */
  signal?: AbortSignal;
  /** without a lease, how often to look whether the lock is still held */
  watchMs?: number;
  /** after SIGTERM, how long the command has before SIGKILL */
  killGraceMs?: number;
}

/** Exit status of a command: its code, or 128 + the signal number as shells report it. */
function statusOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const num = signal ? osConstants.signals[signal] : undefined;
  return 128 + (num ?? 1);
}

export async function lockExec(opts: ExecOptions): Promise<number> {
  const { client, host, lock, log } = opts;
  const held = await acquireWithRetry(client, lock, host, {
    timeoutMs: opts.waitSeconds === undefined ? Number.POSITIVE_INFINITY : opts.waitSeconds * 1000,
    waitSeconds: opts.requestWaitSeconds,
    minDelayMs: 1000,
    maxDelayMs: 30_000,
    ...(opts.signal && { signal: opts.signal }),
  }).catch(async (err: unknown) => {
    // Gave up with the last answer lost (dropped connection, Ctrl-C): it may have been a grant.
    if (outcomeUnknown(err)) await lockOnce(client, 'release', lock, host).catch(() => undefined);
    throw err;
  });
  log.info(`acquired lock '${lock}'${held.fencingToken ? ` (fencing token ${held.fencingToken})` : ''}`);

  let stopCommand: ((why: string) => void) | undefined;
  const keeper = new LeaseKeeper({
    client,
    hold: { lock, host, fencingToken: held.fencingToken },
    log,
    leaseSeconds: held.lock.lease_seconds ?? undefined,
    watchWithoutLeaseMs: opts.watchMs ?? 10_000,
    onLost: (why) => stopCommand?.(why),
  });
  keeper.start();
  let status: number;
  try {
    status = await runCommand(opts, held.fencingToken, (stop) => (stopCommand = stop));
  } finally {
    await keeper.stop();
  }
  if (keeper.lost !== undefined) {
    log.error(`the command was stopped because lock '${lock}' was lost: ${keeper.lost}`);
    return EXIT_LOCK_LOST;
  }
  try {
    await releaseWithRetry(client, lock, host, { timeoutMs: 30_000, minDelayMs: 1000, maxDelayMs: 10_000 });
    log.info(`released lock '${lock}'`);
  } catch (err) {
    if (err instanceof ClientError && err.details.reason === 'held') {
      log.error(`lock '${lock}' was lost at the end of the command: ${err.message}`);
      return EXIT_LOCK_LOST;
    }
    log.error(`could not release lock '${lock}': ${(err as Error).message}`);
    return EXIT_UNREACHABLE;
  }
  return status;
}

function runCommand(
  opts: ExecOptions,
  fencingToken: string | undefined,
  onStart: (stop: (why: string) => void) => void,
): Promise<number> {
  return new Promise((resolve) => {
    const [cmd, ...args] = opts.argv;
    // Own process group, so a lost lock stops the command's children too (a shell pipeline).
    const child = spawn(cmd!, args, {
      stdio: 'inherit',
      detached: true,
      env: {
        ...opts.env,
        KEYHOLDER_LOCK: opts.lock,
        KEYHOLDER_HOST: opts.host,
        ...(fencingToken !== undefined && { KEYHOLDER_FENCING_TOKEN: fencingToken }),
      },
    });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    let killTimer: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup('SIGTERM');
      killTimer ??= setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 5000);
      killTimer.unref();
    };
    onStart(stop);
    // Ctrl-C or systemd's SIGTERM reach only us (the command has its own group): pass them on.
    const onAbort = () => killGroup('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const done = (status: number) => {
      clearTimeout(killTimer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(status);
    };
    child.on('error', (err: NodeJS.ErrnoException) => {
      opts.log.error(`cannot run ${cmd}: ${err.message}`);
      // as shells do: 127 not found, 126 found but not runnable
      done(err.code === 'ENOENT' ? 127 : 126);
    });
    child.on('exit', (code, signal) => done(statusOf(code, signal)));
  });
}
