// The admin API (/api/…) as an operator's command line uses it: a bearer API token, JSON in and
// out, and the server's answers turned into the client's error kinds (so the exit codes match
// `keyholder lock`): 412 not available, 401/403 not allowed, 404/422 named, network exit 3.
import https from 'node:https';
import { ClientError } from './errors.js';
import { readBody } from './http.js';
import { transportError } from './transport-errors.js';

export interface ApiClientOptions {
  url: string;
  token: string;
  /** CA bundle of the server's certificate; absent → the system trust store */
  ca?: Buffer;
  timeoutMs?: number;
}

/** lock and host lists can be long */
const MAX_BODY_MIB = 16;

export class ApiClient {
  readonly baseUrl: string;

  constructor(private readonly opts: ApiClientOptions) {
    this.baseUrl = opts.url.replace(/\/+$/, '');
  }

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  /** Resolves to the parsed JSON of a 2xx answer; anything else becomes a ClientError. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const { status, json } = await this.request(method, path, body);
    if (status >= 200 && status < 300) return json as T;
    throw answerError(status, json, `${method} ${path}`);
  }

  private request(method: string, path: string, body: unknown): Promise<{ status: number; json: unknown }> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const timeoutMs = this.opts.timeoutMs ?? 30_000;
    return new Promise((resolve, reject) => {
      const req = https.request(`${this.baseUrl}${path}`, {
        method,
        agent: false,
        ...(this.opts.ca && { ca: this.opts.ca }),
        timeout: timeoutMs,
        headers: {
          Authorization: `Bearer ${this.opts.token}`,
          Accept: 'application/json',
          ...(payload && { 'Content-Type': 'application/json', 'Content-Length': payload.length }),
        },
      });
      req.on('timeout', () =>
        req.destroy(
          Object.assign(new Error(`no answer within ${Math.round(timeoutMs / 1000)}s`), {
            code: 'ETIMEDOUT',
          }),
        ),
      );
      req.on('error', (err) => reject(transportError(err, this.baseUrl)));
      req.on('response', (res) => {
        readBody(res, MAX_BODY_MIB)
          .then((json) => resolve({ status: res.statusCode ?? 0, json }))
          .catch((err: unknown) => reject(transportError(err as Error, this.baseUrl)));
      });
      req.end(payload);
    });
  }
}

function answerError(status: number, json: unknown, what: string): ClientError {
  const error = (json as { error?: { message?: string; full_messages?: string[] } } | undefined)?.error;
  const said = error?.full_messages?.length ? error.full_messages.join('; ') : error?.message;
  const detail = said ? `: ${said}` : '';
  if (status === 401) {
    return new ClientError('auth', `not authorised (HTTP 401): the API token was not accepted${detail}`, {
      status,
    });
  }
  if (status === 403) return new ClientError('auth', `not allowed (HTTP 403)${detail}`, { status });
  if (status === 412) return new ClientError('unavailable', `refused (HTTP 412)${detail}`, { status });
  if (status === 404) return new ClientError('config', `not found${detail}`, { status });
  if (status === 422 || status === 400) return new ClientError('config', `invalid${detail}`, { status });
  return new ClientError('protocol', `unexpected HTTP ${status} for ${what}${detail}`, { status });
}
