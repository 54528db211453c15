// Webhook delivery: each target follows the lock event stream from its own cursor and gets
// one POST per subscribed event, in order, in the target's format (signed JSON, a Slack or
// Teams message, or an Alertmanager alert; src/jobs/notify-formats.ts). A failing receiver is retried with
// exponential backoff (its cursor stays put), never blocking a lock request; after
// `maxAttempts` the event is skipped with an error in the log. Runs on one instance at a time.
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent, fetch } from 'undici';
import type { Config } from '../config/schema.js';
import type { EventRow, Store } from '../store/store.js';
import { EVENT_SETTLE_MS } from '../store/webhook-feed.js';
import {
  firingAlerts,
  keyholderBody,
  resolvedAlert,
  slackBody,
  teamsBody,
  type AlertOptions,
  type StaleHolder,
} from './notify-formats.js';

type Target = Config['webhooks']['targets'][number];

const BATCH = 100;
/** stale locks re-posted per pass; more than this is a fleet-wide incident, not a lock's */
const MAX_STALE_ALERTS = 500;
const MAX_BACKOFF_MS = 15 * 60_000;

export interface WebhookLog {
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A request to send, or nothing (the event does not concern this format: the cursor moves on). */
interface Outgoing {
  url: string;
  body: string;
  headers: Record<string, string>;
}

const ALERTS_PATH = '/api/v2/alerts';
/** One resend keeps an alert firing for this many resend periods, so a missed pass does not flap it. */
const ALERT_VALID_FACTOR = 3;
const alertsUrl = (target: Target) => `${target.url.replace(/\/+$/, '')}${ALERTS_PATH}`;
const alertOptions = (target: Target): AlertOptions => ({ labels: target.labels });

/** `alertValidMs`: how long one post keeps an Alertmanager alert firing (see resendAlerts). */
export function outgoingFor(target: Target, e: EventRow, alertValidMs: number): Outgoing | undefined {
  switch (target.format) {
    case 'slack':
      return { url: target.url, body: slackBody(e), headers: {} };
    case 'teams':
      return { url: target.url, body: teamsBody(e), headers: {} };
    case 'alertmanager': {
      // a stale event fires at once; the resend pass keeps it firing; the holder letting go resolves it
      const alert =
        e.type === 'stale' && e.hostName !== null
          ? firingAlerts(
              [{ lockName: e.lockName, hostName: e.hostName, refreshedAt: e.createdAt }],
              e.createdAt,
              alertValidMs,
              alertOptions(target),
            )[0]
          : resolvedAlert(e, alertOptions(target));
      return alert ? { url: alertsUrl(target), body: JSON.stringify([alert]), headers: {} } : undefined;
    }
    default: {
      const body = keyholderBody(e);
      return {
        url: target.url,
        body,
        headers: {
          'x-keyholder-event': e.type,
          'x-keyholder-delivery': String(e.id),
          'x-keyholder-signature': signature(target.secret!, body),
        },
      };
    }
  }
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
  private nextAlertResend = 0;

  constructor(
    private readonly store: Store,
    private readonly config: Config['webhooks'],
    private readonly log: WebhookLog,
    private readonly staleAfterMs: number,
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
      await this.resendAlerts();
    });
    return delivered;
  }

  private async deliverTo(target: Target): Promise<number> {
    const feed = this.store.webhookFeed;
    // A read on every pass; writes only when the cursor moves (start() created it).
    const cursor = (await feed.load(target.url)) ?? (await feed.cursor(target.url));
    const { events, now } = await feed.eventsAfter(cursor.lastEventId, EVENT_SETTLE_MS, BATCH);
    if (events.length === 0 || (cursor.nextAttemptAt !== null && cursor.nextAttemptAt > now)) return 0;
    let delivered = 0;
    for (const event of events) {
      if (!(target.events as readonly string[]).includes(event.type)) {
        cursor.lastEventId = event.id;
        continue;
      }
      const outgoing = outgoingFor(target, event, ALERT_VALID_FACTOR * this.config.alertResendSeconds * 1000);
      const error = outgoing ? await this.post(target, outgoing) : null;
      if (error === null) {
        if (!outgoing) {
          cursor.lastEventId = event.id;
          continue;
        }
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
  private async post(target: Target, outgoing: Outgoing): Promise<string | null> {
    try {
      const res = await fetch(outgoing.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'keyholder-webhook',
          ...outgoing.headers,
        },
        body: outgoing.body,
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

  /**
   * Alertmanager forgets an alert that is not posted again before its `endsAt`, so every
   * `alertResendSeconds` each alertmanager target hears of every holder that is stale now.
   */
  private async resendAlerts(): Promise<void> {
    const targets = this.config.targets.filter(
      (t) => t.format === 'alertmanager' && t.events.includes('stale'),
    );
    if (targets.length === 0 || Date.now() < this.nextAlertResend) return;
    this.nextAlertResend = Date.now() + this.config.alertResendSeconds * 1000;
    const holders = await this.staleHolders();
    if (holders.stale.length === 0) return;
    for (const target of targets) {
      const alerts = firingAlerts(
        holders.stale,
        holders.now,
        ALERT_VALID_FACTOR * this.config.alertResendSeconds * 1000,
        alertOptions(target),
      );
      const error = await this.post(target, {
        url: alertsUrl(target),
        body: JSON.stringify(alerts),
        headers: {},
      });
      if (error !== null) {
        this.onFailure(false);
        this.log.warn({ target: target.url, error }, 'stale alerts not delivered');
      }
    }
  }

  private async staleHolders(): Promise<{ stale: StaleHolder[]; now: number }> {
    const { locks, now } = await this.store.listLocks({
      filter: { kind: 'bool', field: 'stale', value: true },
      order: { by: 'name', desc: false },
      limit: MAX_STALE_ALERTS,
      offset: 0,
      staleAfterMs: this.staleAfterMs,
    });
    const stale = locks.flatMap((l) =>
      l.holders
        .filter((h) => now - h.refreshedAt > this.staleAfterMs)
        .map((h) => ({ lockName: l.name, hostName: h.hostName, refreshedAt: h.refreshedAt })),
    );
    return { stale, now };
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
