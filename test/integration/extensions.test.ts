// keyholder's extensions over the API, on every store: counting semaphores, fencing tokens
// (kept across restarts), leases (expired by the job and at acquire time), maintenance windows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { editHolders } from '../support/db-sql.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

describe.each(STORES)('extensions on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind, { locks: { expiryIntervalSeconds: 0.2 } });
  });
  afterAll(() => s?.close());

  const acquire = (host: string, lock: string) => s.asHost(host, 'PUT', `/api/dlmlocks/${lock}/lock`);
  const release = (host: string, lock: string) => s.asHost(host, 'DELETE', `/api/dlmlocks/${lock}/lock`);
  const eventTypes = async (lock: string) =>
    (await s.asAdmin('GET', `/api/dlmlocks/${lock}/dlmlock_events?per_page=1000`)).json.results.map(
      (e: { event_type: string }) => e.event_type,
    );

  it('a semaphore admits max_holders hosts, lists them, and says full', async () => {
    const c = await s.asAdmin('POST', '/api/dlmlocks', {
      body: { dlmlock: { name: 'sem', max_holders: 2 } },
    });
    expect(c.json.max_holders).toBe(2);
    expect((await acquire('a1', 'sem')).status).toBe(200);
    const second = await acquire('a2', 'sem');
    expect(second.status).toBe(200);
    // host/host_id stay foreman_dlm's: the earliest holder
    expect(second.json.host).toEqual({ name: 'a1', self: false });
    expect(second.json.holders.map((h: { name: string }) => h.name)).toEqual(['a1', 'a2']);
    const third = await acquire('a3', 'sem');
    expect(third.status).toBe(412);
    expect(third.headers['x-lock-reason']).toBe('full');
    expect(third.headers['x-lock-holders']).toBe('a1,a2');
    expect((await acquire('a2', 'sem')).status).toBe(200);
  });

  it('lowering max_holders keeps the holders and admits nobody until below the limit', async () => {
    await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'shrink', max_holders: 3 } });
    for (const h of ['b1', 'b2', 'b3']) expect((await acquire(h, 'shrink')).status).toBe(200);
    const shrunk = await s.asAdmin('PUT', '/api/dlmlocks/shrink', { body: { max_holders: 1 } });
    expect(shrunk.json.holders).toHaveLength(3);
    expect((await acquire('b4', 'shrink')).status).toBe(412);
    await release('b1', 'shrink');
    await release('b2', 'shrink');
    expect((await acquire('b4', 'shrink')).status).toBe(412);
    await release('b3', 'shrink');
    expect((await acquire('b4', 'shrink')).status).toBe(200);
  });

  it('fencing tokens strictly increase, in the body and X-Fencing-Token, and survive a restart', async () => {
    const tokens: number[] = [];
    for (const h of ['f1', 'f2', 'f1', 'f3']) {
      const r = await acquire(h, 'fenced');
      expect(r.status).toBe(200);
      expect(r.headers['x-fencing-token']).toBe(String(r.json.fencing_token));
      tokens.push(r.json.fencing_token);
      await release(h, 'fenced');
    }
    await s.restart();
    const after = await acquire('f4', 'fenced');
    tokens.push(after.json.fencing_token);
    for (let i = 1; i < tokens.length; i++) expect(tokens[i]).toBeGreaterThan(tokens[i - 1]!);
    // a refresh by the holder keeps its token
    expect((await acquire('f4', 'fenced')).json.fencing_token).toBe(after.json.fencing_token);
  });

  it('a lease that is not refreshed runs out: the job frees the lock with an expire event', async () => {
    await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'leased', lease_seconds: 1 } });
    const r = await acquire('l1', 'leased');
    expect(r.json.lease_seconds).toBe(1);
    expect(r.json.holders[0].expires_at).toMatch(/UTC$/);
    const end = Date.now() + 10_000;
    let show = await s.asAdmin('GET', '/api/dlmlocks/leased');
    while (show.json.host !== null && Date.now() < end) {
      await new Promise((res) => setTimeout(res, 100));
      show = await s.asAdmin('GET', '/api/dlmlocks/leased');
    }
    expect(show.json.host).toBeNull();
    expect((await eventTypes('leased'))[0]).toBe('expire');
  });

  it('an expired lease never blocks a new holder, even before the job runs', async () => {
    await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'lapsed', lease_seconds: 3600 } });
    await acquire('old', 'lapsed');
    await editHolders(s.db, 'lapsed', (h) => ({ ...h, expires_at: 1 }));
    const r = await acquire('new', 'lapsed');
    expect(r.status).toBe(200);
    expect(r.json.host.name).toBe('new');
    expect((await eventTypes('lapsed')).slice(0, 2)).toEqual(['acquire', 'expire']);
  });

  it('outside its maintenance windows a lock refuses new holders and names the next opening', async () => {
    const now = new Date();
    const tomorrow = DAYS[(now.getUTCDay() + 1) % 7]!;
    const window = { days: [tomorrow], start: '00:00', duration_minutes: 60, time_zone: 'UTC' };
    const c = await s.asAdmin('POST', '/api/dlmlocks', {
      body: { name: 'windowed', windows: [window], max_holders: 2 },
    });
    expect(c.status).toBe(201);
    expect(c.json.windows).toEqual([window]);
    const r = await acquire('w1', 'windowed');
    expect(r.status).toBe(412);
    expect(r.headers['x-lock-reason']).toBe('outside_window');
    const opening = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
    const expected = `${opening.toISOString().slice(0, 10)} 00:00:00 UTC`;
    expect(r.json.error.next_window_at).toBe(expected);
    expect(r.json.error.message).toContain(`next window opens ${expected}`);
    expect(r.headers['x-lock-next-window']).toBe(expected);
    // always open: the whole week
    const always = { days: DAYS, start: '00:00', duration_minutes: 1440, time_zone: 'Europe/Berlin' };
    await s.asAdmin('PUT', '/api/dlmlocks/windowed', { body: { windows: [always] } });
    expect((await acquire('w1', 'windowed')).status).toBe(200);
    // closing the windows again does not throw the holder out, and it may refresh
    await s.asAdmin('PUT', '/api/dlmlocks/windowed', { body: { windows: [window] } });
    expect((await acquire('w1', 'windowed')).status).toBe(200);
    expect((await acquire('w2', 'windowed')).status).toBe(412);
    const cleared = await s.asAdmin('PUT', '/api/dlmlocks/windowed', { body: { windows: null } });
    expect(cleared.json.windows).toEqual([]);
    expect((await acquire('w2', 'windowed')).status).toBe(200);
  });

  it('keeps calendar windows (n-th weekday, days of the month) and names their next opening', async () => {
    const now = new Date();
    // a day of the month that is neither today nor tomorrow (UTC), so the lock is closed now
    const day = ((now.getUTCDate() + 2) % 28) + 1;
    const monthly = { days_of_month: [day], start: '00:00', duration_minutes: 60, time_zone: 'UTC' };
    // the first such weekday of a month: never today's weekday, so closed now
    const nth = {
      nth_weekday: { nth: 1, day: DAYS[(now.getUTCDay() + 3) % 7]! },
      start: '03:00',
      duration_minutes: 60,
      time_zone: 'Europe/Berlin',
    };
    const c = await s.asAdmin('POST', '/api/dlmlocks', {
      body: { name: 'monthly', windows: [monthly, nth] },
    });
    expect(c.status).toBe(201);
    expect(c.json.windows).toEqual([monthly, nth]);
    const r = await acquire('m1', 'monthly');
    expect(r.status).toBe(412);
    expect(r.headers['x-lock-reason']).toBe('outside_window');
    expect(r.headers['x-lock-next-window']).toMatch(/^\d{4}-\d\d-\d\d \d\d:00:00 UTC$/);
    const bad = await s.asAdmin('PUT', '/api/dlmlocks/monthly', {
      body: { windows: [{ ...nth, nth_weekday: { nth: 5, day: 'sun' } }] },
    });
    expect(bad.status).toBe(422);
    expect(bad.json.error.errors.windows[0]).toMatch(/nth_weekday must be/);
    expect((await s.asAdmin('GET', '/api/dlmlocks/monthly')).json.windows).toEqual([monthly, nth]);
  });

  it.each([
    [{ windows: 'sundays' }],
    [{ windows: [{ days: ['sun'], start: '2am', duration_minutes: 60, time_zone: 'UTC' }] }],
    [{ windows: [{ days: ['sun'], start: '02:00', duration_minutes: 60, time_zone: 'Nowhere/Special' }] }],
    [{ max_holders: 0 }],
    [{ lease_seconds: 0 }],
  ])('rejects bad extension values %o with 422', async (attrs) => {
    const r = await s.asAdmin('POST', '/api/dlmlocks', {
      body: { name: `bad-${JSON.stringify(attrs).length}`, ...attrs },
    });
    expect(r.status).toBe(422);
    expect(Object.keys(r.json.error.errors)).toEqual([Object.keys(attrs)[0]]);
  });
});
