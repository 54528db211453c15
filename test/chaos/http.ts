// The harness's HTTPS client: every request has a deadline (a fault must never hang the run),
// and a transport failure is an outcome, not an exception.
import https from 'node:https';
import type { KeyedCert } from '../../src/pki/x509.js';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export type Outcome = { ok: true; answer: Answer } | { ok: false; error: string };

export interface SendOptions {
  cert?: KeyedCert;
  user?: [string, string];
  agent?: https.Agent;
  body?: unknown;
  timeoutMs?: number;
}

export function send(
  baseUrl: string,
  caPem: string,
  method: string,
  path: string,
  opts: SendOptions = {},
): Promise<Outcome> {
  const url = new URL(baseUrl);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  const payload = opts.body === undefined ? '' : JSON.stringify(opts.body);
  headers['content-length'] = String(Buffer.byteLength(payload));
  if (opts.user) headers.authorization = `Basic ${Buffer.from(opts.user.join(':')).toString('base64')}`;
  return new Promise((resolve) => {
    let settled = false;
    const done = (o: Outcome) => {
      if (!settled) {
        settled = true;
        resolve(o);
      }
    };
    const req = https.request(
      {
        host: url.hostname,
        port: url.port,
        method,
        path,
        headers,
        ca: caPem,
        cert: opts.cert?.certPem,
        key: opts.cert?.keyPem,
        agent: opts.agent ?? false,
        servername: 'localhost',
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => done({ ok: false, error: e.message }));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          done({ ok: true, answer: { status: res.statusCode ?? 0, headers: res.headers, text, json } });
        });
      },
    );
    req.setTimeout(opts.timeoutMs ?? 15_000, () => req.destroy(new Error('timed out')));
    req.on('error', (e) => done({ ok: false, error: e.message }));
    req.end(payload);
  });
}
