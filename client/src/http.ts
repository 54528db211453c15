// The three calls of the Foreman DLM host API, over Node's https with the host's client
// certificate. Requests look exactly like updatelock's curl calls (Content-Type: application/json,
// empty body) so that a real Foreman accepts them; keyholder's `?wait=` is only added on request.
import https from 'node:https';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { HEADERS } from 'keyholder-protocol';
import { ClientError } from './errors.js';
import {
  GENERIC_412,
  parseLockJson,
  parseServerError,
  type LockJson,
  type ServerError,
} from './lock-json.js';
import { transportError } from './transport-errors.js';

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

export type LockResult =
  { ok: true; lock: LockJson; fencingToken?: string } | { ok: false; status: 412; error: ServerError };

/** `undefined` from `show` means 404: the lock does not exist yet, which means free. */
export type ShowResult = LockJson | undefined;

export interface CallOptions {
  /** ends the request at once (shutdown, Ctrl-C) */
  signal?: AbortSignal;
  /** overrides the client's per-request timeout, in milliseconds */
  timeoutMs?: number;
}

const MAX_BODY_MIB = 1;

export class DlmClient {
  readonly baseUrl: string;
  /** connections this client opened, and how many of them resumed a TLS session */
  readonly connections = { opened: 0, resumed: 0 };
  /**
   * The server's latest session ticket. Each request has a connection of its own (no agent,
   * see request()), so a process that asks again — a retry, the window wait's wake-up, the
   * update workflow's next step — resumes instead of repeating the full handshake with its
   * RSA client key. The server resumes only sessions whose certificate it verified against
   * its current CA bundle and CRL (src/pki/tls-sessions.ts), and falls back to a full
   * handshake otherwise, so a stale ticket costs nothing but the full handshake.
   */
  private tlsSession: Buffer | undefined;

  constructor(private readonly opts: DlmClientOptions) {
    // A trailing slash would give the double slash of updatelock's URLs; harmless, but tidy.
    this.baseUrl = opts.url.replace(/\/+$/, '');
  }

  lockUrl(name: string, wait?: number): URL {
    const url = new URL(`${this.baseUrl}/api/dlmlocks/${encodeURIComponent(name)}/lock`);
    if (wait !== undefined && wait > 0) url.searchParams.set('wait', String(wait));
    return url;
  }

  async show(name: string, call: CallOptions = {}): Promise<ShowResult> {
    const res = await this.request('GET', this.lockUrl(name), call);
    if (res.status === 404) return undefined;
    return this.expectLock(res);
  }

  /** `waitSeconds` asks keyholder to hold the request until granted; Foreman ignores it and answers at once. */
  async acquire(name: string, waitSeconds = 0, call: CallOptions = {}): Promise<LockResult> {
    const timeoutMs = (call.timeoutMs ?? this.opts.timeoutMs ?? 30_000) + waitSeconds * 1000;
    return this.lockOr412(await this.request('PUT', this.lockUrl(name, waitSeconds), { ...call, timeoutMs }));
  }

  async release(name: string, call: CallOptions = {}): Promise<LockResult> {
    return this.lockOr412(await this.request('DELETE', this.lockUrl(name), call));
  }

  private lockOr412(res: RawResponse): LockResult {
    if (res.status === 412) return { ok: false, status: 412, error: preconditionError(res) };
    const lock = this.expectLock(res);
    const token = header(res.headers, HEADERS.fencingToken.toLowerCase());
    return { ok: true, lock, ...(token !== undefined && { fencingToken: token }) };
  }

