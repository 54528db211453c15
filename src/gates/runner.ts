// The service's side of health gates: check a lock's gates (through the cache), report each
// check to the metrics, record outcome changes as `gate` events (once per change, across
// instances: src/store/gate-states.ts), and say what the lock JSON shows as gate_status.
import type { GateDefinition, GateVerdict } from '../lock/gates.js';
import { gateKey } from '../lock/gates.js';
import type { LockState } from '../lock/types.js';
import type { Store } from '../store/store.js';
import { GateCache } from './cache.js';
import type { GateCredentials } from './credentials.js';
import { evaluateGate, type GateResult } from './evaluators.js';
import type { MembersOf } from './members-source.js';

export interface GateStatus {
  name: string;
  ok: boolean;
  detail: string;
  /** ms since the epoch */
  checkedAt: number;
}

/** What /metrics counts; labels are bounded by the reporter (src/http/metrics-gates.ts). */
export interface GateCheckReporter {
  (check: { lock: string; gate: string; type: string; ok: boolean; seconds: number }): void;
}

export interface GateRunnerOptions {
  store: Store;
  credentials: GateCredentials;
  membersOf: MembersOf;
  /** log a failure to record an outcome change (the database went away) */
  onRecordError?: (err: unknown) => void;
  clock?: () => number;
}

export class GateRunner {
  private readonly cache: GateCache;
  private reporter: GateCheckReporter = () => {};

  constructor(private readonly opts: GateRunnerOptions) {
    this.cache = new GateCache(opts.clock);
  }

  /** /metrics installs its counter here once the app is built */
  reportTo(reporter: GateCheckReporter): void {
    this.reporter = reporter;
  }

  hasCredentials(name: string): boolean {
    return this.opts.credentials.has(name);
  }

  /** Every gate of the lock checked (or its result taken from the cache), by gate name. */
  async verdicts(lock: LockState): Promise<Map<string, GateVerdict>> {
    const gates = lock.gates ?? [];
    const results = await Promise.all(gates.map((g) => this.check(lock, g)));
    return new Map(gates.map((g, i) => [g.name, { key: gateKey(g), ...results[i]! }]));
  }

  /** How long a blocking acquire refused by a gate may sleep before checking again. */
  recheckMs(lock: LockState): number {
    const seconds = Math.min(...(lock.gates ?? []).map((g) => g.cache_seconds));
    return Math.max(250, Math.min(Number.isFinite(seconds) ? seconds * 1000 : 1000, 60_000));
  }

  /** The last known result of each gate (this instance's checks), for the lock JSON. */
  status(lock: LockState): GateStatus[] {
    return (lock.gates ?? []).flatMap((g) => {
      const last = this.cache.last(GateCache.key(lock.id, g));
      return last ? [{ name: g.name, ok: last.ok, detail: last.detail, checkedAt: last.checkedAt }] : [];
    });
  }

  private async check(lock: LockState, gate: GateDefinition): Promise<GateResult> {
    const key = GateCache.key(lock.id, gate);
    const { result, checked } = await this.cache.get(key, gate, async () => {
      const started = performance.now();
      const result = await evaluateGate(gate, {
        lock,
        credentials: this.opts.credentials,
        membersOf: this.opts.membersOf,
      });
      this.reporter({
        lock: lock.name,
        gate: gate.name,
        type: gate.type,
        ok: result.ok,
        seconds: (performance.now() - started) / 1000,
      });
      return result;
    });
    if (checked) await this.noteOutcome(lock, gate, result);
    return result;
  }

  private async noteOutcome(lock: LockState, gate: GateDefinition, result: GateResult): Promise<void> {
    // Each upstream check (once per cache period) compares with the outcome in the database, not
    // with this instance's memory: another instance may have recorded a change in between.
    try {
      await this.opts.store.gateStates.record(
        lock.id,
        gate.name,
        result.ok,
        `${gate.name}: ${result.ok ? 'passed' : 'failed'}: ${result.detail}`,
      );
    } catch (err) {
      // the acquire itself will meet the same outage; the change is recorded at the next check
      this.opts.onRecordError?.(err);
    }
  }
}
