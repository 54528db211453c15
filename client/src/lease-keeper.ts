// Keeps a held lock's lease alive while this host works under it (hooks, `lock exec`'s command):
// renews at a third of the lease, logs and retries failed renewals, and notices a lost lock.
// Without a lease (Foreman, or a keyholder lock without lease_seconds) there is nothing to renew
// and the keeper only answers the explicit checks.
import { ClientError } from './errors.js';
import { checkHolding, renewHold, type Hold, type Holding } from './holding.js';
import type { DlmClient } from './http.js';
import type { Logger } from './log.js';

export interface KeeperOptions {
  client: DlmClient;
  hold: Hold;
  log: Logger;
  /** lease_seconds of the lock as last seen; undefined: no lease */
  leaseSeconds: number | undefined;
  /** called once when the lock is found lost */
  onLost?: (why: string) => void;
  /**
   * Without a lease, look this often whether the lock is still held (an operator may free it);
   * undefined: only the explicit checks look.
   */
  watchWithoutLeaseMs?: number;
}

export class LeaseKeeper {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private lostWhy: string | undefined;
  private leaseSeconds: number | undefined;
  private inFlight: Promise<void> | undefined;
  private readonly controller = new AbortController();

  constructor(private readonly opts: KeeperOptions) {
    this.leaseSeconds = opts.leaseSeconds;
  }

  /** aborted when the renewals stop (stop()) so a renewal in flight does not outlive the run */
  start(): void {
    this.schedule(this.periodMs());
  }

  get lost(): string | undefined {
    return this.lostWhy;
  }

  /** Throws the loss, if any: called before each step or hook that changes the host. */
  throwIfLost(): void {
    if (this.lostWhy !== undefined) throw lostError(this.lostWhy);
  }

  /**
   * An explicit check (before post_update and before the release): renews when there is a
   * lease, else looks. Throws 'lost' when the lock is gone; network errors propagate.
   */
  async verify(): Promise<void> {
    this.throwIfLost();
    const result = this.leaseSeconds ? await this.renewOnce() : await this.look();
    if (!result.held) this.markLost(result.why);
    this.throwIfLost();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.controller.abort();
    await this.inFlight?.catch(() => undefined);
  }

  private periodMs(): number | undefined {
    if (!this.leaseSeconds) return this.opts.watchWithoutLeaseMs;
    return Math.max(200, (this.leaseSeconds * 1000) / 3);
  }

  private schedule(ms: number | undefined): void {
    clearTimeout(this.timer);
    if (this.stopped || ms === undefined || this.lostWhy !== undefined) return;
    this.timer = setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    const run = (async () => {
      try {
        const result = this.leaseSeconds ? await this.renewOnce() : await this.look();
        if (!result.held) this.markLost(result.why);
        else this.schedule(this.periodMs());
      } catch (err) {
        if (this.stopped) return;
        // A server restarting or a network blip: the lease has two more thirds to go.
        const retryMs = Math.max(200, (this.periodMs() ?? 3000) / 2);
        this.opts.log.warn(
          `${this.leaseSeconds ? 'renewing the lease of' : 'checking'} lock '${this.opts.hold.lock}' failed: ${(err as Error).message}; trying again in ${Math.round(retryMs / 100) / 10}s`,
        );
        this.schedule(retryMs);
      }
    })();
    this.inFlight = run;
    await run;
  }

  private async renewOnce(): Promise<Holding> {
    const result = await renewHold(this.opts.client, this.opts.hold, this.controller.signal);
    if (result.held) this.leaseSeconds = result.leaseSeconds;
    return result;
  }

  private async look(): Promise<Holding> {
    const result = await checkHolding(this.opts.client, this.opts.hold, this.controller.signal);
    // An operator may have given the lock a lease meanwhile: from now on it is renewed.
    if (result.held) this.leaseSeconds = result.leaseSeconds;
    return result;
  }

  private markLost(why: string): void {
    if (this.lostWhy !== undefined || this.stopped) return;
    this.lostWhy = why;
    clearTimeout(this.timer);
    this.opts.log.error(`LOCK LOST: ${why}`);
    this.opts.onLost?.(why);
  }
}

export function lostError(why: string): ClientError {
  return new ClientError('lost', `lock lost: ${why}`);
}
