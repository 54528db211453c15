// Failed password checks (UI login and HTTP Basic) counted per (user, client address) and per
// client address over a sliding window; past the limit, further attempts are refused with 429
// until the oldest failure leaves the window. Never per user alone: then anyone anywhere could
// lock the admin out by failing ten times (SPEC §8: lockout is not a weapon). A guesser is slowed
// down where it comes from. In memory, per instance: several instances multiply the budget,
// which still turns a brute force from millions of guesses into a handful.

export interface LoginLimits {
  windowMs: number;
  /** failures for one login from one address */
  perUser: number;
  /** failures from one address, whatever the login */
  perAddress: number;
}

const MAX_KEYS = 50_000;

export class LoginLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly limits: LoginLimits) {}

  /** Seconds until an attempt for this user from this address is allowed; 0 = now. */
  retryAfterSeconds(login: string, address: string, now = Date.now()): number {
    const waits = [
      this.waitFor(userKey(login, address), this.limits.perUser, now),
      this.waitFor(addressKey(address), this.limits.perAddress, now),
    ];
    return Math.ceil(Math.max(...waits) / 1000);
  }

  fail(login: string, address: string, now = Date.now()): void {
    if (this.failures.size >= MAX_KEYS) this.sweep(now);
    for (const key of [userKey(login, address), addressKey(address)]) {
      const list = this.recent(key, now);
      list.push(now);
      this.failures.set(key, list);
    }
  }

  /** A correct password clears the user's count there, not the address's (one address, many users). */
  succeed(login: string, address: string): void {
    this.failures.delete(userKey(login, address));
  }

  private recent(key: string, now: number): number[] {
    return (this.failures.get(key) ?? []).filter((t) => t > now - this.limits.windowMs);
  }

  private waitFor(key: string, limit: number, now: number): number {
    const list = this.recent(key, now);
    if (list.length < limit) return 0;
    // the attempt becomes possible once enough old failures have left the window
    return list[list.length - limit]! + this.limits.windowMs - now;
  }

  private sweep(now: number): void {
    for (const [key, list] of this.failures) {
      if (!list.some((t) => t > now - this.limits.windowMs)) this.failures.delete(key);
    }
    // still full (a distributed attack): forget the oldest keys rather than grow without bound
    for (const key of this.failures.keys()) {
      if (this.failures.size < MAX_KEYS) break;
      this.failures.delete(key);
    }
  }
}

// Logins are matched exactly, but `Admin` and `admin` count as one target for the limit.
// JSON keeps the two parts apart whatever characters a login holds.
const userKey = (login: string, address: string) => `u:${JSON.stringify([login.toLowerCase(), address])}`;
const addressKey = (address: string) => `a:${address}`;
