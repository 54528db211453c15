// One GET of a gate's upstream, bounded in time and size; failures become short, secret-free
// reasons ("timed out after 5 s", "unreachable: ECONNREFUSED", "HTTP 503").
import { fetch } from 'undici';
import { GateCheckError, type RequestAuth } from './credentials.js';

const MAX_BODY_BYTES = 4 * 1024 * 1024;

export interface GetAnswer {
  status: number;
  body: string;
}

export async function gateGet(url: string, auth: RequestAuth, timeoutSeconds: number): Promise<GetAnswer> {
  const signal = AbortSignal.timeout(timeoutSeconds * 1000);
  try {
    const res = await fetch(url, {
      headers: {
        accept: 'application/json, text/plain, */*',
        'user-agent': 'keyholder-gate',
        ...auth.headers,
      },
      signal,
      dispatcher: auth.dispatcher,
      redirect: 'manual',
    });
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > MAX_BODY_BYTES) {
      await res.body?.cancel();
      throw new GateCheckError(`answer larger than ${MAX_BODY_BYTES} bytes`);
    }
    const body = await res.text();
    if (body.length > MAX_BODY_BYTES) throw new GateCheckError(`answer larger than ${MAX_BODY_BYTES} bytes`);
    return { status: res.status, body };
  } catch (err) {
    if (err instanceof GateCheckError) throw err;
    if (signal.aborted) throw new GateCheckError(`timed out after ${timeoutSeconds} s`);
    const cause = (err as { cause?: { code?: string } }).cause;
    throw new GateCheckError(`unreachable: ${cause?.code ?? 'request failed'}`);
  }
}

export function parseJson(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new GateCheckError('answer is not JSON');
  }
}
