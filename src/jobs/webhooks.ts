// Webhook delivery: each target follows the lock event stream from its own cursor and gets
// one signed JSON POST per subscribed event, in order. A failing receiver is retried with
// exponential backoff (its cursor stays put), never blocking a lock request; after
// `maxAttempts` the event is skipped with an error in the log. Runs on one instance at a time.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import type { Config } from '../config/schema.js';
import { formatTimestamp } from '../lock/time.js';
import type { EventRow, Store } from '../store/store.js';

type Target = Config['webhooks']['targets'][number];

/** How long an event must have been committed before it is sent (see WebhookFeed.eventsAfter). */
const SETTLE_MS = 1000;
const BATCH = 100;
const MAX_BACKOFF_MS = 15 * 60_000;

export interface WebhookLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export function webhookBody(e: EventRow): string {
  return JSON.stringify({
    id: e.id,
    event: e.type,
    lock: { id: e.lockId, name: e.lockName },
    host: e.hostName === null ? null : { name: e.hostName },
    user: e.userLogin === null ? null : { login: e.userLogin },
    detail: e.detail,
    created_at: formatTimestamp(e.createdAt),
  });
}

/** `sha256=<hex>` of the exact body bytes, GitHub-style, so receivers can use existing code. */
export function signature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function backoffMs(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.max(0, attempts - 1));
}

export class WebhookDelivery {
  private readonly agents = new Map<string, Agent>();

  constructor(
    private readonly store: Store,
    private readonly config: Config['webhooks'],
    private readonly log: WebhookLog,
    /** each failed POST (for /metrics); `givenUp` on an event's last attempt */
    private readonly onFailure: (givenUp: boolean) => void = () => {},
  ) {}

  /**
   * Before the server answers anything: a new target's cursor is set now, so it starts with
   * the first event after this start rather than with whatever the first delivery pass finds.
   */
  async start(): Promise<void> {
    for (const target of this.config.targets) await this.store.webhookFeed.cursor(target.url);
  }

  /** One pass over every target; returns the number of deliveries made. */
  async runOnce(): Promise<number> {
    let delivered = 0;
    await this.store.runExclusive('webhooks', async () => {
      for (const target of this.config.targets) delivered += await this.deliverTo(target);
    });
    return delivered;
  }

  private async deliverTo(target: Target): Promise<number> {
    const feed = this.store.webhookFeed;
    // A read on every pass; writes only when the cursor moves (start() created it).
    const cursor = (await feed.load(target.url)) ?? (await feed.cursor(target.url));
    const { events, now } = await feed.eventsAfter(cursor.lastEventId, SETTLE_MS, BATCH);
    if (events.length === 0 || (cursor.nextAttemptAt !== null && cursor.nextAttemptAt > now)) return 0;
    let delivered = 0;
    for (const event of events) {
      if (!(target.events as readonly string[]).includes(event.type)) {
        cursor.lastEventId = event.id;
        continue;
      }
      const error = await this.post(target, event);
      if (error === null) {
        delivered++;
        Object.assign(cursor, { lastEventId: event.id, attempts: 0, nextAttemptAt: null });
        continue;
      }
      cursor.attempts++;
      this.onFailure(cursor.attempts >= this.config.maxAttempts);
      if (cursor.attempts >= this.config.maxAttempts) {
        this.log.error({ target: target.url, event: event.id, error }, 'webhook event given up');
        Object.assign(cursor, { lastEventId: event.id, attempts: 0, nextAttemptAt: null });
        continue;
      }
      cursor.nextAttemptAt = now + backoffMs(cursor.attempts);
      this.log.warn(
        { target: target.url, event: event.id, attempts: cursor.attempts, error },
        'webhook failed',
      );
      await feed.save(target.url, cursor, error);
      return delivered;
    }
    await feed.save(target.url, cursor, null);
    return delivered;
  }

  /** null when the receiver answered 2xx, else what went wrong */
  private async post(target: Target, event: EventRow): Promise<string | null> {
    const body = webhookBody(event);
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'keyholder-webhook',
          'x-keyholder-event': event.type,
          'x-keyholder-delivery': String(event.id),
          'x-keyholder-signature': signature(target.secret, body),
        },
        body,
        signal: AbortSignal.timeout(target.timeoutSeconds * 1000),
        dispatcher: this.agentFor(target),
      });
      await res.body?.cancel();
      return res.ok ? null : `HTTP ${res.status}`;
    } catch (err) {
      const cause = (err as { cause?: { message?: string } }).cause?.message;
      return `${(err as Error).message}${cause ? `: ${cause}` : ''}`;
    }
  }

  private agentFor(target: Target): Agent {
    let agent = this.agents.get(target.url);
    if (!agent) {
      agent = new Agent(target.ca ? { connect: { ca: readFileSync(target.ca, 'utf8') } } : {});
      this.agents.set(target.url, agent);
    }
    return agent;
  }

  async close(): Promise<void> {
    await Promise.all([...this.agents.values()].map((a) => a.close()));
  }
}
