// GET /api/overview on both stores: the counts the UI's counters filter by, and acquisitions
// and refusals per hour (a refused acquire is a `fail` event).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

describe.each(STORES)('the overview on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind, { locks: { staleAfterSeconds: 1 } });
  });
  afterAll(async () => {
    await s?.close();
  });

  it('counts held, stale, disabled locks and recent hosts, and charts the last hours', async () => {
    expect((await s.asHost('ov-1', 'PUT', '/api/dlmlocks/ov-held/lock')).status).toBe(200);
    expect((await s.asHost('ov-2', 'PUT', '/api/dlmlocks/ov-held/lock')).status).toBe(412);
    expect(
      (await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'ov-off', enabled: false } })).status,
    ).toBe(201);
    await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'ov-free' } });
    // past stale_after (1 s) the holder of ov-held is stale
    await new Promise((r) => setTimeout(r, 1200));
    const r = await s.asAdmin('GET', '/api/overview?days=2');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ locks: 3, held: 1, stale: 1, waiting: 0, disabled: 1, hosts: 2 });
    expect(r.json.hosts_checked_in_24h).toBe(2);
    expect(r.json.activity).toHaveLength(48);
    type Hour = { hour: string; acquisitions: number; refusals: number };
    const hours: Hour[] = r.json.activity;
    // the test may straddle an hour boundary: the last two hours together
    const sum = (key: 'acquisitions' | 'refusals', list: Hour[]) => list.reduce((n, h) => n + h[key], 0);
    expect(sum('acquisitions', hours.slice(-2))).toBe(1);
    expect(sum('refusals', hours.slice(-2))).toBe(1);
    expect(sum('acquisitions', hours.slice(0, -2))).toBe(0);
    expect(hours.at(-1)!.hour).toMatch(/^\d{4}-\d\d-\d\d \d\d:00:00 UTC$/);
    expect((await s.asAdmin('GET', '/api/overview?days=99')).status).toBe(422);
  });

  it("lists a host's events across locks, newest first", async () => {
    const r = await s.asAdmin('GET', '/api/hosts/ov-2/events');
    expect(r.status).toBe(200);
    expect(r.json.total).toBe(1);
    expect(r.json.results[0]).toMatchObject({
      event_type: 'fail',
      lock: { name: 'ov-held' },
      host: { name: 'ov-2' },
    });
  });

  it('orders locks by held_since: stale first, then the longest held, free locks last', async () => {
    expect((await s.asHost('ov-3', 'PUT', '/api/dlmlocks/ov-fresh/lock')).status).toBe(200);
    expect((await s.asHost('ov-4', 'PUT', '/api/dlmlocks/ov-fresher/lock')).status).toBe(200);
    const names = async (order: string) =>
      (await s.asAdmin('GET', `/api/dlmlocks?order=${encodeURIComponent(order)}`)).json.results.map(
        (l: { name: string }) => l.name,
      );
    expect(await names('held_since')).toEqual(['ov-held', 'ov-fresh', 'ov-fresher', 'ov-free', 'ov-off']);
    expect(await names('held_since DESC')).toEqual([
      'ov-off',
      'ov-free',
      'ov-fresher',
      'ov-fresh',
      'ov-held',
    ]);
  });
});
