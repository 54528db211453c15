// Webhooks: signed POSTs of lock events to a real local receiver, in order, retried after
// failures without blocking lock requests; the stale scan reports each stale episode once.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ageHolders } from '../support/db-sql.js';
import { STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { receiver, until } from '../support/webhook-receiver.js';

const SECRET = 'a-webhook-secret-for-tests';

describe.each(STORES)('webhooks on %s', (kind) => {
  let s: TestServer;
  let hook: Awaited<ReturnType<typeof receiver>>;
  let staleOnly: Awaited<ReturnType<typeof receiver>>;
  beforeAll(async () => {
    hook = await receiver();
    staleOnly = await receiver();
    s = await startTestServer(kind, {
      webhooks: {
        targets: [
          { url: hook.url, secret: SECRET },
          { url: staleOnly.url, secret: SECRET, events: ['stale'] },
        ],
        pollIntervalSeconds: 0.05,
      },
      locks: { staleScanIntervalSeconds: 0.1 },
    });
  });
  afterAll(async () => {
    await s?.close();
    await hook?.close();
    await staleOnly?.close();
  });

  it('posts each subscribed event once, in order, signed with the secret', async () => {
    await s.asHost('w1', 'PUT', '/api/dlmlocks/hooked/lock');
    await s.asHost('w2', 'PUT', '/api/dlmlocks/hooked/lock');
    await s.asHost('w1', 'DELETE', '/api/dlmlocks/hooked/lock');
    await s.asAdmin('PUT', '/api/dlmlocks/hooked', { body: { enabled: false } });
    await until('four deliveries', () => hook.forLock('hooked').length >= 4);
    const got = hook.forLock('hooked');
    expect(got.map((r) => [r.json.event, r.json.host?.name ?? null])).toEqual([
      ['acquire', 'w1'],
      ['fail', 'w2'],
      ['release', 'w1'],
      ['disable', null],
    ]);
    for (const r of got) {
      const expected = `sha256=${createHmac('sha256', SECRET).update(r.body).digest('hex')}`;
      expect(r.headers['x-keyholder-signature']).toBe(expected);
      expect(r.headers['x-keyholder-event']).toBe(r.json.event);
      expect(r.headers['x-keyholder-delivery']).toBe(String(r.json.id));
      expect(r.headers['content-type']).toBe('application/json');
    }
    const ids = got.map((r) => r.json.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // `create` is not a webhook event; the stale-only target got none of these
    expect(staleOnly.forLock('hooked')).toEqual([]);
  });

  it('retries a failing receiver with backoff and keeps the order', async () => {
    hook.statuses.push(500, 502);
    await s.asHost('r1', 'PUT', '/api/dlmlocks/retried/lock');
    await s.asHost('r1', 'DELETE', '/api/dlmlocks/retried/lock');
    await until('the retried deliveries', () => hook.forLock('retried').length >= 2, 20_000);
    expect(hook.forLock('retried').map((r) => r.json.event)).toEqual(['acquire', 'release']);
    expect(hook.statuses).toEqual([]);
  });

  it('a hanging receiver never holds up lock requests', async () => {
    hook.setHang(true);
    for (let i = 0; i < 5; i++) {
      expect((await s.asHost('h1', 'PUT', '/api/dlmlocks/unblocked/lock')).status).toBe(200);
      expect((await s.asHost('h1', 'DELETE', '/api/dlmlocks/unblocked/lock')).status).toBe(200);
    }
    hook.setHang(false);
    await until('the deliveries after the hang', () => hook.forLock('unblocked').length >= 10, 30_000);
    expect(hook.forLock('unblocked').map((r) => r.json.event)).toEqual(
      Array.from({ length: 5 }, () => ['acquire', 'release']).flat(),
    );
  });

  it('reports a stale holder once per episode, as an event and a webhook', async () => {
    await s.asHost('s1', 'PUT', '/api/dlmlocks/stuck/lock');
    await ageHolders(s.db, 'stuck', 5 * 3600_000);
    await until('a stale webhook', () => staleOnly.forLock('stuck').length >= 1);
    // several scans later still one report
    await new Promise((r) => setTimeout(r, 500));
    expect(staleOnly.forLock('stuck')).toHaveLength(1);
    expect(staleOnly.forLock('stuck')[0]!.json).toMatchObject({ event: 'stale', host: { name: 's1' } });
    // a refresh ends the episode; going stale again is a new report
    await s.asHost('s1', 'PUT', '/api/dlmlocks/stuck/lock');
    await ageHolders(s.db, 'stuck', 5 * 3600_000);
    await until('a second stale webhook', () => staleOnly.forLock('stuck').length >= 2);
    const events = await s.asAdmin('GET', '/api/dlmlocks/stuck/dlmlock_events');
    expect(events.json.results.filter((e: { event_type: string }) => e.event_type === 'stale')).toHaveLength(
      2,
    );
  });
});
