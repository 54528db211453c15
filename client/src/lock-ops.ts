// Lock operations as the CLI and the update workflow use them: a 412 becomes an 'unavailable'
// error whose message says why, acquiring can keep trying until a deadline, and releasing rides
// out a server that is briefly unreachable (a host just back from its reboot, network still coming up).
import { setTimeout as sleep } from 'node:timers/promises';
import pRetry, { AbortError } from 'p-retry';
import { ClientError, isTransient } from './errors.js';
import type { CallOptions, DlmClient, LockResult } from './http.js';
import { ownFencingToken, type LockJson } from './lock-json.js';
import { explain412, unavailableLine, type LockOp } from './messages.js';
import {
  calendarRefusal,
  MAX_WINDOW_SLEEP_MS,
  MAX_WINDOW_SPREAD_MS,
  tooLateLine,
  untilOpeningMs,
  type CalendarRefusal,
} from './window-wait.js';

export interface LockOutcome {
  lock: LockJson;
  /** this host's fencing token (keyholder only): the X-Fencing-Token header, else the lock JSON */
  fencingToken: string | undefined;
}

export async function lockOnce(
  client: DlmClient,
  op: LockOp,
  name: string,
  self: string | undefined,
  opts: { waitSeconds?: number; signal?: AbortSignal } = {},
): Promise<LockOutcome> {
  const call: CallOptions = opts.signal ? { signal: opts.signal } : {};
  const result =
    op === 'acquire'
      ? await client.acquire(name, opts.waitSeconds ?? 0, call)
      : await client.release(name, call);
  if (result.ok) {
    const fencingToken =
      op === 'acquire' ? (result.fencingToken ?? ownFencingToken(result.lock, self)) : undefined;
    return { lock: result.lock, fencingToken };
  }
  throw await unavailable(client, op, name, result, self, call);
}

async function unavailable(
  client: DlmClient,
  op: LockOp,
  name: string,
  result: Extract<LockResult, { ok: false }>,
  self: string | undefined,
  call: CallOptions,
): Promise<ClientError> {
  // Only worth a second request when the server gave no reason of its own (Foreman).
  let lock: LockJson | undefined;
  if (result.error.reason === undefined) lock = await client.show(name, call).catch(() => undefined);
  const { why, reason } = explain412(op, result.error, lock, self);
  const details = { status: 412, ...(reason !== undefined && { reason }) };
  const { nextWindow, serverDate } = result.error;
  const calendar = op === 'acquire' ? calendarRefusal(reason, nextWindow, serverDate) : undefined;
  if (calendar) return new RefusedUntilOpening(unavailableLine(op, name, why), details, calendar);
  return new ClientError('unavailable', unavailableLine(op, name, why), details);
}

/** A 412 of the lock's calendar that says when it ends: retried at that moment, not on the backoff. */
export class RefusedUntilOpening extends ClientError {
  constructor(
    message: string,
    details: ClientError['details'],
    readonly calendar: CalendarRefusal,
  ) {
    super('unavailable', message, details);
  }
}

export interface RetryTiming {
  /** give up after this long; 0 = one attempt */
  timeoutMs: number;
  /** backoff between attempts when the server answered at once (Foreman, or an error) */
  minDelayMs: number;
  maxDelayMs: number;
  onRetry?: (err: ClientError, attempt: number) => void;
  /** stops waiting and the request in flight (shutdown, Ctrl-C) */
  signal?: AbortSignal;
}

export interface WindowWait {
  /** the refusal that sent us waiting */
  refusal: RefusedUntilOpening;
  /** how long the wait is (the opening, the rounding of its second, the spread) */
  sleepMs: number;
}

export interface AcquireOptions extends RetryTiming {
  /** per-request blocking wait to ask of keyholder (≤ 300 s); 0 = plain polling */
  waitSeconds: number;
  /** a calendar refusal: the client sits quietly until the lock opens (the update log says so) */
  onWindowWait?: (wait: WindowWait) => void;
}

/**
 * Acquire, retrying busy locks and network trouble with jittered exponential backoff until the
 * deadline, so a fleet whose timers fire together does not hammer the server in lockstep.
 * With keyholder each attempt blocks server-side; when a blocking attempt ran its full wait,
 * the next one follows at once (the server queues waiters fairly, backing off would lose the turn).
 * A server without blocking acquire (Foreman, or keyholder before it had it) answers 412 at once
 * and the backoff applies, so `--wait` works against either.
 * A refusal by the lock's calendar that says when it ends (paused, blackout, outside_window, of
 * the lock or a level above, with X-Lock-Next-Window) is not retried on the backoff: the client
 * sleeps until that opening (plus a random spread; at most 10 minutes at a time, a pause may
 * be lifted early) and asks then, or, when the opening is past the deadline, gives up at once
 * saying when the lock opens.
 */
