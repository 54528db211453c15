// foreman_dlm's lock semantics over real HTTPS, on every store: acquire, release, 412s,
// auto-create, events, JSON shapes and headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';

const JSON_EMPTY = { headers: { 'content-type': 'application/json' } };
const TIMESTAMP = /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC$/;
const PRECONDITION = (id: number) =>
  JSON.stringify({
    error: { id, message: 'Precondition failed. Lock is in invalid state for this operation.' },
  });

describe.each(STORES)('lock semantics on %s', (kind) => {
  let s: TestServer;
  let n = 0;
  const fresh = () => `lock-${kind}-${++n}`;
  const acquire = (host: string, name: string) =>
    s.asHost(host, 'PUT', `/api/dlmlocks/${encodeURIComponent(name)}/lock`, JSON_EMPTY);
  const release = (host: string, name: string) =>
    s.asHost(host, 'DELETE', `/api/dlmlocks/${encodeURIComponent(name)}/lock`, JSON_EMPTY);
  const events = async (name: string) =>
    (await s.asAdmin('GET', `/api/dlmlocks/${encodeURIComponent(name)}/dlmlock_events?per_page=100`)).json
      .results as { event_type: string; host: { name: string } | null; user: { login: string } | null }[];

  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  it('acquire of a missing lock creates it and grants it, with foreman_dlm JSON', async () => {
    const name = fresh();
    const r = await acquire('web01', name);
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    const body = r.json;
    expect(Object.keys(body).slice(0, 8)).toEqual([
      'id',
      'host_id',
      'name',
      'enabled',
      'type',
      'created_at',
      'updated_at',
      'host',
    ]);
    expect(body).toMatchObject({
      name,
      enabled: true,
      type: 'ForemanDlm::Dlmlock::Update',
      host: { name: 'web01', self: true },
      max_holders: 1,
    });
    expect(typeof body.id).toBe('number');
    expect(typeof body.host_id).toBe('number');
    expect(body.created_at).toMatch(TIMESTAMP);
    expect(body.updated_at).toMatch(TIMESTAMP);
    expect(r.headers['x-fencing-token']).toBe(String(body.fencing_token));
    expect(body.holders).toEqual([
      {
        name: 'web01',
        acquired_at: expect.stringMatching(TIMESTAMP),
        fencing_token: body.fencing_token,
        expires_at: null,
      },
    ]);
    expect((await events(name)).map((e) => e.event_type)).toEqual(['acquire', 'create']);
  });

  it('re-acquire by the holder is 200 and records no new event', async () => {
    const name = fresh();
    const first = await acquire('web01', name);
    const again = await acquire('web01', name);
    expect(again.status).toBe(200);
    expect(again.json.host).toEqual({ name: 'web01', self: true });
    expect(again.json.fencing_token).toBe(first.json.fencing_token);
    expect((await events(name)).filter((e) => e.event_type === 'acquire')).toHaveLength(1);
  });

  it('acquire of a lock held by another host is 412 with the exact body and a fail event', async () => {
    const name = fresh();
    const held = await acquire('web01', name);
    const r = await acquire('web02', name);
    expect(r.status).toBe(412);
    expect(r.text).toBe(PRECONDITION(held.json.id));
    expect(r.headers['x-lock-reason']).toBe('held');
    expect(r.headers['x-lock-holders']).toBe('web01');
    const evs = await events(name);
    expect(evs[0]).toMatchObject({ event_type: 'fail', host: { name: 'web02' } });
    const show = await s.asHost('web02', 'GET', `/api/dlmlocks/${name}/lock`);
    expect(show.json.host).toEqual({ name: 'web01', self: false });
  });

  it('release by the holder frees the lock; release of a free lock is 200 and a no-op', async () => {
    const name = fresh();
    await acquire('web01', name);
    const r = await release('web01', name);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ host_id: null, host: null, holders: [] });
    const again = await release('web01', name);
    expect(again.status).toBe(200);
    expect(again.json.host).toBeNull();
    const types = (await events(name)).map((e) => e.event_type);
    expect(types).toEqual(['release', 'acquire', 'create']);
  });

  it('release of a missing lock auto-creates it free', async () => {
    const name = fresh();
    const r = await release('web01', name);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ name, host: null, host_id: null, enabled: true });
  });

  it("release of another host's lock is 412, fail event, holder unchanged", async () => {
    const name = fresh();
    const held = await acquire('web01', name);
    const r = await release('web02', name);
    expect(r.status).toBe(412);
    expect(r.text).toBe(PRECONDITION(held.json.id));
    const show = await s.asAdmin('GET', `/api/dlmlocks/${name}`);
    expect(show.json.host).toEqual({ name: 'web01' });
    expect((await events(name))[0]).toMatchObject({ event_type: 'fail', host: { name: 'web02' } });
  });

  it('a disabled lock refuses acquire and release with 412', async () => {
    const name = fresh();
    await acquire('web01', name);
    const d = await s.asAdmin('PUT', `/api/dlmlocks/${name}`, { body: { dlmlock: { enabled: false } } });
    expect(d.status).toBe(200);
    expect(d.json.enabled).toBe(false);
    expect((await acquire('web02', name)).status).toBe(412);
    const rel = await release('web01', name);
    expect(rel.status).toBe(412);
    expect(rel.headers['x-lock-reason']).toBe('disabled');
    const free = fresh();
    await s.asAdmin('POST', '/api/dlmlocks', { body: { name: free, enabled: false } });
    expect((await release('web01', free)).status).toBe(412);
    const types = (await events(name)).map((e) => e.event_type);
    expect(types.slice(0, 3)).toEqual(['fail', 'fail', 'disable']);
    const e = await s.asAdmin('PUT', `/api/dlmlocks/${name}`, { body: { enabled: true } });
    expect(e.json.enabled).toBe(true);
    expect((await events(name))[0]).toMatchObject({ event_type: 'enable', user: { login: 'admin' } });
    expect((await release('web01', name)).status).toBe(200);
  });

  it('a host with can_acquire_locks=false gets 412', async () => {
    const name = fresh();
    await acquire('barred01', fresh());
    await s.server.store.hostDirectory.setCanAcquire('barred01', false, {
      userId: null,
      login: '(test)',
      address: null,
    });
    const r = await acquire('barred01', name);
    expect(r.status).toBe(412);
    expect(r.headers['x-lock-reason']).toBe('host_barred');
    expect((await events(name))[0]).toMatchObject({ event_type: 'fail', host: { name: 'barred01' } });
  });

  it('every host request checks in, including GET .../lock, written at most once a second', async () => {
    const name = fresh();
    await acquire('checkin01', name);
    const before = (await s.server.store.hostDirectory.getByName('checkin01'))!.lastCheckinAt!;
    // Within the second: the check-in is not written again (one write per host per second).
    expect((await s.asHost('checkin01', 'GET', `/api/dlmlocks/${name}/lock`)).status).toBe(200);
    const soon = (await s.server.store.hostDirectory.getByName('checkin01'))!.lastCheckinAt!;
    expect(soon === before || soon - before >= 1000).toBe(true);
    await new Promise((r) => setTimeout(r, 1050));
    expect((await s.asHost('checkin01', 'GET', `/api/dlmlocks/${name}/lock`)).status).toBe(200);
    expect((await s.server.store.hostDirectory.getByName('checkin01'))!.lastCheckinAt!).toBeGreaterThan(
      before,
    );
  });

  it('GET .../lock of an unknown lock is 404 and creates nothing', async () => {
    const name = fresh();
    const r = await s.asHost('web01', 'GET', `/api/dlmlocks/${name}/lock`);
    expect(r.status).toBe(404);
    expect(r.json.error.message).toContain(name);
    expect((await s.asAdmin('GET', `/api/dlmlocks/${name}`)).status).toBe(404);
  });

  it('names with spaces, dots and unicode round-trip URL-encoded; numeric ids work too', async () => {
    for (const name of ['Test Lock', 'patch.window.v2', 'Zürich – 東京 🔒']) {
      const r = await acquire('web01', name);
      expect(r.status).toBe(200);
      expect(r.json.name).toBe(name);
      const byId = await s.asHost('web01', 'GET', `/api/dlmlocks/${r.json.id}/lock`);
      expect(byId.json.name).toBe(name);
      expect((await s.asHost('web01', 'DELETE', `/api/v2/dlmlocks/${r.json.id}/lock`)).status).toBe(200);
    }
  });

  it('accepts the doubled slash of updatelock and the /api/v2 prefix', async () => {
    const name = fresh();
    const r = await s.asHost('web01', 'PUT', `/api/dlmlocks//${name}/lock`, JSON_EMPTY);
    expect(r.status).toBe(200);
    const v2 = await s.asHost('web01', 'GET', `/api/v2/dlmlocks/${name}/lock`);
    expect(v2.json.host).toEqual({ name: 'web01', self: true });
    expect((await s.asHost('web01', 'DELETE', `/api/dlmlocks//${name}/lock`, JSON_EMPTY)).status).toBe(200);
  });

  it('a numeric id is tried before a name; a numeric name with no such id is a name', async () => {
    const target = await acquire('web01', fresh());
    const r = await s.asHost('web02', 'GET', `/api/dlmlocks/${target.json.id}/lock`);
    expect(r.json.id).toBe(target.json.id);
    const numeric = await acquire('web02', '987654321');
    expect(numeric.json.name).toBe('987654321');
    expect(numeric.json.id).not.toBe(987654321);
    const again = await s.asHost('web02', 'GET', '/api/dlmlocks/987654321/lock');
    expect(again.json.id).toBe(numeric.json.id);
  });

  it('an operator sets and clears the holder with host_id; delete keeps nothing behind', async () => {
    const name = fresh();
    const held = await acquire('web01', name);
    const cleared = await s.asAdmin('PUT', `/api/dlmlocks/${name}`, { body: { dlmlock: { host_id: null } } });
    expect(cleared.status).toBe(200);
    expect(cleared.json.host).toBeNull();
    expect((await events(name))[0]).toMatchObject({ event_type: 'force_release', user: { login: 'admin' } });
    const set = await s.asAdmin('PUT', `/api/dlmlocks/${name}`, { body: { host_id: held.json.host_id } });
    expect(set.json.host).toEqual({ name: 'web01' });
    const unknownHost = await s.asAdmin('PUT', `/api/dlmlocks/${name}`, { body: { host_id: 999999 } });
    expect(unknownHost.status).toBe(422);
    const del = await s.asAdmin('DELETE', `/api/dlmlocks/${name}`);
    expect(del.status).toBe(200);
    expect(del.json.name).toBe(name);
    expect((await s.asAdmin('GET', `/api/dlmlocks/${name}`)).status).toBe(404);
    expect((await s.asAdmin('GET', `/api/dlmlocks/${name}/dlmlock_events`)).status).toBe(404);
  });

  it('create returns 201; duplicate, empty and bad-type names are 422 with errors and full_messages', async () => {
    const name = fresh();
    const c = await s.asAdmin('POST', '/api/dlmlocks', {
      body: { dlmlock: { name, type: 'ForemanDlm::Dlmlock::Update', enabled: true } },
    });
    expect(c.status).toBe(201);
    expect(c.json).toMatchObject({ name, host: null, host_id: null, enabled: true });
    const dup = await s.asAdmin('POST', '/api/dlmlocks', { body: { name } });
    expect(dup.status).toBe(422);
    expect(dup.json.error.errors.name).toEqual(['has already been taken']);
    expect(dup.json.error.full_messages).toEqual(['Name has already been taken']);
    const empty = await s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name: '  ' } } });
    expect(empty.status).toBe(422);
    expect(empty.json.error.errors.name).toBeDefined();
    const badType = await s.asAdmin('POST', '/api/dlmlocks', { body: { name: fresh(), type: 42 } });
    expect(badType.status).toBe(422);
    expect(badType.json.error.errors.type).toBeDefined();
    const rename = await s.asAdmin('PUT', `/api/dlmlocks/${c.json.id}`, {
      body: { name: `${name}-renamed` },
    });
    expect(rename.json.name).toBe(`${name}-renamed`);
  });

  it('events are newest first in the index wrapper with Foreman timestamps', async () => {
    const name = fresh();
    await acquire('web01', name);
    await release('web01', name);
    const r = await s.asAdmin('GET', `/api/dlmlocks/${name}/dlmlock_events`);
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ total: 3, subtotal: 3, page: 1, per_page: 20, search: null });
    expect(r.json.results.map((e: { event_type: string }) => e.event_type)).toEqual([
      'release',
      'acquire',
      'create',
    ]);
    for (const e of r.json.results) {
      expect(Object.keys(e).slice(0, 4)).toEqual(['id', 'event_type', 'created_at', 'updated_at']);
      expect(e.created_at).toMatch(TIMESTAMP);
    }
    const paged = await s.asAdmin('GET', `/api/dlmlocks/${name}/dlmlock_events?per_page=1&page=2`);
    expect(paged.json.results.map((e: { event_type: string }) => e.event_type)).toEqual(['acquire']);
  });
});
