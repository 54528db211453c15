// How real reverse proxies write a client certificate's subject into a header: a real nginx and
// a real HAProxy terminate TLS with the certificate and answer with the very variables one
// would forward ($ssl_client_s_dn, $ssl_client_s_dn_legacy; %[ssl_c_s_dn],
// %[ssl_c_s_dn(,0,rfc2253)]). Apache's SSL_CLIENT_S_DN is OpenSSL's X509_NAME_print_ex with
// XN_FLAG_RFC2253 minus ASN1_STRFLGS_ESC_MSB (mod_ssl), which `openssl x509 -nameopt` gives.
// The texts are kept as latin1 strings, one character per byte, as they travel in a header.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { inject } from 'vitest';
import type { KeyedCert } from '../../src/pki/x509.js';
import type { TestPki } from './pki.js';

export const RENDERINGS = [
  'nginx $ssl_client_s_dn',
  'nginx $ssl_client_s_dn_legacy',
  'HAProxy ssl_c_s_dn',
  'HAProxy ssl_c_s_dn(,0,rfc2253)',
  'Apache SSL_CLIENT_S_DN',
] as const;
export type Rendering = (typeof RENDERINGS)[number];

export interface DnRenderer {
  render(cert: KeyedCert): Promise<Record<Rendering, string>>;
  close(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function get(port: number, pki: TestPki, cert: KeyedCert): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path: '/',
        ca: pki.ca.certPem,
        cert: cert.certPem,
        key: cert.keyPem,
        servername: 'localhost',
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('latin1') }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Two lines from the proxy, the same bytes it would put into the forwarded headers. */
async function twoLines(port: number, pki: TestPki, cert: KeyedCert): Promise<[string, string]> {
  const r = await get(port, pki, cert);
  if (r.status !== 200) throw new Error(`proxy answered ${r.status}: ${r.body}`);
  const [a, b] = r.body.split('\n');
  return [a!, b!];
}

async function waitUntilServing(port: number, proc: ChildProcess, output: () => string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (proc.exitCode !== null) throw new Error(`proxy exited with ${proc.exitCode}:\n${output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const sock = createServer().listen(port, '127.0.0.1');
      // the port is taken once the proxy listens
      sock.once('error', () => resolve(true));
      sock.once('listening', () => sock.close(() => resolve(false)));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`proxy did not listen on ${port}:\n${output()}`);
}

function run(command: string, args: string[]): { proc: ChildProcess; output: () => string } {
  const proc = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  return { proc, output: () => out };
}

function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    proc.once('exit', () => resolve());
    proc.kill('SIGTERM');
  });
}

function apacheRendering(dir: string, cert: KeyedCert): string {
  const file = join(dir, `apache-${Math.random().toString(36).slice(2)}.crt`);
  writeFileSync(file, cert.certPem);
  const r = spawnSync('openssl', ['x509', '-in', file, '-noout', '-subject', '-nameopt', 'RFC2253,-esc_msb']);
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
  return r.stdout
    .toString('latin1')
    .replace(/^subject=/, '')
    .replace(/\n$/, '');
}

export async function startDnRenderer(pki: TestPki): Promise<DnRenderer> {
  const dir = mkdtempSync(join(inject('tmpRoot'), 'dn-render-'));
  for (const d of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, d));
  const nginxPort = await freePort();
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
master_process off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log stderr warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${nginxPort} ssl;
    ssl_certificate ${pki.serverCertPath};
    ssl_certificate_key ${pki.serverKeyPath};
    ssl_client_certificate ${pki.caPath};
    ssl_verify_client on;
    location / {
      default_type text/plain;
      return 200 "$ssl_client_s_dn\\n$ssl_client_s_dn_legacy\\n";
    }
  }
}
`,
  );
  const haproxyPort = await freePort();
  // HAProxy wants certificate and key in one file
  writeFileSync(join(dir, 'server.pem'), pki.serverPem);
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    `global
  maxconn 100
defaults
  mode http
  timeout connect 5s
  timeout client 5s
  timeout server 5s
frontend render
  bind 127.0.0.1:${haproxyPort} ssl crt ${dir}/server.pem ca-file ${pki.caPath} verify required
  http-request return status 200 content-type text/plain lf-string "%[ssl_c_s_dn]\\n%[ssl_c_s_dn(,0,rfc2253)]\\n"
`,
  );
  const nginx = run('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', 'stderr']);
  const haproxy = run('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')]);
  try {
    await waitUntilServing(nginxPort, nginx.proc, nginx.output);
    await waitUntilServing(haproxyPort, haproxy.proc, haproxy.output);
  } catch (err) {
    await Promise.all([stop(nginx.proc), stop(haproxy.proc)]);
    throw err;
  }
  return {
    async render(cert) {
      const [nginxRfc, nginxLegacy] = await twoLines(nginxPort, pki, cert);
      const [haproxyOneLine, haproxyRfc] = await twoLines(haproxyPort, pki, cert);
      return {
        'nginx $ssl_client_s_dn': nginxRfc,
        'nginx $ssl_client_s_dn_legacy': nginxLegacy,
        'HAProxy ssl_c_s_dn': haproxyOneLine,
        'HAProxy ssl_c_s_dn(,0,rfc2253)': haproxyRfc,
        'Apache SSL_CLIENT_S_DN': apacheRendering(dir, cert),
      };
    },
    close: async () => {
      await Promise.all([stop(nginx.proc), stop(haproxy.proc)]);
    },
  };
}
