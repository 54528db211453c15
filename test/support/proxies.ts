// Debian's nginx and HAProxy as foreground child processes of a test, running the configurations
// shipped in contrib/ with only paths, addresses and the server name substituted. Locally a
// missing binary skips the proxy tests; in CI (CI=true) it is a failure, since .ci/run installs
// both.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { TestPki } from './pki.js';
import { freePort } from './postgres.js';

export type ProxyKind = 'nginx' | 'haproxy';

const BINARIES: Record<ProxyKind, string> = { nginx: '/usr/sbin/nginx', haproxy: '/usr/sbin/haproxy' };

export const SHIPPED: Record<ProxyKind, string> = {
  nginx: readFileSync(new URL('../../contrib/nginx/keyholder.conf', import.meta.url), 'utf8'),
  haproxy: readFileSync(new URL('../../contrib/haproxy/haproxy.cfg', import.meta.url), 'utf8'),
};

/** Whether to run the proxy tests; throws where skipping would hide a broken setup. */
export function proxyTestsRunnable(): boolean {
  const missing = Object.values(BINARIES).filter((b) => !existsSync(b));
  if (missing.length && process.env.CI)
    throw new Error(`${missing.join(', ')} missing (CI installs Debian's nginx and haproxy)`);
  return missing.length === 0;
}

export interface RunningProxy {
  kind: ProxyKind;
  url: string;
  config: string;
  output(): string;
  stop(): Promise<void>;
}

/** Replaces every occurrence of `from`, insisting there is one: a renamed path fails loudly. */
function substitute(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`the shipped proxy configuration no longer contains '${from}'`);
  return text.replaceAll(from, to);
}

/** The shipped configuration for instances at `upstreams` (two host:port), on 127.0.0.1:port. */
export function renderConfig(
  kind: ProxyKind,
  dir: string,
  port: number,
  upstreams: [string, string],
  source = SHIPPED[kind],
): string {
  let text = substitute(source, '/etc/keyholder/', `${dir}/`);
  text = substitute(text, 'keyholder.example.com', 'localhost');
  text = substitute(text, '10.0.0.11:8443', upstreams[0]);
  text = substitute(text, '10.0.0.12:8443', upstreams[1]);
  return kind === 'nginx'
    ? substitute(text, 'listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
    : substitute(text, 'bind :443 ', `bind 127.0.0.1:${port} `);
}

/** The files the shipped configurations name: CA, CRL, the proxy's certificate and key. */
export async function proxyFiles(pki: TestPki, crlPath: string): Promise<string> {
  const dir = mkdtempSync(join(inject('tmpRoot'), 'keyholder-proxy-'));
  const cert = readFileSync(pki.serverCertPath, 'utf8');
  const key = readFileSync(pki.serverKeyPath, 'utf8');
  writeFileSync(join(dir, 'ca.crt'), pki.ca.certPem);
  writeFileSync(join(dir, 'crl.pem'), readFileSync(crlPath));
  writeFileSync(join(dir, 'proxy.crt'), cert);
  writeFileSync(join(dir, 'proxy.key'), key);
  // HAProxy wants certificate and key in one file; PEM blocks must start on a line of their own
  writeFileSync(join(dir, 'proxy.pem'), `${cert.trimEnd()}\n${key.trimEnd()}\n`);
  return dir;
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

/** Starts the proxy in the foreground on a free loopback port; `source` defaults to the shipped file. */
export async function startProxy(
  kind: ProxyKind,
  dir: string,
  upstreams: [string, string],
  source?: string,
): Promise<RunningProxy> {
  const port = await freePort();
  const name = `${kind}-${port}`;
  const config = renderConfig(kind, dir, port, upstreams, source);
  let args: string[];
  if (kind === 'nginx') {
    // the shipped file is a conf.d snippet (inside http {}); the main file holds what a
    // package's nginx.conf would, with every path in the temp directory
    writeFileSync(join(dir, `${name}.conf`), config);
    writeFileSync(
      join(dir, `${name}-main.conf`),
      [
        `pid ${dir}/${name}.pid;`,
        `error_log stderr warn;`,
        'worker_processes 1;',
        'events { worker_connections 1024; }',
        'http {',
        '  access_log off;',
        `  client_body_temp_path ${dir}/${name}-body;`,
        `  proxy_temp_path ${dir}/${name}-proxy;`,
        `  include ${dir}/${name}.conf;`,
        '}',
      ].join('\n'),
    );
    args = ['-p', dir, '-c', `${dir}/${name}-main.conf`, '-g', 'daemon off;'];
  } else {
    writeFileSync(join(dir, `${name}.cfg`), config);
    args = ['-db', '-f', `${dir}/${name}.cfg`];
  }
  const check = spawnSync(BINARIES[kind], kind === 'nginx' ? [...args, '-t'] : ['-c', ...args.slice(1)], {
    encoding: 'utf8',
  });
  if (check.status !== 0)
    throw new Error(`${kind} refuses the configuration:\n${check.stderr}${check.stdout}`);

  const proc = spawn(BINARIES[kind], args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 10_000;
  while (!(await listening(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`${kind} did not start:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    kind,
    url: `https://127.0.0.1:${port}`,
    config,
    output: () => out,
    stop: async () => {
      proc.kill('SIGTERM');
      await exited(proc);
    },
  };
}
