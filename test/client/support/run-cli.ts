// Runs the client CLI as a real child process (asynchronously: the servers live in the test's
// own process and must keep answering meanwhile).
import { spawn, type ChildProcess } from 'node:child_process';
import { clientBundle, ROOT } from './bundle.js';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningCli {
  child: ChildProcess;
  /** output so far */
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

export interface CliOptions {
  env?: NodeJS.ProcessEnv;
  /** a safety net against a hung client, not an expectation */
  timeoutMs?: number;
  /** run another entry point instead of the bundle, e.g. ['--import', 'tsx', 'src/cli/main.ts']
   *  (with '--conditions=keyholder-source' for the workspaces' sources) */
  entry?: string[];
}

export async function startCli(args: string[], opts: CliOptions = {}): Promise<RunningCli> {
  const entry = opts.entry ?? [await clientBundle()];
  const child = spawn(process.execPath, [...entry, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, stdout: () => stdout, stderr: () => stderr, done };
}

export async function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  return (await startCli(args, opts)).done;
}

/** Polls until `check` holds; fails with `what` if it does not within the bound. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  boundMs = 30_000,
): Promise<void> {
  const until = Date.now() + boundMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
