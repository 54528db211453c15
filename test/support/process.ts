// A keyholder server as a real child process (the built CLI), for tests that need several
// instances or that kill the process: `node dist/cli/main.js server`, configured by env.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface ServerProcess {
  proc: ChildProcess;
  url: string;
  port: number;
  output(): string;
  /** SIGKILL, no chance to flush anything */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

/**
 * Collects a starting server's output and resolves with the URL it says it listens on; rejects
 * with that output when it exits first or says nothing within `timeoutMs`.
 */
export async function listeningUrl(
  proc: ChildProcess,
  label: string,
  timeoutMs: number,
): Promise<{ url: string; output: () => string }> {
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start:\n${out}`)), timeoutMs);
    const read = (d: Buffer) => {
      out += d.toString();
      const m = /keyholder listening on (https:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    proc.stdout!.on('data', read);
    proc.stderr!.on('data', read);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited with ${code}:\n${out}`));
    });
  });
  return { url, output: () => out };
}

export async function startServerProcess(
  env: Record<string, string>,
  args: string[] = [],
  cwd?: string,
): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [CLI, 'server', '--host', '127.0.0.1', '--port', '0', ...args], {
    env: { PATH: process.env.PATH ?? '', KEYHOLDER_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    cwd,
  });
  const { url, output } = await listeningUrl(proc, 'server', 30_000);
  return {
    proc,
    url,
    port: Number(new URL(url).port),
    output,
    kill9: async () => {
      proc.kill('SIGKILL');
      await exited(proc);
    },
    stop: async () => {
      proc.kill('SIGTERM');
      await exited(proc);
    },
  };
}

/** The environment of a server process on a test database with the shared test PKI. */
export function serverEnv(
  db: { url?: string; dataDir: string },
  pki: { serverCertPath: string; serverKeyPath: string; caPath: string },
  adminPassword: string,
): Record<string, string> {
  return {
    ...(db.url ? { KEYHOLDER_DATABASE_URL: db.url } : {}),
    KEYHOLDER_DATA_DIR: db.dataDir,
    KEYHOLDER_TLS_CERT: pki.serverCertPath,
    KEYHOLDER_TLS_KEY: pki.serverKeyPath,
    KEYHOLDER_TLS_CA: pki.caPath,
    KEYHOLDER_ADMIN_PASSWORD: adminPassword,
  };
}
