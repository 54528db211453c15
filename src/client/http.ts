// The three calls of the Foreman DLM host API, over Node's https with the host's client
// certificate. Requests look exactly like updatelock's curl calls (Content-Type: application/json,
// empty body) so that a real Foreman accepts them; keyholder's `?wait=` is only added on request.
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { ClientError } from './errors.js';
import {
  GENERIC_412,
  parseLockJson,
  parseServerError,
  type LockJson,
  type ServerError,
} from './lock-json.js';

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  /** CA bundle that signed the server's certificate; absent → the system trust store */
  ca?: Buffer;
}

export interface DlmClientOptions {
  /** base URL of keyholder or Foreman, e.g. https://keyholder.example.com:8443 */
  url: string;
  tls: TlsMaterial;
  /** per-request timeout when not waiting, in milliseconds */
  timeoutMs?: number;
}

export type LockResult = { ok: true; lock: LockJson } | { ok: false; status: 412; error: ServerError };

/** `undefined` from `show` means 404: the lock does not exist yet, which means free. */
export type ShowResult = LockJson | undefined;

const MAX_BODY = 1 << 20;

export class DlmClient {
  readonly baseUrl: string;

  constructor(private readonly opts: DlmClientOptions) {
    // A trailing slash would give the double slash of updatelock's URLs; harmless, but tidy.
    this.baseUrl = opts.url.replace(/\/+$/, '');
  }

  lockUrl(name: string, wait?: number): URL {
    const url = new URL(`${this.baseUrl}/api/dlmlocks/${encodeURIComponent(name)}/lock`);
    if (wait !== undefined && wait > 0) url.searchParams.set('wait', String(wait));
    return url;
  }

  async show(name: string): Promise<ShowResult> {
    const res = await this.request('GET', this.lockUrl(name));
    if (res.status === 404) return undefined;
    return this.expectLock(res);
  }

  /** `waitSeconds` asks keyholder to hold the request until granted; Foreman ignores it and answers at once. */
  async acquire(name: string, waitSeconds = 0): Promise<LockResult> {
    const res = await this.request('PUT', this.lockUrl(name, waitSeconds), waitSeconds * 1000);
    return this.lockOr412(res);
  }

  async release(name: string): Promise<LockResult> {
    return this.lockOr412(await this.request('DELETE', this.lockUrl(name)));
  }

  private lockOr412(res: RawResponse): LockResult {
    if (res.status === 412) {
      const error = parseServerError(res.body);
      return { ok: false, status: 412, error: error.message ? error : { ...error, message: GENERIC_412 } };
    }
    return { ok: true, lock: this.expectLock(res) };
  }

  private expectLock(res: RawResponse): LockJson {
    if (res.status === 200) return parseLockJson(res.body);
    const { message } = parseServerError(res.body);
    const said = message ? `: ${message}` : '';
    if (res.status === 401 || res.status === 403) {
      throw new ClientError('auth', `not authorised (HTTP ${res.status})${said}`, { status: res.status });
    }
    if (res.status === 404) {
      throw new ClientError(
        'protocol',
        `HTTP 404 from ${this.baseUrl}${said} (is this the URL of a keyholder or Foreman DLM server?)`,
        { status: 404 },
      );
    }
    throw new ClientError('protocol', `unexpected HTTP ${res.status} from ${this.baseUrl}${said}`, {
      status: res.status,
    });
  }

  private request(method: string, url: URL, extraWaitMs = 0): Promise<RawResponse> {
    const timeoutMs = (this.opts.timeoutMs ?? 30_000) + extraWaitMs;
    return new Promise((resolve, reject) => {
      const req = https.request(url, {
        method,
        cert: this.opts.tls.cert,
        key: this.opts.tls.key,
        ...(this.opts.tls.ca && { ca: this.opts.tls.ca }),
        // One request per run: no agent, so nothing keeps the process alive afterwards.
        agent: false,
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': 0 },
        timeout: timeoutMs,
      });
      req.on('timeout', () => {
        req.destroy(
          Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`), {
            code: 'ETIMEDOUT',
          }),
        );
      });
      // With TLS 1.3 the client finishes its handshake before the server has checked our
      // certificate; a rejection then shows up as a bare reset, no alert, before any answer.
      let handshakeDone = false;
      let gotResponse = false;
      req.on('socket', (socket) => socket.once('secureConnect', () => (handshakeDone = true)));
      req.on('error', (err) => {
        const code = (err as NodeJS.ErrnoException).code;
        if (handshakeDone && (code === 'ECONNRESET' || code === 'EPIPE') && !gotResponse) {
          reject(
            new ClientError(
              'tls',
              "the server rejected this host's client certificate (connection closed right after the TLS handshake)",
              { code },
            ),
          );
        } else {
          reject(transportError(err, this.baseUrl));
        }
      });
      req.on('response', (res) => {
        gotResponse = true;
        readBody(res)
          .then((body) => resolve({ status: res.statusCode ?? 0, body }))
          .catch((err: unknown) => reject(transportError(err as Error, this.baseUrl)));
      });
      req.end();
    });
  }
}

interface RawResponse {
  status: number;
  /** parsed JSON, or undefined when the body was empty or not JSON */
  body: unknown;
}

async function readBody(res: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new ClientError('protocol', 'answer larger than 1 MiB');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

// OpenSSL reports a rejected client certificate as a TLS alert from the peer.
const CLIENT_CERT_ALERTS =
  /ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_REQUIRED|CERTIFICATE_UNKNOWN|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED)/;
const SERVER_CERT_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_SIGNATURE_FAILURE',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
  'EPIPE',
]);

export function transportError(err: Error, baseUrl: string): ClientError {
  if (err instanceof ClientError) return err;
  const code = (err as NodeJS.ErrnoException).code ?? '';
  if (CLIENT_CERT_ALERTS.test(code)) {
    return new ClientError(
      'tls',
      `the server rejected this host's client certificate (${err.message.trim()})`,
      {
        code,
      },
    );
  }
  if (SERVER_CERT_CODES.has(code)) {
    return new ClientError(
      'tls',
      `the server's certificate is not trusted (${err.message}); check --cacert`,
      { code },
    );
  }
  if (code.startsWith('ERR_SSL') || code.startsWith('ERR_TLS')) {
    return new ClientError('tls', `TLS failed with ${baseUrl}: ${err.message.trim()}`, { code });
  }
  if (NETWORK_CODES.has(code)) {
    return new ClientError('unreachable', `cannot reach ${baseUrl}: ${describeNetwork(code, err.message)}`, {
      code,
    });
  }
  return new ClientError('unreachable', `request to ${baseUrl} failed: ${err.message}`, { code });
}

function describeNetwork(code: string, message: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused (is the server running?)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host name does not resolve';
    case 'ETIMEDOUT':
      return message.startsWith('no answer') ? message : 'connection timed out';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'connection reset by the server';
    default:
      return message;
  }
}
