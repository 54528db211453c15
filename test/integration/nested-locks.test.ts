// Nested locks (issue 11): a holder of a child also holds a slot in every ancestor, all or
// nothing, released together; every level's rules apply and a refusal above names its level.
// Over real HTTPS on both stores; the invariant is checked at every level after every step.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { untilWaiters } from '../support/db-sql.js';

interface HolderJson {
  name: string;
  via?: string;
  fencing_token: number;
  expires_at: string | null;
}
interface LockJson {
  name: string;
  max_holders: number;
  parent: string | null;
  children: string[];
  holders: HolderJson[];
  fencing_counter: number;
}

describe.each(STORES)('nested locks on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  const enc = encodeURIComponent;
  async function create(name: string, attrs: Record<string, unknown> = {}) {
    const r = await s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name, ...attrs } } });
    expect(r.status, r.text).toBe(201);
    return r.json as LockJson;
  }
  async function show(name: string): Promise<LockJson> {
    const r = await s.asAdmin('GET', `/api/dlmlocks/${enc(name)}`);
    expect(r.status, r.text).toBe(200);
    return r.json as LockJson;
  }
  const acquire = (host: string, lock: string) => s.asHost(host, 'PUT', `/api/dlmlocks/${enc(lock)}/lock`);
  const release = (host: string, lock: string) => s.asHost(host, 'DELETE', `/api/dlmlocks/${enc(lock)}/lock`);
  const holders = async (lock: string) => (await show(lock)).holders.map((h) => h.name).sort();

  it('a three-level tree under concurrent acquires and releases keeps every level within its limits, all or nothing', async () => {
    // G: at most 2 hosts of the data centre; P0..P2: one host per cluster; one leaf per host
    const G = `dc-${kind}`;
    await create(G, { max_holders: 2 });
    const clusters = [0, 1, 2].map((c) => `cluster${c}-${kind}`);
    for (const p of clusters) await create(p, { parent: G });
    const hosts = Array.from({ length: 9 }, (_, i) => ({
      name: `n${i}-${kind}`,
      cluster: clusters[i % 3]!,
      leaf: `update-n${i}-${kind}`,
    }));
    for (const h of hosts) await create(h.leaf, { parent: h.cluster });
    expect((await show(G)).children).toEqual([...clusters].sort());
    expect((await show(hosts[0]!.leaf)).parent).toBe(hosts[0]!.cluster);

    const holding = new Set<string>();
    async function checkInvariant() {
      // every level from one read (the list), so the levels are compared at one moment
      const list = await s.asAdmin('GET', `/api/dlmlocks?per_page=100&search=${enc(`name ~ ${kind}`)}`);
      const byName = new Map((list.json.results as LockJson[]).map((l) => [l.name, l]));
      const show = async (name: string) => byName.get(name)!;
      const g = await show(G);
      expect(g.holders.length).toBeLessThanOrEqual(2);
      for (const p of clusters) {
        const cluster = await show(p);
        expect(cluster.holders.length).toBeLessThanOrEqual(1);
        for (const h of cluster.holders) {
          expect(h.via).toBeTruthy();
          expect(g.holders.some((x) => x.name === h.name && x.via === p)).toBe(true);
        }
      }
      for (const h of hosts) {
        const leaf = await show(h.leaf);
        const holdsLeaf = leaf.holders.some((x) => x.name === h.name);
        const cluster = await show(h.cluster);
        // a host holds its leaf iff it holds the via-slots in its cluster and in the data centre
        expect(cluster.holders.some((x) => x.name === h.name && x.via === h.leaf)).toBe(holdsLeaf);
        expect(g.holders.some((x) => x.name === h.name && x.via === h.cluster)).toBe(holdsLeaf);
        expect(holding.has(h.name)).toBe(holdsLeaf);
      }
    }

    for (let round = 0; round < 6; round++) {
      // everyone not holding tries at once
      const trying = hosts.filter((h) => !holding.has(h.name));
      const answers = await Promise.all(trying.map((h) => acquire(h.name, h.leaf)));
      answers.forEach((r, i) => {
        const h = trying[i]!;
        if (r.status === 200) holding.add(h.name);
        else {
          expect(r.status, r.text).toBe(412);
          // the foreman_dlm body, byte for byte; the reason names the level that refused
          expect(r.text).toMatch(
            /^\{"error":\{"id":\d+,"message":"Precondition failed\. Lock is in invalid state for this operation\."\}\}$/,
          );
          expect([`held@${h.cluster}`, `full@${G}`]).toContain(r.headers['x-lock-reason']);
        }
      });
      expect(holding.size).toBe(2);
      await checkInvariant();
      // one holder releases its leaf: its cluster and data-centre slots go with it
      const leaving = hosts.find((h) => holding.has(h.name))!;
      expect((await release(leaving.name, leaving.leaf)).status).toBe(200);
      holding.delete(leaving.name);
      await checkInvariant();
    }
    for (const h of hosts.filter((x) => holding.has(x.name))) {
      expect((await release(h.name, h.leaf)).status).toBe(200);
    }
    holding.clear();
    await checkInvariant();
    expect(await holders(G)).toEqual([]);
    // the data centre's counter bumped for each host it admitted: 2 in the first round, then 1 a round
    expect((await show(G)).fencing_counter).toBe(7);
  });

  it('events at every level; refresh of the child refreshes the ancestors; a via slot cannot be released directly', async () => {
    const G = `g2-${kind}`;
    const P = `p2-${kind}`;
    const C = `c2-${kind}`;
    const host = `e-${kind}`;
    await create(G);
    await create(P, { parent: G });
    await create(C, { parent: P });
    const first = await acquire(host, C);
    expect(first.status, first.text).toBe(200);
    expect(first.json.parent).toBe(P);
    const acquireEvents = async (lock: string) => {
      const r = await s.asAdmin('GET', `/api/dlmlocks/${enc(lock)}/dlmlock_events`);
      return (r.json.results as { event_type: string; detail: string | null }[]).filter(
        (e) => e.event_type === 'acquire' || e.event_type === 'release',
      );
    };
    expect(await acquireEvents(G)).toEqual([
      expect.objectContaining({ event_type: 'acquire', detail: `via ${C}` }),
    ]);
    expect(await acquireEvents(P)).toEqual([
      expect.objectContaining({ event_type: 'acquire', detail: `via ${C}` }),
    ]);
    // the refresh: idempotent at every level, no new tokens
    expect((await acquire(host, C)).status).toBe(200);
    expect((await show(G)).fencing_counter).toBe(1);
    // the parent slot was taken via the child: releasing it directly is refused
    const direct = await release(host, P);
    expect(direct.status).toBe(412);
    expect(direct.headers['x-lock-reason']).toBe('held');
    expect(await holders(P)).toEqual([host]);
    // a direct acquire of the parent by the same host is a refresh of its slot
    expect((await acquire(host, P)).status).toBe(200);
    expect((await show(P)).holders[0]!.via).toBe(C);
    expect((await release(host, C)).status).toBe(200);
    expect(await holders(P)).toEqual([]);
    expect(await holders(G)).toEqual([]);
    expect((await acquireEvents(G))[0]).toEqual(
      expect.objectContaining({ event_type: 'release', detail: `via ${C}` }),
    );
  });

  it('two children of one parent share the parent slot, released with the last of them', async () => {
    const P = `shared-${kind}`;
    await create(P);
    await create(`${P}-a`, { parent: P });
    await create(`${P}-b`, { parent: P });
    const host = `sh-${kind}`;
    expect((await acquire(host, `${P}-a`)).status).toBe(200);
    expect((await acquire(host, `${P}-b`)).status).toBe(200);
    expect((await show(P)).holders).toHaveLength(1);
    expect((await show(P)).fencing_counter).toBe(1);
    expect((await release(host, `${P}-a`)).status).toBe(200);
    expect((await show(P)).holders).toEqual([expect.objectContaining({ name: host, via: `${P}-b` })]);
    expect((await release(host, `${P}-b`)).status).toBe(200);
    expect(await holders(P)).toEqual([]);
  });

  it('a disabled ancestor refuses, naming itself; the lock itself is untouched', async () => {
    const P = `off-${kind}`;
    await create(P, { enabled: false });
    await create(`${P}-c`, { parent: P });
    const r = await acquire(`off-host-${kind}`, `${P}-c`);
    expect(r.status).toBe(412);
    expect(r.headers['x-lock-reason']).toBe(`disabled@${P}`);
    expect(await holders(`${P}-c`)).toEqual([]);
  });

  it('parent validation: missing, cycles, depth; deletion of a parent is refused; a held lock keeps its parent', async () => {
    const root = `v0-${kind}`;
    await create(root);
    const missing = await s.asAdmin('POST', '/api/dlmlocks', {
      body: { name: `vx-${kind}`, parent: 'no-such-lock' },
    });
    expect(missing.status).toBe(422);
    expect(missing.json.error.errors.parent).toBeDefined();
    let prev = root;
    for (let i = 1; i < 8; i++) {
      await create(`v${i}-${kind}`, { parent: prev });
      prev = `v${i}-${kind}`;
    }
    // the ninth level is one too deep
    const deep = await s.asAdmin('POST', '/api/dlmlocks', { body: { name: `v8-${kind}`, parent: prev } });
    expect(deep.status, deep.text).toBe(422);
    // the root under its own descendant: a cycle
    const cycle = await s.asAdmin('PUT', `/api/dlmlocks/${enc(root)}`, { body: { parent: `v3-${kind}` } });
    expect(cycle.status, cycle.text).toBe(422);
    expect(cycle.json.error.errors.parent[0]).toMatch(/cycle/);
    const self = await s.asAdmin('PUT', `/api/dlmlocks/${enc(root)}`, { body: { parent: root } });
    expect(self.status).toBe(422);
    // a lock with children cannot be deleted
    const del = await s.asAdmin('DELETE', `/api/dlmlocks/${enc(`v6-${kind}`)}`);
    expect(del.status, del.text).toBe(422);
    // detach the leaf, then the former parent goes
    const detach = await s.asAdmin('PUT', `/api/dlmlocks/${enc(`v7-${kind}`)}`, { body: { parent: null } });
    expect(detach.status, detach.text).toBe(200);
    expect(detach.json.parent).toBeNull();
    expect((await s.asAdmin('DELETE', `/api/dlmlocks/${enc(`v6-${kind}`)}`)).status).toBe(200);
    // a held lock's parent cannot change (its holders hold no slots in the new chain)
    expect((await acquire(`vh-${kind}`, `v7-${kind}`)).status).toBe(200);
    const moving = await s.asAdmin('PUT', `/api/dlmlocks/${enc(`v7-${kind}`)}`, { body: { parent: root } });
    expect(moving.status).toBe(422);
    // host_id on a nested lock is refused (hosts take nested locks by acquiring them)
    const child = await s.asAdmin('PUT', `/api/dlmlocks/${enc(`v2-${kind}`)}`, { body: { host_id: null } });
    expect(child.status).toBe(422);
  });

  it('operator force release: of the child frees the chain; of an ancestor slot taken via a child frees the chain too', async () => {
    const G = `fg-${kind}`;
    const P = `fp-${kind}`;
    const C = `fc-${kind}`;
    await create(G, { max_holders: 5 });
    await create(P, { parent: G, max_holders: 5 });
    await create(C, { parent: P, max_holders: 5 });
    const [a, b] = [`fa-${kind}`, `fb-${kind}`];
    expect((await acquire(a, C)).status).toBe(200);
    expect((await acquire(b, C)).status).toBe(200);
    const r1 = await s.asAdmin('POST', `/api/dlmlocks/${enc(C)}/release`, {
      body: { host: a, reason: 'stuck' },
    });
    expect(r1.status, r1.text).toBe(200);
    expect(await holders(G)).toEqual([b]);
    const r2 = await s.asAdmin('POST', `/api/dlmlocks/${enc(G)}/release`, {
      body: { host: b, reason: 'stuck' },
    });
    expect(r2.status, r2.text).toBe(200);
    expect(await holders(C)).toEqual([]);
    expect(await holders(P)).toEqual([]);
    expect(await holders(G)).toEqual([]);
  });

  it('lease expiry of the child frees the ancestors too', async () => {
    const P = `lp-${kind}`;
    const C = `lc-${kind}`;
    await create(P);
    await create(C, { parent: P, lease_seconds: 1 });
    expect((await acquire(`la-${kind}`, C)).status).toBe(200);
    expect((await show(P)).holders[0]!.expires_at).toBeNull();
    // past the lease, the next acquire of the child by another host finds the chain free
    await new Promise((r) => setTimeout(r, 1100));
    const next = await acquire(`lb-${kind}`, C);
    expect(next.status, next.text).toBe(200);
    expect(await holders(P)).toEqual([`lb-${kind}`]);
  });

  it('export and import keep the tree and the via slots (a child older than its parent too)', async () => {
    const child = `old-child-${kind}`;
    const parent = `young-parent-${kind}`;
    await create(child);
    await create(parent);
    expect((await s.asAdmin('PUT', `/api/dlmlocks/${enc(child)}`, { body: { parent } })).status).toBe(200);
    expect((await acquire(`bk-${kind}`, child)).status).toBe(200);
    const source = s.db.open();
    const doc = await source.exportData();
    await source.close();
    const target = await createTestDatabase(kind);
    const restored = target.open();
    try {
      await restored.migrate();
      await restored.importData(doc);
      expect((await restored.getLock(child))?.parent).toBe(parent);
      expect((await restored.getLock(parent))?.holders).toEqual([
        expect.objectContaining({ hostName: `bk-${kind}`, viaLockName: child, expiresAt: null }),
      ]);
    } finally {
      await restored.close();
      await target.dispose();
    }
  });

  it.runIf(kind === 'postgres')(
    "PostgreSQL's server-side host rule hands a child and a parent to the general path, and takes a lone lock",
    async () => {
      await create(`fast-parent-${kind}`);
      await create(`fast-child-${kind}`, { parent: `fast-parent-${kind}` });
      await create(`fast-alone-${kind}`);
      expect((await acquire(`fast-host-${kind}`, `fast-alone-${kind}`)).status).toBe(200); // registers the host
      const client = new pg.Client({ connectionString: s.db.url });
      await client.connect();
      try {
        const rule = async (lock: string) =>
          (
            await client.query<{ out: unknown }>(
              "SELECT keyholder_host_rule('acquire', $1, NULL, $2) AS out",
              [lock, `fast-host-${kind}`],
            )
          ).rows[0]!.out;
        expect(await rule(`fast-child-${kind}`)).toBeNull();
        expect(await rule(`fast-parent-${kind}`)).toBeNull();
        expect(await rule(`fast-alone-${kind}`)).toEqual(expect.objectContaining({ outcome: 'refreshed' }));
      } finally {
        await client.end();
      }
      // nothing was written at either nested level by the fast path
      expect(await holders(`fast-child-${kind}`)).toEqual([]);
      expect(await holders(`fast-parent-${kind}`)).toEqual([]);
    },
  );

  it('a blocking acquire of a child waits while the parent is full and gets in when it frees', async () => {
    const P = `wp-${kind}`;
    await create(P);
    await create(`${P}-a`, { parent: P });
    await create(`${P}-b`, { parent: P });
    expect((await acquire(`wa-${kind}`, `${P}-a`)).status).toBe(200);
    const waiting = s.asHost(`wb-${kind}`, 'PUT', `/api/dlmlocks/${enc(`${P}-b`)}/lock?wait=30`);
    await untilWaiters(s.db, 1);
    expect((await release(`wa-${kind}`, `${P}-a`)).status).toBe(200);
    const got = await waiting;
    expect(got.status, got.text).toBe(200);
    expect(await holders(P)).toEqual([`wb-${kind}`]);
    expect((await release(`wb-${kind}`, `${P}-b`)).status).toBe(200);
    await untilWaiters(s.db, 0);
  });
});
