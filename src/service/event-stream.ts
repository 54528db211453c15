// The live event stream behind GET /api/events/stream: one reader per instance follows the
// lock_events table and fans new events out to every connected client. It reads the database
// (never trusts an in-memory copy), so what a client sees is what was committed, and a client
// that reconnects with Last-Event-ID gets exactly what it missed.
//
// Wake-ups, cheapest first: every write this instance commits (store.onWrite), the store's
// lock-change notifications (LISTEN/NOTIFY across instances on PostgreSQL), and a slow tail
// check for writes of other instances that notify nobody. The tail check is one indexed query
// per instance and interval while at least one client is connected — NOTIFYing every lock
// change instead would serialise every lock transaction's commit on PostgreSQL's notify queue.
import type { EventRow, Store } from '../store/store.js';
import { AppError } from '../errors.js';

export interface EventHubOptions {
  /** connected clients per instance; more are refused with 503 too_many_streams */
  maxClients: number;
  /** how often to look for other instances' events while anyone listens */
  tailCheckMs?: number;
}

export interface StreamClient {
  /** only events of this lock (by name), if set */
  lock?: string;
  /** events up to this id were seen already */
  after: number;
  send(events: EventRow[]): void;
  /** the client missed more than the backlog limit: it must reload whatever it shows */
  reset(latestId: number): void;
  /** the server shuts down: end the response (the client reconnects elsewhere) */
  close(): void;
}

/** Per read; a longer backlog than BACKLOG_LIMIT makes the client reload instead. */
const BATCH = 500;
const BACKLOG_LIMIT = 2000;

/**
 * On PostgreSQL an event id is taken before its transaction commits, so a lower id can become
 * visible after a higher one. Reading only events that are this old avoids skipping it (the
 * webhook feed does the same with a longer margin); SQLite commits in id order.
 */
const PG_SETTLE_MS = 300;

export class EventHub {
  private readonly clients = new Set<StreamClient>();
  /** slots taken by clients still being set up, so the limit holds under a burst */
  private reserved = 0;
  private cursor: number | undefined;
  private chain: Promise<void> = Promise.resolve();
  private reading = false;
  private dirty = false;
  private settleTimer: NodeJS.Timeout | undefined;
  private stopListening: (() => void) | undefined;
  private closed = false;
  private readonly settleMs: number;
  private readonly tailCheckMs: number;

  constructor(
    private readonly store: Store,
    private readonly opts: EventHubOptions,
  ) {
    this.settleMs = store.dialect === 'postgres' ? PG_SETTLE_MS : 0;
    this.tailCheckMs = opts.tailCheckMs ?? 1000;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Takes a slot or refuses at once, before the response starts. */
  reserve(): () => void {
    if (this.closed) throw new AppError('unavailable', 'The server is shutting down');
    if (this.clients.size + this.reserved >= this.opts.maxClients) throw new AppError('too_many_streams');
    this.reserved++;
    let released = false;
    return () => {
      if (!released) this.reserved--;
      released = true;
    };
  }

  /**
   * Sends the client what it missed since `client.after` (if anything), then every new event.
   * Resolves once it is live; the returned function unsubscribes.
   */
  async subscribe(client: StreamClient, release: () => void): Promise<() => void> {
    this.listen();
    await this.serially(async () => {
      release();
      const cursor = await this.ensureCursor();
      if (client.after > 0 && client.after < cursor) await this.sendBacklog(client, cursor);
      client.after = Math.max(client.after, cursor);
      this.clients.add(client);
    });
    return () => {
      this.clients.delete(client);
      if (this.clients.size === 0 && this.reserved === 0) this.quiet();
    };
  }

  /** A write or a notification: read what is new (coalesced: one read at a time). */
  wake = (): void => {
    if (this.clients.size === 0 || this.closed) return;
    if (this.reading) {
      this.dirty = true;
      return;
    }
    this.reading = true;
    void this.serially(async () => {
      do {
        this.dirty = false;
        await this.readNew();
      } while (this.dirty && this.clients.size > 0);
    }).finally(() => {
      this.reading = false;
    });
    // an event too young to be read now is read once it has settled
    if (this.settleMs > 0 && !this.settleTimer) {
      this.settleTimer = setTimeout(() => {
        this.settleTimer = undefined;
        this.wake();
      }, this.settleMs + 20);
      this.settleTimer.unref();
    }
  };

  close(): void {
    this.closed = true;
    this.quiet();
    for (const client of [...this.clients]) client.close();
    this.clients.clear();
  }

  private listen(): void {
    if (this.stopListening) return;
    const offWrite = this.store.onWrite(this.wake);
    const offChange = this.store.onLockChanged(this.wake);
    const timer = setInterval(this.wake, this.tailCheckMs);
    timer.unref();
    this.stopListening = () => {
      offWrite();
      offChange();
      clearInterval(timer);
    };
  }

  /** Nobody listens: stop reading; the next client starts from the then newest event. */
  private quiet(): void {
    this.stopListening?.();
    this.stopListening = undefined;
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.settleTimer = undefined;
    this.cursor = undefined;
  }

  private serially(work: () => Promise<void>): Promise<void> {
    const run = this.chain.then(work);
    // a failed read (database outage) must not stop the next one
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async ensureCursor(): Promise<number> {
    this.cursor ??= (await this.store.webhookFeed.latestEvents(this.settleMs, 1)).at(-1)?.id ?? 0;
    return this.cursor;
  }

  private async readNew(): Promise<void> {
    const from = await this.ensureCursor();
    let after = from;
    for (;;) {
      const { events } = await this.store.webhookFeed.eventsAfter(after, this.settleMs, BATCH);
      if (events.length === 0) break;
      after = events[events.length - 1]!.id;
      for (const client of this.clients) deliver(client, events);
      if (events.length < BATCH) break;
    }
    this.cursor = after;
  }

  private async sendBacklog(client: StreamClient, cursor: number): Promise<void> {
    let after = client.after;
    let sent = 0;
    while (after < cursor) {
      const { events } = await this.store.webhookFeed.eventsAfter(after, this.settleMs, BATCH);
      const upTo = events.filter((e) => e.id <= cursor);
      if (upTo.length === 0) break;
      sent += upTo.length;
      if (sent > BACKLOG_LIMIT) {
        client.reset(cursor);
        client.after = cursor;
        return;
      }
      deliver(client, upTo);
      after = upTo[upTo.length - 1]!.id;
      if (upTo.length < events.length || events.length < BATCH) break;
    }
  }
}

function deliver(client: StreamClient, events: EventRow[]): void {
  const mine = events.filter(
    (e) => e.id > client.after && (client.lock === undefined || e.lockName === client.lock),
  );
  if (events.length > 0) client.after = Math.max(client.after, events[events.length - 1]!.id);
  if (mine.length > 0) client.send(mine);
}
