// The overview counters that act as filters of the locks list, on both stores: `waiting = true`
// (a blocking acquire is queued) and `window = closed` (the lock's windows are all closed now,
// counted as outside_window), and a lock's events filtered by type and host on the server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

const EVERY_DAY = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

/** HH:MM in UTC, `minutes` from now */
function utcTime(minutes: number): string {
  return new Date(Date.now() + minutes * 60_000).toISOString().slice(11, 16);
}

describe.each(STORES)('overview filters on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(async () => {
    await s?.close();
  });

  const names = async (search: string) => {
    const r = await s.asAdmin('GET', `/api/dlmlocks?search=${encodeURIComponent(search)}`);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    return (r.json.results as { name: string }[]).map((l) => l.name).sort();
  };
  const overview = async () => (await s.asAdmin('GET', '/api/overview')).json;

  it('finds the locks with a queued blocking acquire with `waiting = true`, as counted', async () => {
    expect((await s.asHost('wf-1', 'PUT', '/api/dlmlocks/wf-queued/lock')).status).toBe(200);
    expect((await s.asHost('wf-1', 'PUT', '/api/dlmlocks/wf-idle/lock')).status).toBe(200);
    const queued = s.asHost('wf-2', 'PUT', '/api/dlmlocks/wf-queued/lock?wait=20');
    await expect.poll(() => names('waiting = true'), { timeout: 5000 }).toEqual(['wf-queued']);
    expect((await overview()).waiting).toBe(1);
    expect(await names('name ~ wf- and waiting = false')).toEqual(['wf-idle']);
    expect(await names('name ~ wf- and not waiting = true')).toEqual(['wf-idle']);
    // the release admits the waiter: nobody waits any more
    expect((await s.asHost('wf-1', 'DELETE', '/api/dlmlocks/wf-queued/lock')).status).toBe(200);
    expect((await queued).status).toBe(200);
    expect(await names('waiting = true')).toEqual([]);
    expect((await overview()).waiting).toBe(0);
  });

  it('finds the locks outside their windows with `window = closed`, as counted', async () => {
    const before = (await overview()).outside_window;
    expect(before).toBe(0);
    const window = (start: string, duration: number) => [
      { days: EVERY_DAY, start, duration_minutes: duration, time_zone: 'UTC' },
    ];
    for (const [name, windows] of [
      // opened 5 minutes ago for an hour
      ['win-open', window(utcTime(-5), 60)],
      // opens in two hours for half an hour (yesterday's opening ended long ago)
      ['win-closed', window(utcTime(120), 30)],
      ['win-none', null],
    ] as const) {
      const r = await s.asAdmin('POST', '/api/dlmlocks', { body: { name, windows } });
      expect(r.status, JSON.stringify(r.json)).toBe(201);
    }
    expect((await overview()).outside_window).toBe(1);
    expect(await names('window = closed')).toEqual(['win-closed']);
    expect(await names('name ~ win- and window = open')).toEqual(['win-none', 'win-open']);
    expect(await names('name ~ win- and window != closed')).toEqual(['win-none', 'win-open']);
    expect(await names('window = closed or name = win-none')).toEqual(['win-closed', 'win-none']);
    // refused for the same reason the counter counts it
    expect((await s.asHost('wf-3', 'PUT', '/api/dlmlocks/win-closed/lock')).status).toBe(412);
    // a paused lock and one in a blackout today are refused by the calendar too: counted
    const inAnHour = new Date(Date.now() + 3_600_000).toISOString();
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    for (const [name, body] of [
      ['win-paused', { paused_until: inAnHour, pause_reason: 'storage' }],
      [
        'win-blackout',
        { blackouts: [{ from: yesterday, to: tomorrow, time_zone: 'UTC', reason: 'freeze' }] },
      ],
    ] as const) {
      const r = await s.asAdmin('POST', '/api/dlmlocks', { body: { name, ...body } });
      expect(r.status, JSON.stringify(r.json)).toBe(201);
    }
    expect((await overview()).outside_window).toBe(3);
    expect(await names('window = closed')).toEqual(['win-blackout', 'win-closed', 'win-paused']);
    // the global pause refuses every lock: all are outside
    const pause = await s.asAdmin('PUT', '/api/pause', {
      body: { paused_until: inAnHour, pause_reason: 'INC-1' },
    });
    expect(pause.status, JSON.stringify(pause.json)).toBe(200);
    const everyLock = (await s.asAdmin('GET', '/api/overview')).json.locks;
    expect((await overview()).outside_window).toBe(everyLock);
    expect(await names('name ~ win- and window = open')).toEqual([]);
    expect((await s.asAdmin('DELETE', '/api/pause')).status).toBeLessThan(300);
    expect((await overview()).outside_window).toBe(3);
    const bad = await s.asAdmin('GET', `/api/dlmlocks?search=${encodeURIComponent('window = shut')}`);
    expect(bad.status).toBe(422);
    expect(bad.json.error.message).toMatch(/'window' must be closed or open, not 'shut'/);
    const hosts = await s.asAdmin('GET', `/api/hosts?search=${encodeURIComponent('waiting = true')}`);
    expect(hosts.status).toBe(422);
  });

  it('finds the locks whose health gate failed with `gate = failing`, as counted', async () => {
    expect((await overview()).gate_failing).toBe(0);
    // nothing listens on port 9: the gate's check fails
    const gates = [{ name: 'api-up', type: 'http', url: 'http://127.0.0.1:9/health', timeout_seconds: 1 }];
    for (const name of ['gate-down', 'gate-unchecked']) {
      const r = await s.asAdmin('POST', '/api/dlmlocks', { body: { name, gates } });
      expect(r.status, JSON.stringify(r.json)).toBe(201);
    }
    const refused = await s.asHost('gf-1', 'PUT', '/api/dlmlocks/gate-down/lock');
    expect(refused.status).toBe(412);
    expect(refused.headers['x-lock-reason']).toBe('gate_failed');
    expect((await overview()).gate_failing).toBe(1);
    expect(await names('gate = failing')).toEqual(['gate-down']);
    expect(await names('name ~ gate- and gate != failing')).toEqual(['gate-unchecked']);
    // without gates the lock no longer counts, whatever its last check said
    expect((await s.asAdmin('PUT', '/api/dlmlocks/gate-down', { body: { gates: [] } })).status).toBe(200);
    expect((await overview()).gate_failing).toBe(0);
    expect(await names('gate = failing')).toEqual([]);
  });

  it("filters a lock's events by type and host on the server, paged", async () => {
    const lock = 'ev-filter';
    for (const host of ['ev-a', 'ev-b', 'ev-a', 'ev-b']) {
      await s.asHost(host, 'PUT', `/api/dlmlocks/${lock}/lock`);
      await s.asHost(host, 'DELETE', `/api/dlmlocks/${lock}/lock`);
    }
    // one refusal: ev-a holds, ev-b is refused
    await s.asHost('ev-a', 'PUT', `/api/dlmlocks/${lock}/lock`);
    await s.asHost('ev-b', 'PUT', `/api/dlmlocks/${lock}/lock`);
    const events = async (q: string) => s.asAdmin('GET', `/api/dlmlocks/${lock}/dlmlock_events?${q}`);

    const all = await events('');
    // create (by the first acquire), 4 acquires and releases, one more acquire, one fail
    expect(all.json.total).toBe(all.json.subtotal);
    const acquires = await events('type=acquire&per_page=2');
    expect(acquires.status).toBe(200);
    expect(acquires.json.total).toBe(all.json.total);
    expect(acquires.json.subtotal).toBe(5);
    expect(acquires.json.results).toHaveLength(2);
    expect(acquires.json.results.every((e: { event_type: string }) => e.event_type === 'acquire')).toBe(true);
    const page3 = await events('type=acquire&per_page=2&page=3');
    expect(page3.json.results).toHaveLength(1);

    const ofB = await events('host=ev-b&type=acquire,fail');
    expect(ofB.json.subtotal).toBe(3);
    expect(ofB.json.results.map((e: { event_type: string }) => e.event_type)).toEqual([
      'fail',
      'acquire',
      'acquire',
    ]);
    expect(ofB.json.results.every((e: { host: { name: string } }) => e.host.name === 'ev-b')).toBe(true);
    expect((await events('host=nobody')).json).toMatchObject({ subtotal: 0, results: [] });

    const badType = await events('type=acquire,reboot');
    expect(badType.status).toBe(422);
    expect(badType.json.error.errors.type[0]).toMatch(/unknown event types \(reboot\)/);
    expect((await events('type=acquire&type=fail')).status).toBeGreaterThanOrEqual(400);
    expect((await events('type=acquire&type=fail')).status).toBeLessThan(500);
    expect((await events(`host=${encodeURIComponent('a b')}`)).status).toBe(422);
    expect((await events(`host=${'h'.repeat(300)}`)).status).toBe(422);
    expect((await s.asAdmin('GET', '/api/dlmlocks/no-such-lock/dlmlock_events?type=acquire')).status).toBe(
      404,
    );
  });
});
