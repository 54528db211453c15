// Lock operations as the CLI and the update workflow use them: a 412 becomes an 'unavailable'
// error whose message says why, and acquiring can keep trying until a deadline.
import pRetry from 'p-retry';
import { ClientError, isTransient } from './errors.js';
import type { DlmClient, LockResult } from './http.js';
import type { LockJson } from './lock-json.js';
import { explain412, unavailableLine, type LockOp } from './messages.js';

export async function lockOnce(
  client: DlmClient,
  op: LockOp,
  name: string,
  self: string | undefined,
  waitSeconds = 0,
): Promise<LockJson> {
  const result = op === 'acquire' ? await client.acquire(name, waitSeconds) : await client.release(name);
  if (result.ok) return result.lock;
  throw await unavailable(client, op, name, result, self);
}

async function unavailable(
  client: DlmClient,
  op: LockOp,
  name: string,
  result: Extract<LockResult, { ok: false }>,
  self: string | undefined,
): Promise<ClientError> {
  // Only worth a second request when the server gave no reason of its own (Foreman).
  let lock: LockJson | undefined;
  if (!result.error.reason) lock = await client.show(name).catch(() => undefined);
  const why = explain412(op, result.error, lock, self);
  return new ClientError('unavailable', unavailableLine(op, name, why), {
    status: 412,
    ...(result.error.reason !== undefined && { reason: result.error.reason }),
  });
}

export interface AcquireOptions {
  /** give up after this long; 0 = one attempt */
  timeoutMs: number;
  /** per-request blocking wait to ask of keyholder (≤ 300 s); 0 = plain polling */
  waitSeconds: number;
  /** backoff between attempts when the server answered at once (Foreman, or an error) */
  minDelayMs: number;
  maxDelayMs: number;
  onRetry?: (err: ClientError, attempt: number) => void;
}

/**
 * Acquire, retrying busy locks and network trouble with jittered exponential backoff until the
 * deadline, so a fleet whose timers fire together does not hammer the server in lockstep.
 * With keyholder each attempt blocks server-side; when a blocking attempt ran its full wait,
 * the next one follows at once (the server queues waiters fairly, backing off would lose the turn).
 */
export async function acquireWithRetry(
  client: DlmClient,
  name: string,
  self: string | undefined,
  opts: AcquireOptions,
): Promise<LockJson> {
  const deadline = performance.now() + opts.timeoutMs;
  let lastAttemptWaited = false;
  return pRetry(
    async () => {
      const remaining = Math.floor((deadline - performance.now()) / 1000);
      const wait = Math.max(0, Math.min(opts.waitSeconds, remaining));
      const started = performance.now();
      try {
        return await lockOnce(client, 'acquire', name, self, wait);
      } catch (err) {
        lastAttemptWaited = wait > 0 && performance.now() - started >= wait * 800;
        throw err;
      }
    },
    {
      retries: Number.POSITIVE_INFINITY,
      maxRetryTime: opts.timeoutMs,
      minTimeout: opts.minDelayMs,
      maxTimeout: opts.maxDelayMs,
      factor: 2,
      randomize: true,
      shouldRetry: ({ error }) => isTransient(error),
      shouldConsumeRetry: () => !lastAttemptWaited,
      onFailedAttempt: ({ error, attemptNumber }) => {
        if (error instanceof ClientError && isTransient(error) && performance.now() < deadline) {
          opts.onRetry?.(error, attemptNumber);
        }
      },
    },
  );
}
