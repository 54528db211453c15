// /api/hosts: listing with the lock search syntax and Foreman's wrapper, barring a host from
// acquiring, admin-added hosts when auto-registration is off, deletion releasing a host's
// locks; and no host can release or force anything on another host's lock, whatever it sends.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { addUser } from './access/fixtures.js';
import { editHolders } from '../support/db-sql.js';

const names = (r: { json: { results: { name: string }[] } }) => r.json.results.map((h) => h.name);

describe.each(STORES)('hosts API on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind, { locks: { staleAfterSeconds: 3600 } });
    await addUser(s, 'viewer', 'viewer');
    await addUser(s, 'operator', 'operator');
    // web01 holds two locks, web02 one, db01 checked in without holding any
    for (const [host, lock] of [
      ['web01', 'patch-a'],
      ['web01', 'patch-b'],
      ['web02', 'patch-c'],
    ]) {
      expect((await s.asHost(host!, 'PUT', `/api/dlmlocks/${lock}/lock`)).status).toBe(200);
    }
    await s.asHost('db01', 'GET', '/api/dlmlocks/patch-a/lock');
  });
  afterAll(() => s?.close());

  it("lists hosts with check-in, held locks and stale flag, in Foreman's wrapper", async () => {
    const r = await s.request('GET', '/api/hosts', { user: ['viewer', 'viewer-password'] });
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ total: 3, subtotal: 3, page: 1, per_page: 20, search: null });
    expect(names(r)).toEqual(['db01', 'web01', 'web02']);
    const web01 = r.json.results[1];
    expect(web01).toMatchObject({ name: 'web01', can_acquire_locks: true, locks_held: 2, stale: false });
    expect(web01.locks.map((l: { name: string }) => l.name)).toEqual(['patch-a', 'patch-b']);
    expect(web01.last_checkin_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    expect(r.json.results[0]).toMatchObject({ name: 'db01', locks_held: 0, locks: [] });
  });

  it('searches, orders and pages like the lock index', async () => {
    const get = (q: string) => s.asAdmin('GET', `/api/hosts?${q}`);
    expect(names(await get('search=locked%20%3D%20true'))).toEqual(['web01', 'web02']);
    expect(names(await get('search=name%20~%20web%20and%20not%20name%20%3D%20web02'))).toEqual(['web01']);
    expect(names(await get('search=web'))).toEqual(['web01', 'web02']);
    const desc = await get('order=name%20DESC');
    expect(names(desc)).toEqual(['web02', 'web01', 'db01']);
    expect(desc.json.sort).toEqual({ by: 'name', order: 'DESC' });
    const page2 = await get('per_page=1&page=2');
    expect(page2.json).toMatchObject({ total: 3, subtotal: 3, page: 2, per_page: 1 });
    expect(names(page2)).toEqual(['web01']);
    for (const q of [
      'search=type%20%3D%20x',
      'search=name%20%3D',
      'search=color%20%3D%20red',
      'order=color',
      'per_page=0',
    ]) {
      const r = await get(q);
      expect(r.status, q).toBe(422);
      expect(r.json.error.message, q).not.toMatch(/undefined/);
    }
    expect((await get('search=color%20%3D%20red')).json.error.message).toMatch(
      /use one of name, locked, stale, enabled/,
    );
  });

  it('compiles the lock search for hosts: negation and or as for locks, a field hosts lack named', async () => {
    const get = (q: string) => s.asAdmin('GET', `/api/hosts?search=${encodeURIComponent(q)}`);
    expect(names(await get('locked = false or name != web01'))).toEqual(['db01', 'web02']);
    expect(names(await get('host ~ DB and enabled = true'))).toEqual(['db01']);
    for (const [q, field] of [
      ['waiting = true', 'waiting'],
      ['not type ~ x', 'type'],
      ['window = closed', 'window'],
      ['name = web01 or gate = failing', 'gate'],
    ]) {
      const r = await get(q!);
      expect(r.status, q).toBe(422);
      expect(r.json.error.message, q).toMatch(new RegExp(`^Invalid search query: hosts have no '${field}'`));
    }
  });

  it('marks a host stale when it holds a lock past locks.staleAfterSeconds', async () => {
    await editHolders(s.db, 'patch-c', (h) => ({ ...h, refreshed_at: Date.now() - 2 * 3600_000 }));
    const stale = await s.asAdmin('GET', '/api/hosts?search=stale%20%3D%20true');
    expect(names(stale)).toEqual(['web02']);
    expect(stale.json.results[0]).toMatchObject({ stale: true, locks: [{ name: 'patch-c', stale: true }] });
    expect((await s.asAdmin('GET', '/api/hosts/web01')).json.stale).toBe(false);
  });

  it('shows a host by name or id, 404 otherwise', async () => {
    const byName = await s.asAdmin('GET', '/api/hosts/web02');
    expect(byName.json.name).toBe('web02');
    expect((await s.asAdmin('GET', `/api/hosts/${byName.json.id}`)).json.name).toBe('web02');
    const missing = await s.asAdmin('GET', '/api/hosts/nope.example.com');
    expect(missing.status).toBe(404);
    expect(missing.json.error.message).toMatch(/host not found/);
  });

  it('an operator bars a host from acquiring (412), and lets it again', async () => {
    const op: [string, string] = ['operator', 'operator-password'];
    const barred = await s.request('PUT', '/api/hosts/db01', {
      user: op,
      body: { host: { can_acquire_locks: false } },
    });
    expect(barred.json.can_acquire_locks).toBe(false);
    const refused = await s.asHost('db01', 'PUT', '/api/dlmlocks/db-lock/lock');
    expect(refused.status).toBe(412);
    expect(refused.headers['x-lock-reason']).toBe('host_barred');
    expect(names(await s.asAdmin('GET', '/api/hosts?search=enabled%20%3D%20false'))).toEqual(['db01']);
    await s.request('PUT', '/api/hosts/db01', { user: op, body: { can_acquire_locks: true } });
    expect((await s.asHost('db01', 'PUT', '/api/dlmlocks/db-lock/lock')).status).toBe(200);
    for (const body of [{ can_acquire_locks: 'no' }, {}, { can_acquire_locks: true, name: 'x' }]) {
      expect(
        (await s.request('PUT', '/api/hosts/db01', { user: op, body })).status,
        JSON.stringify(body),
      ).toBe(422);
    }
    const audit = await s.asAdmin('GET', '/api/audit?event_type=host_update&target=db01');
    expect(
      audit.json.results.map((e: { detail: string; actor: { login: string } }) => [e.actor.login, e.detail]),
    ).toEqual([
      ['operator', 'can_acquire_locks true'],
      ['operator', 'can_acquire_locks false'],
    ]);
  });

  it('deleting a host releases its locks with force_release events naming the user', async () => {
    const r = await s.asAdmin('DELETE', '/api/hosts/web01');
    expect(r.status).toBe(200);
    expect(r.json.name).toBe('web01');
    for (const lock of ['patch-a', 'patch-b']) {
      const shown = await s.asAdmin('GET', `/api/dlmlocks/${lock}`);
      expect(shown.json.host).toBeNull();
      const events = await s.asAdmin('GET', `/api/dlmlocks/${lock}/dlmlock_events`);
      expect(events.json.results[0]).toMatchObject({
        event_type: 'force_release',
        host: { name: 'web01' },
        user: { login: 'admin' },
      });
    }
    expect((await s.asAdmin('GET', '/api/hosts/web01')).status).toBe(404);
    expect((await s.asAdmin('DELETE', '/api/hosts/web01')).status).toBe(404);
    const audit = await s.asAdmin('GET', '/api/audit?event_type=host_delete');
    expect(audit.json.results[0]).toMatchObject({ target: 'web01', detail: 'released "patch-a", "patch-b"' });
    // with auto-registration on, the host comes back on its next request
    expect((await s.asHost('web01', 'PUT', '/api/dlmlocks/patch-a/lock')).status).toBe(200);
  });

  it('admins add hosts; names are validated', async () => {
    const r = await s.asAdmin('POST', '/api/hosts', {
      body: { name: 'new01.example.com', can_acquire_locks: false },
    });
    expect(r.status).toBe(201);
    expect(r.json).toMatchObject({
      name: 'new01.example.com',
      can_acquire_locks: false,
      last_checkin_at: null,
      locks_held: 0,
    });
    for (const body of [
      { name: 'new01.example.com' },
      { name: '' },
      { name: 'a/b' },
      { name: 'x'.repeat(256) },
      { name: 7 },
      {},
    ]) {
      expect((await s.asAdmin('POST', '/api/hosts', { body })).status, JSON.stringify(body)).toBe(422);
    }
    const op = await s.request('POST', '/api/hosts', {
      user: ['operator', 'operator-password'],
      body: { name: 'op01' },
    });
    expect(op.status).toBe(403);
  });
});

