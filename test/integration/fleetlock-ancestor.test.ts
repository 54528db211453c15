// FleetLock and the calendar: a pause, a blackout or a closed maintenance window answers with a
// kind of its own (`paused`, `blackout`, `outside_window`) and says when new holders may come in,
// whether it is the group's lock's or a lock's above it (its text then names the level); any
// other refusal higher up stays `failed_lock`. Both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

const DAY = 86_400_000;
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const rendered = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
const fleetHeaders = { 'fleet-lock-protocol': 'true' };

describe.each(STORES)('FleetLock answers a calendar refusal, own or above, with its kind on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  const create = async (name: string, attrs: Record<string, unknown> = {}) => {
    const r = await s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name, ...attrs } } });
    expect(r.status, r.text).toBe(201);
  };
  const preReboot = (group: string, id: string) =>
    s.request('POST', '/v1/pre-reboot', {
      body: { client_params: { id, group } },
      headers: fleetHeaders,
    });
  const startOfTodayUtc = () => {
    const now = new Date();
    return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  };

  it('paused@level: kind paused, the level, its reason and when it opens', async () => {
    const until = Date.now() + 3_600_000;
    await create('dc-paused', {
      paused_until: new Date(until).toISOString(),
      pause_reason: 'core switch swap',
    });
    await create('fleetlock-workers', { parent: 'dc-paused' });
    const r = await preReboot('workers', 'node-p1');
    expect(r.status).toBe(409);
    expect(r.json).toEqual({
      kind: 'paused',
      value: `lock dc-paused above fleetlock-workers is paused (core switch swap); new holders from ${rendered(until)}`,
    });
  });

  it('blackout@level: kind blackout, the level and when it opens', async () => {
    const today = new Date(startOfTodayUtc()).toISOString().slice(0, 10);
    await create('dc-frozen', { blackouts: [{ from: today, to: today, time_zone: 'UTC' }] });
    await create('fleetlock-db', { parent: 'dc-frozen' });
    const r = await preReboot('db', 'node-b1');
    expect(r.status).toBe(409);
    expect(r.json).toEqual({
      kind: 'blackout',
      value: `lock dc-frozen above fleetlock-db is in a blackout; new holders from ${rendered(startOfTodayUtc() + DAY)}`,
    });
  });

  /** a window that opens tomorrow at 00:00 UTC for an hour: closed now, whatever the time */
  const tomorrowsWindow = () => ({
    days: [DAYS[(new Date().getUTCDay() + 1) % 7]!],
    start: '00:00',
    duration_minutes: 60,
    time_zone: 'UTC',
  });

  it("outside_window: kind outside_window and when the lock's next window opens", async () => {
    await create('fleetlock-nightly', { windows: [tomorrowsWindow()] });
    const r = await preReboot('nightly', 'node-n1');
    expect(r.status).toBe(409);
    expect(r.json).toEqual({
      kind: 'outside_window',
      value: `lock fleetlock-nightly is outside its maintenance windows; new holders from ${rendered(startOfTodayUtc() + DAY)}`,
    });
  });

  it('outside_window@level: kind outside_window, the level and when its window opens', async () => {
    await create('dc-nightly', { windows: [tomorrowsWindow()] });
    await create('fleetlock-cache', { parent: 'dc-nightly' });
    const r = await preReboot('cache', 'node-c1');
    expect(r.status).toBe(409);
    expect(r.json).toEqual({
      kind: 'outside_window',
      value: `lock dc-nightly above fleetlock-cache is outside its maintenance windows; new holders from ${rendered(startOfTodayUtc() + DAY)}`,
    });
  });

  it('another refusal higher up stays failed_lock', async () => {
    await create('dc-small', { max_holders: 1 });
    await create('fleetlock-web', { parent: 'dc-small', max_holders: 2 });
    expect((await s.asHost('holder-1', 'PUT', '/api/dlmlocks/dc-small/lock')).status).toBe(200);
    const r = await preReboot('web', 'node-w1');
    expect(r.status).toBe(409);
    expect(r.json.kind).toBe('failed_lock');
    expect(r.json.value).toMatch(/^lock dc-small above fleetlock-web cannot be taken \(\w+@dc-small\)$/);
  });
});
