// Child processes for the bench: the servers under test and the load client each get their own
// process (and so their own event loop and core), started with tsx's loader and an IPC channel.
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

const TSX_LOADER = import.meta.resolve('tsx');

export interface Child {
  proc: ChildProcess;
  /** resolves with the next IPC message of the given type */
  next<T extends { type: string } = { type: string }>(type: T['type'], timeoutMs?: number): Promise<T>;
  send(message: unknown): void;
  stop(): Promise<void>;
}

export function startTsChild(
  script: string,
  env: Record<string, string> = {},
  nodeArgs: string[] = [],
): Child {
  const file = fileURLToPath(new URL(script, import.meta.url));
  const proc = spawn(
    process.execPath,
    [...nodeArgs, '--conditions=keyholder-source', '--import', TSX_LOADER, file],
    {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...env },
    },
  );
  // the IPC channel may already be gone when we say 'stop' to a child that is exiting by itself
  proc.on('error', () => undefined);
  const waiting = new Map<string, Array<(m: unknown) => void>>();
  const early: Array<{ type: string }> = [];
  let failure = '';
  proc.on('message', (m: { type: string; message?: string }) => {
    if (m.type === 'failed') failure = `: ${m.message}`;
    const list = waiting.get(m.type);
    const resolve = list?.shift();
    if (resolve) resolve(m);
    else early.push(m);
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      exited = true;
      resolve();
    }),
  );
  return {
    proc,
    next<T extends { type: string } = { type: string }>(type: T['type'], timeoutMs = 120_000): Promise<T> {
      const i = early.findIndex((m) => m.type === type);
      if (i >= 0) return Promise.resolve(early.splice(i, 1)[0] as T);
      if (exited) return Promise.reject(new Error(`${script} has exited${failure}`));
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${script}: no '${type}' message in ${timeoutMs} ms`)),
          timeoutMs,
        );
        const onExit = (code: number | null) => {
          clearTimeout(timer);
          reject(new Error(`${script} exited (code ${code}) before sending '${type}'${failure}`));
        };
        proc.once('exit', onExit);
        const list = waiting.get(type) ?? [];
        list.push((m) => {
          clearTimeout(timer);
          proc.off('exit', onExit);
          resolve(m as T);
        });
        waiting.set(type, list);
      });
    },
    send(message) {
      if (proc.connected) proc.send(message as never, () => undefined);
    },
    async stop() {
      if (exited) return;
      if (proc.connected) proc.send({ type: 'stop' }, () => undefined);
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exitedPromise;
      clearTimeout(timer);
    },
  };
}

interface ProcStat {
  ppid: number;
  ticks: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // fields after the parenthesised command name: state ppid … utime(14) stime(15)
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(rest[1]), ticks: Number(rest[11]) + Number(rest[12]) };
  } catch {
    return undefined;
  }
}

/** Jiffies (user + system) a process has used so far, from /proc (Linux); undefined elsewhere. */
export function processTicks(pid: number | undefined): number | undefined {
  return pid === undefined ? undefined : readStat(pid)?.ticks;
}

/** Jiffies used so far by the given processes and all their descendants. */
export function treeTicks(roots: number[]): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return undefined;
  }
  const stats = new Map<number, ProcStat>();
  for (const e of entries) {
    const st = readStat(Number(e));
    if (st) stats.set(Number(e), st);
  }
  const inTree = new Set(roots);
  // parents usually have lower pids, but not always (pid wrap-around): iterate to a fixpoint
  for (let changed = true; changed;) {
    changed = false;
    for (const [pid, st] of stats) {
      if (!inTree.has(pid) && inTree.has(st.ppid)) {
        inTree.add(pid);
        changed = true;
      }
    }
  }
  let sum = 0;
  for (const pid of inTree) sum += stats.get(pid)?.ticks ?? 0;
  return sum;
}

/** Busy and total jiffies of the whole machine, from /proc/stat. */
export function machineTicks(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const total = v.reduce((a, b) => a + b, 0);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** The parent of a process (e.g. the postmaster of a backend), from /proc. */
export function parentOf(pid: number): number | undefined {
  return readStat(pid)?.ppid;
}

/** The postmaster's pid, so that the CPU of PostgreSQL's backends counts as the bench's own. */
export async function postmasterPid(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return parentOf(rows[0]!.pid);
  } finally {
    await client.end();
  }
}