describe('hosts.autoRegister off', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('postgres', { hosts: { autoRegister: false } });
  });
  afterAll(() => s?.close());

  it('an unknown certificate gets 403 until an admin adds the host', async () => {
    const before = await s.asHost('late01', 'PUT', '/api/dlmlocks/reg/lock');
    expect(before.status).toBe(403);
    expect(before.json.error.message).toMatch(/not registered.*an admin must add it/);
    expect((await s.asAdmin('POST', '/api/hosts', { body: { name: 'late01' } })).status).toBe(201);
    const after = await s.asHost('late01', 'PUT', '/api/dlmlocks/reg/lock');
    expect(after.status).toBe(200);
    expect(after.json.host).toEqual({ name: 'late01', self: true });
    expect((await s.asAdmin('GET', '/api/hosts/late01')).json.last_checkin_at).not.toBeNull();
  });
});

/** hosts connect directly, not from the trusted proxy's address (which would make them nobody) */
const HOSTS = { localAddress: '127.0.0.3' };

describe.each(STORES)('one host against another on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    // only 127.0.0.1 is a trusted proxy; the attacker connects from 127.0.0.2, hosts from 127.0.0.3
    s = await startTestServer(kind, { trustedProxies: ['127.0.0.1'] });
    expect((await s.asHost('hostb', 'PUT', '/api/dlmlocks/b-lock/lock', HOSTS)).status).toBe(200);
    expect((await s.asHost('hosta', 'GET', '/api/dlmlocks/b-lock/lock', HOSTS)).status).toBe(200);
  });
  afterAll(() => s?.close());

  const holder = async () => (await s.asAdmin('GET', '/api/dlmlocks/b-lock')).json.host;
  const spoof = { ssl_client_s_dn: 'CN=hostb', ssl_client_verify: 'SUCCESS', 'x-forwarded-for': '127.0.0.1' };

  it("host A can release, force or change nothing of host B's lock", async () => {
    const hostB = await s.asAdmin('GET', '/api/hosts/hostb');
    const attempts: [string, string, unknown?][] = [
      ['DELETE', '/api/dlmlocks/b-lock/lock'],
      ['PUT', '/api/dlmlocks/b-lock', { dlmlock: { host_id: null } }],
      ['PUT', '/api/dlmlocks/b-lock', { enabled: false }],
      ['DELETE', '/api/dlmlocks/b-lock'],
      ['PUT', '/api/hosts/hostb', { can_acquire_locks: false }],
      ['DELETE', '/api/hosts/hostb'],
      ['DELETE', `/api/hosts/${hostB.json.id}`],
      ['POST', '/api/hosts', { name: 'hostc' }],
    ];
    for (const [method, path, body] of attempts) {
      const direct = await s.asHost('hosta', method, path, { ...HOSTS, body });
      expect([401, 412], `${method} ${path}: ${direct.text}`).toContain(direct.status);
      // the same with B's DN in proxy headers from an untrusted address: A is still A
      const spoofed = await s.asHost('hosta', method, path, {
        body,
        headers: spoof,
        localAddress: '127.0.0.2',
      });
      expect([401, 412], `${method} ${path} spoofed: ${spoofed.text}`).toContain(spoofed.status);
      // and without a certificate the spoofed headers make nobody at all
      const bare = await s.request(method, path, { body, headers: spoof, localAddress: '127.0.0.2' });
      expect(bare.status, `${method} ${path} bare`).toBe(401);
    }
    expect(await holder()).toEqual({ name: 'hostb' });
    const shown = await s.asAdmin('GET', '/api/dlmlocks/b-lock');
    expect(shown.json.enabled).toBe(true);
    expect((await s.asAdmin('GET', '/api/hosts/hostb')).json.can_acquire_locks).toBe(true);
    expect((await s.asAdmin('GET', '/api/hosts/hostc')).status).toBe(404);
    // every attempt left a `fail` event at most, never a release
    const events = await s.asAdmin('GET', '/api/dlmlocks/b-lock/dlmlock_events?per_page=100');
    const types = new Set(events.json.results.map((e: { event_type: string }) => e.event_type));
    expect(types.has('release') || types.has('force_release') || types.has('disable')).toBe(false);
  });

  it('an operator can force-release it, recorded with the user', async () => {
    const r = await s.asAdmin('PUT', '/api/dlmlocks/b-lock', { body: { dlmlock: { host_id: null } } });
    expect(r.json.host).toBeNull();
    const events = await s.asAdmin('GET', '/api/dlmlocks/b-lock/dlmlock_events');
    expect(events.json.results[0]).toMatchObject({
      event_type: 'force_release',
      host: { name: 'hostb' },
      user: { login: 'admin' },
    });
  });
});
