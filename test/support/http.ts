// A small HTTPS client for tests: real TLS, optional client certificate, optional Basic auth,
// raw bodies and headers exactly as a test wants to send them.
import https from 'node:https';
import type { KeyedCert } from '../../src/pki/x509.js';

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface RequestOptions {
  cert?: KeyedCert;
  user?: [string, string];
  /** an object is sent as JSON; a string or a Buffer (raw bytes) is sent as is */
  body?: unknown;
  headers?: Record<string, string>;
  agent?: https.Agent;
  /** the client's source address, e.g. 127.0.0.2 to come from an untrusted proxy */
  localAddress?: string;
  /** send the body with no Content-Type header at all (as Zincati does) */
  noContentType?: boolean;
  /** give up (reject) when no answer has arrived within this long */
  timeoutMs?: number;
  /** an event stream (text/event-stream) never ends: answer with its status and headers, then hang up */
  eventStreamHeadersOnly?: boolean;
}

export function httpsRequest(
  baseUrl: string,
  caPem: string,
  method: string,
  path: string,
  opts: RequestOptions = {},
): Promise<TestResponse> {
  const url = new URL(baseUrl);
  const headers: Record<string, string> = { ...opts.headers };
  let payload: string | Buffer | undefined;
  if (opts.body !== undefined) {
    payload =
      typeof opts.body === 'string' || Buffer.isBuffer(opts.body) ? opts.body : JSON.stringify(opts.body);
    if (!opts.noContentType) headers['content-type'] ??= 'application/json';
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  if (opts.user) headers.authorization = `Basic ${Buffer.from(opts.user.join(':')).toString('base64')}`;
  return new Promise((resolve, reject) => {
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
        localAddress: opts.localAddress,
        servername: 'localhost',
      },
      (res) => {
        if (opts.eventStreamHeadersOnly && /^text\/event-stream/.test(res.headers['content-type'] ?? '')) {
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '', json: undefined });
          res.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
      },
    );
    if (opts.timeoutMs !== undefined) {
      req.setTimeout(opts.timeoutMs, () => req.destroy(new Error('timed out')));
    }
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}