  private expectLock(res: RawResponse): LockJson {
    if (res.status === 200) return parseLockJson(res.body);
    const { message } = parseServerError(res.body);
    const said = message ? `: ${message}` : '';
    if (res.status === 401) {
      // Host endpoints only ever see a 401 when the certificate we sent did not count.
      throw new ClientError(
        'auth',
        `not authorised (HTTP 401): the server did not accept this host's client certificate${said}`,
        { status: 401 },
      );
    }
    if (res.status === 403) {
      throw new ClientError('auth', `not authorised (HTTP 403)${said}`, { status: 403 });
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

  private request(method: string, url: URL, call: CallOptions): Promise<RawResponse> {
    const timeoutMs = call.timeoutMs ?? this.opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = https.request(url, {
        method,
        cert: this.opts.tls.cert,
        key: this.opts.tls.key,
        ...(this.opts.tls.ca && { ca: this.opts.tls.ca }),
        // One request per run: no agent, so nothing keeps the process alive afterwards.
        agent: false,
        ...(this.tlsSession && { session: this.tlsSession }),
        headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'Content-Length': 0 },
        timeout: timeoutMs,
        ...(call.signal && { signal: call.signal }),
      });
      req.on('timeout', () => {
        req.destroy(
          Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`), {
            code: 'ETIMEDOUT',
          }),
        );
      });
      // With TLS 1.3 the client finishes its handshake before the server has checked our
      // certificate; a rejection then shows up as a bare reset right after the handshake. A
      // server that accepted us sends a session ticket at once, so a reset after the ticket (or
      // after the request went out on TLS 1.2) is a broken connection — a server crash, a load
      // balancer's idle timeout cutting a blocking wait — and says nothing about certificates.
      let handshakeDone = false;
      let serverAcceptedUs = false;
      let gotResponse = false;
      req.on('socket', (socket) => {
        const tls = socket as TLSSocket;
        tls.once('secureConnect', () => {
          handshakeDone = true;
          this.connections.opened++;
          // a resumed session is one the server accepted our certificate for
          if (tls.isSessionReused()) {
            this.connections.resumed++;
            serverAcceptedUs = true;
          }
          if (tls.getProtocol?.() !== 'TLSv1.3') serverAcceptedUs = true;
        });
        tls.on('session', (session: Buffer) => {
          serverAcceptedUs = true;
          this.tlsSession = session;
        });
      });
      req.on('error', (err) => {
        // Cut short on purpose (shutdown, Ctrl-C): say by what, not that the request failed.
        if (call.signal?.aborted && call.signal.reason instanceof ClientError)
          return reject(call.signal.reason);
        const code = (err as NodeJS.ErrnoException).code;
        const reset = code === 'ECONNRESET' || code === 'EPIPE';
        // whatever went wrong, the next connection starts afresh
        if (!gotResponse) this.tlsSession = undefined;
        if (reset && handshakeDone && !serverAcceptedUs && !gotResponse) {
          reject(
            new ClientError(
              'tls',
              "the server rejected this host's client certificate (connection closed right after the TLS handshake)",
              { code },
            ),
          );
        } else if (reset && handshakeDone && !gotResponse) {
          reject(
            new ClientError(
              'unreachable',
              `connection to ${this.baseUrl} closed before the answer (server restart, or a proxy cut the request)`,
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
          .then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }))
          .catch((err: unknown) => reject(transportError(err as Error, this.baseUrl)));
      });
      req.end();
    });
  }
}

interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** parsed JSON, or undefined when the body was empty or not JSON */
  body: unknown;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  const text = Array.isArray(value) ? value.join(',') : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
}

/**
 * foreman_dlm's 412 body never says why. keyholder keeps that body byte for byte and says why in
 * headers instead: X-Lock-Reason, and X-Lock-Holders (URL-encoded names, comma-separated);
 * a calendar refusal adds X-Lock-Next-Window, read with the Date header beside it.
 */
function preconditionError(res: RawResponse): ServerError {
  const error = parseServerError(res.body);
  const reason = header(res.headers, HEADERS.lockReason.toLowerCase());
  const gate = header(res.headers, HEADERS.lockGate.toLowerCase());
  const nextWindow = header(res.headers, HEADERS.lockNextWindow.toLowerCase());
  const serverDate = header(res.headers, 'date');
  const holders = header(res.headers, HEADERS.lockHolders.toLowerCase())
    ?.split(',')
    .map((n) => safeDecode(n.trim()))
    .filter((n) => n.length > 0);
  return {
    message: error.message ?? GENERIC_412,
    ...(reason !== undefined && { reason }),
    ...(holders !== undefined && holders.length > 0 && { holders }),
    ...(gate !== undefined && { gate }),
    ...(nextWindow !== undefined && { nextWindow }),
    ...(serverDate !== undefined && { serverDate }),
  };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** An answer's JSON (undefined when empty or not JSON), refused past `maxMiB`. */
export async function readBody(res: IncomingMessage, maxMiB = MAX_BODY_MIB): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > maxMiB << 20) throw new ClientError('protocol', `answer larger than ${maxMiB} MiB`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}
