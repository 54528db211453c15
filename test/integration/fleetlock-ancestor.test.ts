// FleetLock and nested locks: a pause or a blackout of a lock above the group's lock answers
// with the same kind as one of the group's lock itself (`paused`, `blackout`), its text naming
// the level and when it opens; any other refusal higher up stays `failed_lock`. Both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

const DAY = 86_400_000;
const rendered = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
const fleetHeaders = { 'fleet-lock-protocol': 'true' };

describe.each(STORES)("FleetLock answers an ancestor's pause or blackout with its kind on %s", (kind) => {
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
