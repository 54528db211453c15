// What a webhook target receives, per format. `keyholder` is the signed JSON event; `slack` and
// `teams` are messages people read in a channel (Slack incoming webhooks, Microsoft Teams
// workflow webhooks with an Adaptive Card); `alertmanager` turns stale holders into alerts on
// Alertmanager's API that resolve when the holder lets go. Pure: an event in, a request body out.
import type { WEBHOOK_FORMATS } from '../config/schema.js';
import { formatTimestamp } from '../lock/time.js';
import type { EventRow } from '../store/store.js';

export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

export function keyholderBody(e: EventRow): string {
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

/** One sentence a person on call understands without knowing keyholder's event names. */
export function describeEvent(e: EventRow): string {
  const host = e.hostName ?? 'a host';
  const lock = `"${e.lockName}"`;
  const by = e.userLogin ? ` by ${e.userLogin}` : '';
  const why = e.detail ? `: ${e.detail}` : '';
  switch (e.type) {
    case 'acquire':
      return e.userLogin ? `${e.userLogin} made ${host} the holder of ${lock}` : `${host} took lock ${lock}`;
    case 'release':
      return `${host} released lock ${lock}`;
    case 'force_release':
      return `${e.userLogin ?? 'an operator'} released ${host} from lock ${lock}${why}`;
    case 'expire':
      return `${host} lost lock ${lock}: its lease ran out`;
    case 'stale':
      return `${host} has held lock ${lock} past the stale limit without refreshing`;
    case 'fail':
      return `${host} was refused lock ${lock}${why}`;
    case 'enable':
      return `lock ${lock} was enabled${by}`;
    case 'disable':
      return `lock ${lock} was disabled${by}`;
    case 'create':
      return `lock ${lock} was created${by}`;
    case 'gate':
      return `health gate of lock ${lock}${why}`;
    case 'delete':
      return `lock ${lock} was deleted${by}`;
    default:
      return `lock ${lock}: ${e.type}${by}${why}`;
  }
}

/** Slack's incoming webhooks take a plain `text`: the sentence and when it happened. */
export function slackBody(e: EventRow): string {
  return JSON.stringify({ text: `keyholder: ${describeEvent(e)} (${formatTimestamp(e.createdAt)})` });
}

/** Teams workflow webhooks ("Post to a channel when a webhook request is received") take an Adaptive Card. */
export function teamsBody(e: EventRow): string {
  const facts = [
    { title: 'Lock', value: e.lockName },
    ...(e.hostName ? [{ title: 'Host', value: e.hostName }] : []),
    ...(e.userLogin ? [{ title: 'Operator', value: e.userLogin }] : []),
    { title: 'Event', value: e.type },
    { title: 'At', value: formatTimestamp(e.createdAt) },
  ];
  return JSON.stringify({
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body: [
            { type: 'TextBlock', text: describeEvent(e), wrap: true, weight: 'Bolder' },
            { type: 'FactSet', facts },
          ],
        },
      },
    ],
  });
}

export interface StaleHolder {
  lockName: string;
  hostName: string;
  /** when the holder last acquired or refreshed (ms) */
  refreshedAt: number;
}

export interface AlertOptions {
  /** extra labels on every alert (e.g. severity, team) */
  labels: Record<string, string>;
  /** where the alert links to (the lock's page in the web UI), when a public URL is known */
  lockUrl?: (lockName: string) => string;
}

const ALERT_NAME = 'KeyholderLockStale';

function alertLabels(lockName: string, hostName: string, options: AlertOptions): Record<string, string> {
  return { severity: 'warning', ...options.labels, alertname: ALERT_NAME, lock: lockName, host: hostName };
}

/**
 * Firing alerts for holders that are stale now. Alertmanager resolves an alert it has not heard
 * of within `endsAt`, so the job re-posts them while they last; `validForMs` says how long one
 * post keeps an alert firing (a few re-post periods, so one missed post does not flap it).
 */
export function firingAlerts(holders: StaleHolder[], now: number, validForMs: number, options: AlertOptions) {
  return holders.map((h) => ({
    labels: alertLabels(h.lockName, h.hostName, options),
    annotations: {
      summary: `${h.hostName} has held lock "${h.lockName}" past the stale limit`,
      description: `last refreshed ${formatTimestamp(h.refreshedAt)}`,
    },
    startsAt: new Date(h.refreshedAt).toISOString(),
    endsAt: new Date(now + validForMs).toISOString(),
    ...(options.lockUrl ? { generatorURL: options.lockUrl(h.lockName) } : {}),
  }));
}

/** Events that end a stale episode: the alert for that lock and host resolves now. */
const ENDS_HOLDING = new Set(['release', 'force_release', 'expire']);

export function resolvedAlert(e: EventRow, options: AlertOptions) {
  if (!ENDS_HOLDING.has(e.type) || e.hostName === null) return undefined;
  const at = new Date(e.createdAt).toISOString();
  return {
    labels: alertLabels(e.lockName, e.hostName, options),
    annotations: { summary: describeEvent(e) },
    startsAt: at,
    endsAt: at,
  };
}
