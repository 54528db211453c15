// Notifications people read: Slack and Teams messages and Alertmanager alerts, each from a real
// local receiver, with per-target event filters. A stale holder raises an alert that is kept
// firing while it lasts and resolves when the holder releases.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ageHolders } from '../support/db-sql.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { receiver, until, type Received } from '../support/webhook-receiver.js';

type Alert = {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
};
const alertsOf = (posts: Received[]) => posts.flatMap((p) => JSON.parse(p.body) as Alert[]);

describe.each(STORES)('notifications on %s', (kind) => {
  let s: TestServer;
  let slack: Awaited<ReturnType<typeof receiver>>;
  let teams: Awaited<ReturnType<typeof receiver>>;
  let alertmanager: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    [slack, teams, alertmanager] = await Promise.all([receiver(), receiver(), receiver()]);
    s = await startTestServer(kind, {
      webhooks: {
        targets: [
          { url: slack.url, format: 'slack', events: ['acquire', 'force_release'] },
          { url: teams.url, format: 'teams', events: ['release'] },
          { url: alertmanager.url.replace(/\/hook$/, ''), format: 'alertmanager', labels: { team: 'ops' } },
        ],
        pollIntervalSeconds: 0.05,
        alertResendSeconds: 1,
      },
      locks: { staleScanIntervalSeconds: 0.1 },
    });
  });
  afterAll(async () => {
    await s?.close();
    await Promise.all([slack?.close(), teams?.close(), alertmanager?.close()]);
  });

  it('Slack gets a readable text for its events only; Teams an Adaptive Card', async () => {
    await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'chat', max_holders: 2 } });
    await s.asHost('web01', 'PUT', '/api/dlmlocks/chat/lock');
    await s.asHost('web02', 'PUT', '/api/dlmlocks/chat/lock');
    await s.asHost('web02', 'DELETE', '/api/dlmlocks/chat/lock');
    await s.asAdmin('POST', '/api/dlmlocks/chat/release', { body: { host: 'web01', reason: 'INC-1' } });
    await until('slack messages', () => slack.received.length >= 3);
    await until('a teams card', () => teams.received.length >= 1);
    const texts = slack.received.map((r) => (JSON.parse(r.body) as { text: string }).text);
    expect(texts[0]).toMatch(/^keyholder: web01 took lock "chat" \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/);
    expect(texts[1]).toMatch(/web02 took lock "chat"/);
    expect(texts[2]).toMatch(/^keyholder: admin released web01 from lock "chat": INC-1 /);
    expect(slack.received).toHaveLength(3); // no release, no create: not subscribed
    const card = JSON.parse(teams.received[0]!.body);
    expect(card.type).toBe('message');
    expect(card.attachments[0].contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.attachments[0].content.body[0]).toMatchObject({
      type: 'TextBlock',
      text: 'web02 released lock "chat"',
    });
    expect(card.attachments[0].content.body[1].facts).toContainEqual({ title: 'Host', value: 'web02' });
    expect(teams.received).toHaveLength(1);
    // Alertmanager hears nothing of ordinary acquires; releases of a never-stale holder only resolve
    for (const alert of alertsOf(alertmanager.received)) expect(alert.startsAt).toBe(alert.endsAt);
  });

  it('a stale holder fires an Alertmanager alert, kept firing, resolved on release', async () => {
    await s.asHost('db01', 'PUT', '/api/dlmlocks/stuck/lock');
    await ageHolders(s.db, 'stuck', 5 * 3600_000);
    const firing = () =>
      alertsOf(alertmanager.received).filter((a) => a.labels.lock === 'stuck' && a.endsAt > a.startsAt);
    await until('a firing alert', () => firing().length >= 1);
    expect(alertmanager.received.every((r) => r.path === '/api/v2/alerts')).toBe(true);
    const first = firing()[0]!;
    expect(first.labels).toEqual({
      alertname: 'KeyholderLockStale',
      lock: 'stuck',
      host: 'db01',
      severity: 'warning',
      team: 'ops',
    });
    expect(Date.parse(first.endsAt)).toBeGreaterThan(Date.now());
    // re-posted while it lasts, so Alertmanager does not time it out
    await until('the alert re-posted', () => firing().length >= 3, 10_000);
    await s.asHost('db01', 'DELETE', '/api/dlmlocks/stuck/lock');
    const resolved = () =>
      alertsOf(alertmanager.received).filter((a) => a.labels.lock === 'stuck' && a.endsAt === a.startsAt);
    await until('the resolving post', () => resolved().length >= 1);
    expect(resolved()[0]!.labels).toEqual(first.labels);
    expect(Date.parse(resolved()[0]!.endsAt)).toBeLessThanOrEqual(Date.now());
    // after the release nothing keeps it firing
    const count = firing().length;
    await new Promise((r) => setTimeout(r, 2500));
    expect(firing().length).toBe(count);
  });

  it('refuses a keyholder-format target without a secret at start', async () => {
    await expect(startTestServer(kind, { webhooks: { targets: [{ url: slack.url }] } })).rejects.toThrow(
      /secret/,
    );
  });
});
