// How long each database call took and whether the database was there: every call goes through
// SqlStore.guard, which reports here. /metrics turns it into a latency histogram and an error
// counter; the store itself does not know about Prometheus.
/** `other`: connecting, and the advisory locks of exclusive jobs (PostgreSQL) */
export type StoreCallKind = 'read' | 'write' | 'snapshot' | 'ping' | 'other';

export interface StoreCall {
  kind: StoreCallKind;
  seconds: number;
  /** `unavailable`: an outage error (answered 503); `failed`: any other error (a rollback, a conflict) */
  outcome: 'ok' | 'unavailable' | 'failed';
}

export class StoreTimings {
  private readonly listeners = new Set<(call: StoreCall) => void>();

  onCall(listener: (call: StoreCall) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  record(call: StoreCall): void {
    for (const listener of this.listeners) listener(call);
  }
}
