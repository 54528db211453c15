// Every level of a nested lock applies its own rollout rules (issue 11: "one host per cluster,
// at most 10 % of the data centre, nothing while the data centre's alerts fire"): an ancestor's
// health gate and an ancestor's percentage limit refuse a child's acquire, named by the level,
// and the global pause holds children as well. On every store, with a real local health endpoint.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateUpstreams, type GateUpstreams } from '../support/gate-upstreams.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

const FOREMAN_412 = (id: number) =>
  `{"error":{"id":${id},"message":"Precondition failed. Lock is in invalid state for this operation."}}`;

describe.each(STORES)('rollout rules at every level on %s', (kind) => {
  let s: TestServer;
  let up: GateUpstreams;

  beforeAll(async () => {
    up = await startGateUpstreams();
    s = await startTestServer(kind);
  });
  afterAll(async () => {
    await s?.close();
    await up?.close();
  });

  const acquire = (host: string, lock: string) => s.asHost(host, 'PUT', `/api/dlmlocks/${lock}/lock`);
  const release = (host: string, lock: string) => s.asHost(host, 'DELETE', `/api/dlmlocks/${lock}/lock`);
  const create = (dlmlock: Record<string, unknown>) =>
    s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock } });
  const holdersOf = async (lock: string) =>
    ((await s.asAdmin('GET', `/api/dlmlocks/${lock}`)).json.holders as { name: string }[]).map((h) => h.name);

  it("an ancestor's failing gate refuses the child's acquire, naming the level and the gate", async () => {
    up.health = { status: 503, body: 'down', delayMs: 0 };
    const dc = await create({
      name: 'gated-dc',
      max_holders: 5,
      gates: [{ name: 'dc-health', type: 'http', url: `${up.url}/health`, cache_seconds: 0 }],
    });
    expect(dc.status).toBe(201);
    const child = await create({ name: 'gated-cluster', parent: 'gated-dc' });
    expect(child.status).toBe(201);

    const refused = await acquire('lv-a', 'gated-cluster');
    expect(refused.status).toBe(412);
    expect(refused.text).toBe(FOREMAN_412(child.json.id));
    expect(refused.headers['x-lock-reason']).toBe('gate_failed@gated-dc');
    expect(refused.headers['x-lock-gate']).toBe('dc-health: HTTP 503');
    expect(await holdersOf('gated-cluster')).toEqual([]);
    expect(await holdersOf('gated-dc')).toEqual([]);

    up.health = { status: 200, body: 'ok', delayMs: 0 };
    expect((await acquire('lv-a', 'gated-cluster')).status).toBe(200);
    expect(await holdersOf('gated-dc')).toEqual(['lv-a']);
    // the holder's refresh is never refused by a gate, at any level
    up.health = { status: 503, body: 'down', delayMs: 0 };
    expect((await acquire('lv-a', 'gated-cluster')).status).toBe(200);
    expect((await release('lv-a', 'gated-cluster')).status).toBe(200);
    expect(await holdersOf('gated-dc')).toEqual([]);
  });

  it("an ancestor's percentage limit counts that ancestor's members", async () => {
    expect((await create({ name: 'pct-dc', max_holders: '50%' })).status).toBe(201);
    const hosts = ['pc-1', 'pc-2', 'pc-3', 'pc-4'];
    for (const [i, host] of hosts.entries()) {
      expect((await create({ name: `pct-cluster-${i}`, parent: 'pct-dc' })).status).toBe(201);
      // the host must exist before an operator can make it a member
      expect((await s.asHost(host, 'GET', '/api/dlmlocks/pct-dc/lock')).status).toBe(200);
      expect((await s.asAdmin('PUT', `/api/dlmlocks/pct-dc/members/${host}`)).status).toBe(200);
    }
    // 50 % of 4 members: two at once in the data centre, each in its own cluster
    expect((await acquire('pc-1', 'pct-cluster-0')).status).toBe(200);
    expect((await acquire('pc-2', 'pct-cluster-1')).status).toBe(200);
    const third = await acquire('pc-3', 'pct-cluster-2');
    expect(third.status).toBe(412);
    expect(third.headers['x-lock-reason']).toBe('full@pct-dc');
    expect(await holdersOf('pct-cluster-2')).toEqual([]);
    expect((await release('pc-1', 'pct-cluster-0')).status).toBe(200);
    expect((await acquire('pc-3', 'pct-cluster-2')).status).toBe(200);
    expect((await holdersOf('pct-dc')).sort()).toEqual(['pc-2', 'pc-3']);
  });

  it('the global pause holds a child like any lock; its holders keep refreshing', async () => {
    expect((await create({ name: 'pause-dc', max_holders: 3 })).status).toBe(201);
    expect((await create({ name: 'pause-cluster', parent: 'pause-dc', max_holders: 2 })).status).toBe(201);
    expect((await acquire('pz-1', 'pause-cluster')).status).toBe(200);
    const until = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    const paused = await s.asAdmin('PUT', '/api/pause', {
      body: { paused_until: until, pause_reason: 'levels' },
    });
    expect(paused.status).toBe(200);
    try {
      const refused = await acquire('pz-2', 'pause-cluster');
      expect(refused.status).toBe(412);
      expect(refused.headers['x-lock-reason']).toBe('paused');
      expect((await acquire('pz-1', 'pause-cluster')).status).toBe(200);
    } finally {
      expect((await s.asAdmin('DELETE', '/api/pause')).status).toBe(200);
    }
    expect((await acquire('pz-2', 'pause-cluster')).status).toBe(200);
    expect((await holdersOf('pause-dc')).sort()).toEqual(['pz-1', 'pz-2']);
  });
});
