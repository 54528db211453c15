// LISTEN on a dedicated connection (a pooled one would lose its LISTEN when returned). When the
// connection drops (database restart), it reconnects with backoff and reports `null` — "anything
// may have changed" — because notifications sent meanwhile are lost.
import pg from 'pg';

const MAX_BACKOFF_MS = 5000;

export class ChangeListener {
  private client: pg.Client | undefined;
  private closed = false;
  private backoff = 100;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string,
    private readonly channel: string,
    private readonly onChange: (lockId: number | null) => void,
  ) {
    void this.connect(false);
  }

  private async connect(isReconnect: boolean): Promise<void> {
    if (this.closed) return;
    const client = new pg.Client({ connectionString: this.url });
    client.on('notification', (msg) => {
      const id = Number(msg.payload);
      this.onChange(Number.isInteger(id) ? id : null);
    });
    client.on('error', () => this.retry(client));
    client.on('end', () => this.retry(client));
    try {
      await client.connect();
      await client.query(`LISTEN ${this.channel}`);
    } catch {
      this.retry(client);
      return;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.backoff = 100;
    if (isReconnect) this.onChange(null);
  }

  private retry(client: pg.Client): void {
    if (this.closed || this.timer || (this.client && this.client !== client)) return;
    this.client = undefined;
    client.removeAllListeners('end');
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