export async function acquireWithRetry(
  client: DlmClient,
  name: string,
  self: string | undefined,
  opts: AcquireOptions,
): Promise<LockOutcome> {
  const deadline = performance.now() + opts.timeoutMs;
  let lastAttemptWaited = false;
  const attempt = async (): Promise<LockOutcome> => {
    const remaining = Math.floor((deadline - performance.now()) / 1000);
    const wait = Math.max(0, Math.min(opts.waitSeconds, remaining));
    const started = performance.now();
    try {
      return await lockOnce(client, 'acquire', name, self, {
        waitSeconds: wait,
        ...(opts.signal && { signal: opts.signal }),
      });
    } catch (err) {
      lastAttemptWaited = wait > 0 && performance.now() - started >= wait * 800;
      throw err;
    }
  };
  return pRetry(
    async () => {
      for (;;) {
        try {
          return await attempt();
        } catch (err) {
          if (!(err instanceof RefusedUntilOpening)) throw err;
          const untilOpening = untilOpeningMs(err.calendar, Date.now());
          if (performance.now() + untilOpening > deadline) {
            throw new AbortError(
              new ClientError('unavailable', tooLateLine(name, err.calendar), err.details),
            );
          }
          const sleepMs = Math.min(
            untilOpening + windowSpreadMs(opts),
            MAX_WINDOW_SLEEP_MS,
            deadline - performance.now(),
          );
          opts.onWindowWait?.({ refusal: err, sleepMs });
          await sleepUnlessAborted(sleepMs, opts.signal);
        }
      }
    },
    {
      ...backoff(opts),
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

/**
 * The random part of a window wait: up to MAX_WINDOW_SPREAD_MS (see there why that much), less
 * when the command's own backoff is shorter (a config asking for quick retries asks for a
 * short spread too).
 */
function windowSpreadMs(opts: RetryTiming): number {
  return Math.random() * Math.min(MAX_WINDOW_SPREAD_MS, opts.maxDelayMs);
}

/** Sleeps; a shutdown or Ctrl-C ends it with the reason the signal carries. */
async function sleepUnlessAborted(ms: number, signal: AbortSignal | undefined): Promise<void> {
  try {
    await sleep(Math.max(0, ms), undefined, signal ? { signal } : {});
  } catch (err) {
    if (signal?.aborted) throw signal.reason instanceof Error ? signal.reason : err;
    throw err;
  }
}

/**
 * Release, retrying only when the server could not be reached or failed (5xx). A 412 is an answer:
 * the lock is disabled or no longer ours, and asking again would not change it.
 */
export async function releaseWithRetry(
  client: DlmClient,
  name: string,
  self: string | undefined,
  opts: RetryTiming,
): Promise<LockOutcome> {
  const deadline = performance.now() + opts.timeoutMs;
  const retryable = (err: unknown) =>
    err instanceof ClientError && err.kind !== 'unavailable' && isTransient(err);
  return pRetry(() => lockOnce(client, 'release', name, self, opts.signal ? { signal: opts.signal } : {}), {
    ...backoff(opts),
    shouldRetry: ({ error }) => retryable(error),
    onFailedAttempt: ({ error, attemptNumber }) => {
      if (retryable(error) && performance.now() < deadline)
        opts.onRetry?.(error as ClientError, attemptNumber);
    },
  });
}

function backoff(opts: RetryTiming) {
  return {
    retries: Number.POSITIVE_INFINITY,
    maxRetryTime: opts.timeoutMs,
    minTimeout: opts.minDelayMs,
    maxTimeout: opts.maxDelayMs,
    factor: 2,
    // Each delay is drawn from [d, 2d]: hosts that failed together drift apart.
    randomize: true,
    ...(opts.signal && { signal: opts.signal }),
  };
}

/**
 * Any call that only has to get through (a holding check, a renewal on resume): retried while the
 * server is unreachable or failing (5xx), until the deadline; any answer ends it.
 */
export async function retryTransient<T>(fn: () => Promise<T>, opts: RetryTiming): Promise<T> {
  const deadline = performance.now() + opts.timeoutMs;
  const retryable = (err: unknown) =>
    err instanceof ClientError && err.kind !== 'unavailable' && isTransient(err);
  return pRetry(fn, {
    ...backoff(opts),
    shouldRetry: ({ error }) => retryable(error),
    onFailedAttempt: ({ error, attemptNumber }) => {
      if (retryable(error) && performance.now() < deadline)
        opts.onRetry?.(error as ClientError, attemptNumber);
    },
  });
}
