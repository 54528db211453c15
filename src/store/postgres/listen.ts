// LISTEN on a dedicated connection (a pooled one would lose its LISTEN when returned). When the
// connection drops (database restart, a killed backend), it reconnects with backoff and reports
// `null` — "anything may have changed" — because notifications sent meanwhile are lost. The
// loss and the recovery are reported once each (the log says so), not once per retry.
import pg from 'pg';
import { decodeChangeNote, type LockChangeNote } from '../change-note.js';

const MAX_BACKOFF_MS = 5000;
/** a database host that swallows packets must not leave the reconnect hanging */
const CONNECT_TIMEOUT_MS = 10_000;

export interface ChangeListenerEvents {
  onChange(note: LockChangeNote | null): void;
  onLost(err: unknown): void;
  onRestored(): void;
}

export class ChangeListener {
  private client: pg.Client | undefined;
  private closed = false;
  private backoff = 100;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly events: ChangeListenerEvents,
  ) {
    void this.connect(false);
  }

  private async connect(isReconnect: boolean): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({
      connectionString: this.url,
      keepAlive: true,
      connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    });
    client.on('notification', (msg) => this.events.onChange(decodeChangeNote(msg.payload)));
    client.on('error', (err) => this.retry(client, err));
    client.on('end', () => this.retry(client, new Error('LISTEN connection ended')));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch (err) {
      this.retry(client, err);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoff = 100;
    this.events.onRestored();
    if (isReconnect) this.events.onChange(null);
  }

  private retry(client: pg.Client, err: unknown): void {
    if (this.closed || this.timer || (this.client && this.client !== client)) return;
    this.events.onLost(err);
    this.client = undefined;
    // The dead client says nothing more that matters; a late error must not start a second retry.
    client.removeAllListeners();
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.connect(true);
    }, this.backoff);
    this.timer.unref();
    this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.client?.end().catch(() => undefined);
  }
}
