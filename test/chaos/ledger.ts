// What the clients were told, and the violations found against it. A host's belief about a
// lock moves only on answers: a 200 acquire makes it `held` (with its fencing token), a 200
// release makes it `free`; a 503 or a lost connection on anything that could have changed the
// lock makes it `unknown` until the next answer. Every check compares the database or a later
// answer with a `held` belief, the one thing keyholder promised.

export interface Violation {
  kind: string;
  detail: string;
  /** milliseconds since the start of the run */
  at: number;
}

export type Belief =
  { state: 'free' } | { state: 'unknown' } | { state: 'held'; token: number; verified: boolean };

export interface Pair {
  host: string;
  lock: string;
  belief: Belief;
  /** bumped when an operation starts and when it ends: a check spanning no bump is sound */
  version: number;
  busy: boolean;
}

export class Ledger {
  readonly started = Date.now();
  readonly violations: Violation[] = [];
  readonly pairs = new Map<string, Pair>();
  /** per lock: fencing token → the host it was acknowledged to */
  private readonly tokens = new Map<string, Map<number, string>>();
  private readonly highestToken = new Map<string, number>();
  readonly counts = {
    operations: 0,
    transportErrors: 0,
    unavailable503: 0,
    /** 503 answers while no fault was active or recovering */
    unavailableOutsideFaults: 0,
    acknowledgedAcquires: 0,
    acknowledgedChecked: 0,
    monitorRounds: 0,
    monitorReadFailures: 0,
    holderRowsChecked: 0,
  };
  readonly statuses = new Map<number, number>();
  /** set by the fault loop while a fault is active or its recovery is being measured */
  faultActive = false;

  pair(host: string, lock: string): Pair {
    const key = `${host}\u0000${lock}`;
    let p = this.pairs.get(key);
    if (!p) {
      p = { host, lock, belief: { state: 'free' }, version: 0, busy: false };
      this.pairs.set(key, p);
    }
    return p;
  }

  violation(kind: string, detail: string): void {
    this.violations.push({ kind, detail, at: Date.now() - this.started });
  }

  status(code: number): void {
    this.statuses.set(code, (this.statuses.get(code) ?? 0) + 1);
    if (code === 503) {
      this.counts.unavailable503++;
      if (!this.faultActive) this.counts.unavailableOutsideFaults++;
    }
  }

  highest(lock: string): number {
    return this.highestToken.get(lock) ?? 0;
  }

  /** a fresh grant: its token must be new for the lock and, when `above` is given, above it */
  granted(pair: Pair, token: number, above: number | undefined): void {
    const known = this.tokens.get(pair.lock) ?? new Map<number, string>();
    this.tokens.set(pair.lock, known);
    const owner = known.get(token);
    if (owner !== undefined && owner !== pair.host) {
      this.violation(
        'fencing token reused',
        `${pair.lock}: token ${token} given to ${owner} and to ${pair.host}`,
      );
    }
    if (above !== undefined && token <= above) {
      this.violation(
        'fencing token went back',
        `${pair.lock}: ${pair.host} got ${token}, ${above} was given before`,
      );
    }
    known.set(token, pair.host);
    this.highestToken.set(pair.lock, Math.max(this.highest(pair.lock), token));
    this.counts.acknowledgedAcquires++;
    pair.belief = { state: 'held', token, verified: false };
  }

  verified(pair: Pair): void {
    if (pair.belief.state === 'held' && !pair.belief.verified) {
      pair.belief.verified = true;
      this.counts.acknowledgedChecked++;
    }
  }
}
