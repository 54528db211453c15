// A blocking acquire whose request ends with an error (the database down during a retry, the
// client gone while the database is unreachable) must not keep its place in the queue until
// its deadline: the entry is live in the database (its instance is alive) and every host
// behind it would be refused. Its entry is removed at once, or, when the database cannot be
// reached, retried until it goes or its own deadline makes it harmless anyway.

/** How long to wait between two tries to remove an entry while the database is unreachable. */
const RETRY_MS = 1000;

export class LapsedWaiters {
  private readonly pending = new Map<number, { ref: string; until: number }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    /** removes one queue entry (a lock transaction); throws when the database cannot be reached */
    private readonly remove: (ref: string, waiterId: number) => Promise<void>,
    private readonly retryMs = RETRY_MS,
  ) {}

  /** Removes the entry now; if that fails, again every second until `untilMs` (local clock). */
  async leave(ref: string, waiterId: number, untilMs: number): Promise<void> {
    try {
      await this.remove(ref, waiterId);
    } catch {
      if (this.stopped) return;
      this.pending.set(waiterId, { ref, until: untilMs });
      this.timer ??= setTimeout(() => void this.retry(), this.retryMs).unref();
    }
  }

  /** entries still waiting to be removed */
  get size(): number {
    return this.pending.size;
  }

  private async retry(): Promise<void> {
    for (const [waiterId, { ref, until }] of this.pending) {
      if (Date.now() >= until) {
        this.pending.delete(waiterId);
        continue;
      }
      try {
        await this.remove(ref, waiterId);
        this.pending.delete(waiterId);
      } catch {
        break; // still unreachable: the rest wait for the next round
      }
    }
    this.timer =
      this.pending.size > 0 && !this.stopped
        ? setTimeout(() => void this.retry(), this.retryMs).unref()
        : undefined;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.pending.clear();
  }
}
