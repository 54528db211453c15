// Hook directories in the run-parts tradition: every executable regular file, in byte-wise
// lexical order (10-foo before 20-bar, whatever the locale), each with a timeout.
import { spawn } from 'node:child_process';
import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export const HOOK_DIRS = [
  'needs_update.d',
  'pre_update.d',
  'update.d',
  'needs_reboot.d',
  'post_update.d',
] as const;
export type HookDir = (typeof HOOK_DIRS)[number];

// Left-overs of package managers and editors: running a `.dpkg-old` copy next to the real hook
// would run the old version of the update too.
const IGNORED =
  /(^\.|~$|\.(dpkg-(old|dist|new|tmp)|rpm(save|new|orig)|ucf-(old|dist|new)|swp|bak|disabled)$)/;

export async function listHooks(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const hooks: string[] = [];
  for (const name of names) {
    if (IGNORED.test(name)) continue;
    const file = path.join(dir, name);
    // stat follows symlinks: a link to an executable counts, as with run-parts
    const st = await stat(file).catch(() => undefined);
    if (!st?.isFile()) continue;
    if (
      await access(file, constants.X_OK).then(
        () => true,
        () => false,
      )
    )
      hooks.push(file);
  }
  return hooks;
}

export type HookResult =
  | { status: 'ok' }
  | { status: 'failed'; exitCode: number | null; signal: string | null; output: string }
  | { status: 'timeout'; output: string }
  /** stopped because keyholder itself was told to stop (shutdown, Ctrl-C) */
  | { status: 'interrupted'; output: string }
  | { status: 'spawn_error'; message: string };

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** called for every complete line the hook prints (stdout and stderr together) */
  onLine: (line: string) => void;
  /** after SIGTERM, how long before SIGKILL */
  killGraceMs?: number;
  /** on abort the program's process group gets SIGTERM, as on a timeout */
  signal?: AbortSignal;
}

const TAIL_BYTES = 4000;

/** Runs one program (argv[0] with args) and reports how it ended; never throws. */
export function runProgram(argv: readonly string[], opts: RunOptions): Promise<HookResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    if (!cmd) return resolve({ status: 'spawn_error', message: 'empty command' });
    if (opts.signal?.aborted) return resolve({ status: 'interrupted', output: '' });
    // Own process group, so a timeout kills the hook's children too (apt, dnf, a shell pipeline).
    const child = spawn(cmd, args, { env: opts.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let tail = '';
    let stoppedBy: 'timeout' | 'interrupted' | undefined;
    // Lines are split per stream (a stderr line must not glue onto half a stdout line) and decoded
    // as UTF-8 streams, so a character cut between two reads stays whole.
    const partial = { stdout: '', stderr: '' };
    const follow = (stream: NodeJS.ReadableStream, key: keyof typeof partial) => {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => {
        const lines = (partial[key] + chunk).split('\n');
        partial[key] = lines.pop() ?? '';
        for (const line of lines) opts.onLine(line);
        tail = (tail + chunk).slice(-TAIL_BYTES);
      });
    };
    follow(child.stdout, 'stdout');
    follow(child.stderr, 'stderr');
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, signal);
      } catch {
        // already gone
      }
    };
    const stop = (why: 'timeout' | 'interrupted') => {
      if (stoppedBy) return;
      stoppedBy = why;
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), opts.killGraceMs ?? 5000).unref();
    };
    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    // The hook runs in its own process group, so a Ctrl-C or systemd's SIGTERM does not reach it
    // by itself: pass it on, or an interrupted `apt-get upgrade` would carry on orphaned.
    const onAbort = () => stop('interrupted');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    let drain: NodeJS.Timeout | undefined;
    const finish = (result: HookResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(drain);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    child.on('error', (err) => finish({ status: 'spawn_error', message: err.message }));
    const report = (code: number | null, signal: NodeJS.Signals | null) => {
      for (const key of ['stdout', 'stderr'] as const) {
        if (partial[key]) opts.onLine(partial[key]);
        partial[key] = '';
      }
      const output = tail.trimEnd();
      if (stoppedBy) finish({ status: stoppedBy, output });
      else if (code === 0) finish({ status: 'ok' });
      else finish({ status: 'failed', exitCode: code, signal, output });
    };
    child.on('close', report);
    // A hook that starts a daemon leaves our pipes open in the daemon: 'close' would never come.
    // Once the hook itself has exited, give its output a moment to drain, then move on.
    child.on('exit', (code, signal) => {
      drain = setTimeout(() => {
        child.stdout.destroy();
        child.stderr.destroy();
        report(code, signal);
      }, 2000);
    });
  });
}
