// Gate results cached per (lock, gate, definition) for the gate's cache_seconds, with one check
// in flight per key: thousands of hosts polling a gated lock cause one upstream query per cache
// period, per server instance.
import { createHash } from 'node:crypto';
import { gateKey, type GateDefinition } from '../lock/gates.js';
import type { GateResult } from './evaluators.js';

export interface CachedResult extends GateResult {
  /** when the check finished (this server's clock, ms) */
  checkedAt: number;
}

interface Entry {
  result?: CachedResult;
  inFlight?: Promise<CachedResult>;
}

/** Past this many keys, entries whose time is up are dropped (deleted locks, changed gates). */
const SWEEP_AT = 10_000;

export class GateCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly clock: () => number = Date.now) {}

  static key(lockId: number, gate: GateDefinition): string {
    const hash = createHash('sha256').update(gateKey(gate)).digest('base64url').slice(0, 22);
    return `${lockId}\u0000${gate.name}\u0000${hash}`;
  }

  /** The result still fresh for this gate, if any. */
  fresh(key: string, gate: GateDefinition): CachedResult | undefined {
    const result = this.entries.get(key)?.result;
    return result && this.clock() - result.checkedAt < gate.cache_seconds * 1000 ? result : undefined;
  }

  /** The last result known, fresh or not (the lock JSON's gate_status). */
  last(key: string): CachedResult | undefined {
    return this.entries.get(key)?.result;
  }

  /**
   * A fresh result, or the one check in flight for this key, or a new check by `run`.
   * `fresh` is true only for the caller whose `run` did the check.
   */
  async get(
    key: string,
    gate: GateDefinition,
    run: () => Promise<GateResult>,
  ): Promise<{ result: CachedResult; checked: boolean }> {
    const cached = this.fresh(key, gate);
    if (cached) return { result: cached, checked: false };
    let entry = this.entries.get(key);
    if (entry?.inFlight) return { result: await entry.inFlight, checked: false };
    if (!entry) {
      if (this.entries.size >= SWEEP_AT) this.sweep();
      entry = {};
      this.entries.set(key, entry);
    }
    const current = entry;
    const inFlight = run().then((r) => ({ ...r, checkedAt: this.clock() }));
    current.inFlight = inFlight;
    try {
      current.result = await inFlight;
      return { result: current.result, checked: true };
    } finally {
      current.inFlight = undefined;
    }
  }

  private sweep(): void {
    const now = this.clock();
    for (const [key, entry] of this.entries) {
      // no gate caches for longer than an hour (MAX_CACHE_SECONDS)
      if (!entry.inFlight && (!entry.result || now - entry.result.checkedAt > 3_600_000))
        this.entries.delete(key);
    }
  }
}
