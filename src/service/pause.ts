// The global pause: no new holder on any lock until an instant, with a reason. It lives in the
// database (`settings`, migration 9), so every instance sees it, and every acquire reads it in
// its own transaction (src/store/lock-op/context.ts) — what is cached here serves only the lock JSON's
// `next_window_at`, which is informational and may lag another instance's change by a second.
import type { Pause } from '../lock/calendar.js';
import type { AuditActor, Store } from '../store/store.js';

/** How long the lock JSON may show a global pause another instance changed. */
const RENDER_CACHE_MS = 1000;

export class PauseService {
  private cached: { pause: Pause | null; readAt: number } | undefined;
  private reading: Promise<Pause | null> | undefined;

  constructor(private readonly store: Store) {}

  /** the stored pause (also when its time has passed) and the database clock */
  get(): Promise<{ pause: Pause | null; now: number }> {
    return this.store.getGlobalPause();
  }

  async set(pause: Pause | null, actor: AuditActor): Promise<{ pause: Pause | null; now: number }> {
    const done = await this.store.setGlobalPause(pause, actor);
    this.cached = { pause: done.pause, readAt: Date.now() };
    return done;
  }

  /**
   * The pause for rendering lock JSON: read at most once a second per instance. Synchronous
   * while the last read is fresh (nearly every answer); requests that find it stale together
   * share one read.
   */
  forRendering(): Pause | null | Promise<Pause | null> {
    const now = Date.now();
    if (this.cached && now - this.cached.readAt < RENDER_CACHE_MS) return this.cached.pause;
    this.reading ??= this.store
      .getGlobalPause()
      .then(({ pause }) => {
        this.cached = { pause, readAt: now };
        return pause;
      })
      .finally(() => {
        this.reading = undefined;
      });
    return this.reading;
  }
}
