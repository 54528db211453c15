// The peer: etcd's transaction-based lock as CoreOS locksmith used it, over etcd's v3 HTTP/JSON
// gateway. Acquire = txn "key not created yet → put me"; release = txn "value is me → delete".
// Only run when an `etcd` binary is on PATH (Debian: etcd-server); the bench never installs it.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdirSync, openSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { freePort } from '../test/support/postgres.js';

export function findEtcd(): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, 'etcd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface RunningEtcd {
  port: number;
  pid: number | undefined;
  stop(): Promise<void>;
}

export async function startEtcd(bin: string, dir: string): Promise<RunningEtcd> {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${port}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const log = openSync(join(dir, 'etcd.log'), 'a');
  const proc: ChildProcess = spawn(
    bin,
    [
      '--name',
      'bench',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      client,
      '--advertise-client-urls',
      client,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `bench=${peer}`,
    ],
    { stdio: ['ignore', log, log] },
  );
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`${client}/health`);
      if (res.ok && ((await res.json()) as { health?: string }).health === 'true') break;
    } catch {
      // not up yet
    }
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`etcd did not become healthy (see ${join(dir, 'etcd.log')})`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    pid: proc.pid,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

function post(port: number, path: string, body: string): string {
  return (
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** Acquire and release of lock `lock` by `holder`, as raw HTTP/1.1 requests. */
export function etcdLockRequests(port: number, lock: string, holder: string): string[] {
  const key = b64(`/locks/${lock}`);
  const me = b64(holder);
  const acquire = {
    compare: [{ key, target: 'CREATE', result: 'EQUAL', create_revision: '0' }],
    success: [{ request_put: { key, value: me } }],
  };
  const release = {
    compare: [{ key, target: 'VALUE', result: 'EQUAL', value: me }],
    success: [{ request_delete_range: { key } }],
  };
  return [
    post(port, '/v3/kv/txn', JSON.stringify(acquire)),
    post(port, '/v3/kv/txn', JSON.stringify(release)),
  ];
}

/** A txn whose compare failed omits `succeeded` (proto3 JSON drops false), so look for true. */
export const ETCD_SUCCESS = '"succeeded":true';
