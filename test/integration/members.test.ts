// Lock members and percentage max_holders, on every store: "10%" of the members (rounded down,
// at least 1) at group sizes 1, 9, 10 and 101; members joining with their first grant and
// ageing out after members_days; operators adding and removing members (audited); many hosts
// racing for a "10%" lock never exceed the limit the members allow at that moment.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkinsVerdict, effectiveMaxHolders } from '../../src/lock/members.js';
import { querySql } from '../support/db-sql.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { addUser } from './access/fixtures.js';

const OPERATOR = { userId: null, login: 'members-test', address: null };
const DAY = 86_400_000;

describe.each(STORES)('lock members on %s', (kind) => {
  let s: TestServer;
  const store = () => s.server.store;
  const asOperator = (method: string, path: string, body?: unknown) =>
    s.request(method, path, { user: ['operator', 'operator-password'], body });
  const acquire = (lock: string, host: string) =>
    store().hostRule({ rule: 'acquire', ref: lock, host: { name: host, autoRegister: true } });
  const release = (lock: string, host: string) =>
    store().hostRule({ rule: 'release', ref: lock, host: { name: host, autoRegister: true } });
  /** hosts that exist, named `${prefix}000`… */
  const hosts = async (prefix: string, n: number) => {
    const names = Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(3, '0')}`);
    for (const name of names) await store().touchHost({ name, autoRegister: true });
    return names;
  };

  beforeAll(async () => {
    s = await startTestServer(kind);
    await addUser(s, 'viewer', 'viewer');
    await addUser(s, 'operator', 'operator');
  });
  afterAll(() => s?.close());

  it.each([
    [1, 1],
    [9, 1],
    [10, 1],
    [101, 10],
  ])('a 10 percent lock with %i members lets %i hold it, and no more', async (size, limit) => {
    const lock = `pct-${size}`;
    expect((await asOperator('POST', '/api/dlmlocks', { name: lock, max_holders: '10%' })).status).toBe(201);
    const names = await hosts(`g${size}-`, size);
    for (const name of names) expect((await store().lockMembers.add(lock, name, OPERATOR)).ok).toBe(true);

    const shown = (await s.asAdmin('GET', `/api/dlmlocks/${lock}`)).json;
    expect(shown).toMatchObject({ max_holders: limit, max_holders_rule: '10%', members_count: size });
    for (const name of names.slice(0, limit)) expect(await acquire(lock, name)).toMatchObject({ ok: true });
    // one more member, one more try: refused, the limit is full
    const extra = names[limit] ?? (await hosts(`x${size}-`, 1))[0]!;
    const refused = await acquire(lock, extra);
    expect(refused).toMatchObject({ ok: false, reason: limit === 1 ? 'held' : 'full' });
    expect(refused.lock.holders).toHaveLength(limit);
    expect(refused.lock.maxHolders).toBe(limit);
  });

  it('a host joins with its first grant; the limit grows with the members and answers in its headers', async () => {
    expect((await asOperator('POST', '/api/dlmlocks', { name: 'grow', max_holders: '50%' })).status).toBe(
      201,
    );
    const empty = (await s.asAdmin('GET', '/api/dlmlocks/grow')).json;
    expect(empty).toMatchObject({
      max_holders: 1,
      max_holders_rule: '50%',
      members_count: 0,
      members_days: 30,
    });
    // nobody is a member yet: the floor of 1 lets the first host in
    const first = await s.asHost('grow-a', 'PUT', '/api/dlmlocks/grow/lock');
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ max_holders: 1, members_count: 1 });
    const second = await s.asHost('grow-b', 'PUT', '/api/dlmlocks/grow/lock');
    expect(second.status).toBe(412);
    expect(second.headers['x-lock-reason']).toBe('held');
    expect((await s.asHost('grow-a', 'DELETE', '/api/dlmlocks/grow/lock')).status).toBe(200);
    expect((await s.asHost('grow-b', 'PUT', '/api/dlmlocks/grow/lock')).json).toMatchObject({
      max_holders: 1,
      members_count: 2,
    });
    // two members: 50 % of them is 1, still; a refresh adds nobody
    expect((await s.asHost('grow-b', 'PUT', '/api/dlmlocks/grow/lock')).json.members_count).toBe(2);
    await store().lockMembers.add('grow', 'grow-a', OPERATOR);
    await store().touchHost({ name: 'grow-c', autoRegister: true });
    await store().lockMembers.add('grow', 'grow-c', OPERATOR);
    await store().touchHost({ name: 'grow-d', autoRegister: true });
    await store().lockMembers.add('grow', 'grow-d', OPERATOR);
    // four members: two may hold it
    const third = await s.asHost('grow-c', 'PUT', '/api/dlmlocks/grow/lock');
    expect(third.status).toBe(200);
    expect(third.json).toMatchObject({ max_holders: 2, members_count: 4 });
    const fourth = await s.asHost('grow-d', 'PUT', '/api/dlmlocks/grow/lock');
    expect(fourth.status).toBe(412);
    expect(fourth.headers['x-lock-reason']).toBe('full');
  });

  it('acquired membership ages out after members_days; an operator membership stays', async () => {
    expect(
      (await asOperator('POST', '/api/dlmlocks', { name: 'aging', max_holders: '100%', members_days: 2 }))
        .status,
    ).toBe(201);
    for (const h of ['old-a', 'old-b', 'old-c']) {
      expect(await acquire('aging', h)).toMatchObject({ ok: true });
      expect(await release('aging', h)).toMatchObject({ ok: true });
    }
    await store().lockMembers.add('aging', 'old-c', OPERATOR);
    expect((await s.asAdmin('GET', '/api/dlmlocks/aging')).json).toMatchObject({
      members_count: 3,
      max_holders: 3,
    });
    // three days ago, as the database's clock sees it: beyond members_days
    const lock = (await store().getLock('aging'))!;
    await querySql(
      s.db,
      'UPDATE lock_members SET last_acquired_at = last_acquired_at - ? WHERE lock_id = ?',
      [3 * DAY, lock.id],
    );
    const aged = (await s.asAdmin('GET', '/api/dlmlocks/aging')).json;
    expect(aged).toMatchObject({ members_count: 1, max_holders: 1, members_days: 2 });
    const list = (await s.asAdmin('GET', '/api/dlmlocks/aging/members')).json;
    expect(list.results.map((m: { name: string; source: string }) => [m.name, m.source])).toEqual([
      ['old-c', 'operator'],
    ]);
    // a longer members_days brings them back: the window is the lock's, not the row's
    const longer = await asOperator('PUT', '/api/dlmlocks/aging', { members_days: 5 });
    expect(longer.json).toMatchObject({ members_count: 3, max_holders: 3, members_days: 5 });
  });

  it('a grant rewrites a membership at most once a second, through the host rule and the general path', async () => {
    // a fixed limit is the host rule's (on PostgreSQL its server-side function); a percentage
    // goes through the general path on every store
    for (const [lock, maxHolders] of [
      ['touch-plain', 1],
      ['touch-pct', '100%'],
    ] as const) {
      expect(
        (await asOperator('POST', '/api/dlmlocks', { name: lock, max_holders: maxHolders })).status,
      ).toBe(201);
      const id = (await store().getLock(lock))!.id;
      // on PostgreSQL also the row version (xmin) and its row lock (xmax): a kept row is not even locked
      const versions = kind === 'postgres' ? ', m.xmin::text AS xmin, m.xmax::text AS xmax' : '';
      const member = async (host: string) =>
        (
          await querySql<{ last_acquired_at: number | string | null }>(
            s.db,
            `SELECT m.last_acquired_at${versions} FROM lock_members m JOIN hosts h ON h.id = m.host_id
             WHERE m.lock_id = ? AND h.name = ?`,
            [id, host],
          )
        )[0];
      const shift = (host: string, ms: number) =>
        querySql(
          s.db,
          `UPDATE lock_members SET last_acquired_at = last_acquired_at + ?
           WHERE lock_id = ? AND host_id = (SELECT id FROM hosts WHERE name = ?)`,
          [ms, id, host],
        );
      const first = await acquire(lock, 'toucher');
      expect(first).toMatchObject({ ok: true, outcome: 'acquired' });
      expect(Number((await member('toucher'))!.last_acquired_at)).toBe(first.now);
      expect(await release(lock, 'toucher')).toMatchObject({ ok: true, outcome: 'released' });
      // younger than a second however slow the machine is: moved ahead of the clock
      await shift('toucher', 30_000);
      const fresh = await member('toucher');
      expect(await acquire(lock, 'toucher')).toMatchObject({ ok: true, outcome: 'acquired' });
      expect(await member('toucher'), `${lock}: kept`).toEqual(fresh);
      expect(await release(lock, 'toucher')).toMatchObject({ ok: true, outcome: 'released' });
      // a second old or more: the next grant writes it
      await shift('toucher', -32_000);
      const again = await acquire(lock, 'toucher');
      expect(Number((await member('toucher'))!.last_acquired_at), `${lock}: rewritten`).toBe(again.now);
      expect(await release(lock, 'toucher')).toMatchObject({ ok: true, outcome: 'released' });
      // a member an operator added has no grant yet: its first one is written
      await store().touchHost({ name: 'touch-added', autoRegister: true });
      await store().lockMembers.add(lock, 'touch-added', OPERATOR);
      expect((await member('touch-added'))!.last_acquired_at).toBeNull();
      const granted = await acquire(lock, 'touch-added');
      expect(granted).toMatchObject({ ok: true, outcome: 'acquired' });
      expect(Number((await member('touch-added'))!.last_acquired_at)).toBe(granted.now);
      expect(await release(lock, 'touch-added')).toMatchObject({ ok: true, outcome: 'released' });
    }
  });

  it('operators add and remove members: audited, 404 for an unknown lock or host, 422 for nothing to remove', async () => {
    expect((await asOperator('POST', '/api/dlmlocks', { name: 'ops', max_holders: 2 })).status).toBe(201);
    await hosts('ops-', 3);
    expect(await acquire('ops', 'ops-000')).toMatchObject({ ok: true });

    const added = await asOperator('PUT', '/api/dlmlocks/ops/members/ops-001');
    expect(added.status).toBe(200);
    expect(added.json).toMatchObject({ name: 'ops-001', source: 'operator', added_by: 'operator' });
    expect(added.json.last_checkin_at).toMatch(/^\d{4}-/);
    expect((await asOperator('PUT', '/api/dlmlocks/ops/members/ops-000')).json.source).toBe('operator');

    const list = await s.request('GET', '/api/dlmlocks/ops/members?per_page=1', {
      user: ['viewer', 'viewer-password'],
    });
    expect(list.status).toBe(200);
    expect(list.json).toMatchObject({ total: 2, per_page: 1, page: 1 });
    expect(list.json.results).toHaveLength(1);
    expect(list.json.results[0]).toMatchObject({ name: 'ops-000', source: 'operator' });
    expect(list.json.results[0].last_acquired_at).toMatch(/^\d{4}-/);
    expect((await s.asAdmin('GET', '/api/dlmlocks/ops')).json).toMatchObject({
      max_holders: 2,
      max_holders_rule: 2,
      members_count: 2,
    });

    // removing: an operator-only member goes; one that acquired stays until that ages out
    const gone = await asOperator('DELETE', '/api/dlmlocks/ops/members/ops-001');
    expect(gone.json).toEqual({ name: 'ops-001', member: null });
    const stays = await asOperator('DELETE', '/api/dlmlocks/ops/members/ops-000');
    expect(stays.json).toMatchObject({ name: 'ops-000', member: { source: 'acquired' } });
    const again = await asOperator('DELETE', '/api/dlmlocks/ops/members/ops-000');
    expect(again.status).toBe(422);
    expect(again.json.error.errors.host[0]).toMatch(/was not added to lock 'ops' by an operator/);

    expect((await asOperator('PUT', '/api/dlmlocks/ops/members/nobody')).status).toBe(404);
    expect((await asOperator('PUT', '/api/dlmlocks/nope/members/ops-001')).status).toBe(404);
    expect((await asOperator('GET', '/api/dlmlocks/nope/members')).status).toBe(404);
    const viewer = await s.request('PUT', '/api/dlmlocks/ops/members/ops-002', {
      user: ['viewer', 'viewer-password'],
    });
    expect(viewer.status).toBe(403);

    const audit = (await s.asAdmin('GET', '/api/audit?target=ops')).json.results;
    const entries = audit.map((e: { event_type: string; detail: string }) => [e.event_type, e.detail]);
    expect(entries).toEqual(
      expect.arrayContaining([
        ['lock_member_add', 'added ops-001'],
        ['lock_member_remove', 'removed ops-001'],
        ['lock_member_remove', 'removed ops-000'],
      ]),
    );
    // deleting the host takes its memberships with it
    expect((await s.asAdmin('DELETE', '/api/hosts/ops-000')).status).toBe(200);
    expect((await s.asAdmin('GET', '/api/dlmlocks/ops')).json.members_count).toBe(0);
  });

  it('refuses bad percentages and members_days with 422s; a number clears a percentage', async () => {
    const bad: [unknown, string][] = [
      [{ name: 'b1', max_holders: '0%' }, 'max_holders'],
      [{ name: 'b2', max_holders: '101%' }, 'max_holders'],
      [{ name: 'b3', max_holders: '10 %' }, 'max_holders'],
      [{ name: 'b4', max_holders: 'ten' }, 'max_holders'],
      [{ name: 'b5', max_holders: 1.5 }, 'max_holders'],
      [{ name: 'b6', members_days: 0 }, 'members_days'],
      [{ name: 'b7', members_days: 3651 }, 'members_days'],
      [{ name: 'b8', members_days: '30' }, 'members_days'],
    ];
    for (const [body, field] of bad) {
      const r = await asOperator('POST', '/api/dlmlocks', body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(Object.keys(r.json.error.errors), JSON.stringify(body)).toEqual([field]);
    }
    for (const [body] of bad) {
      expect((await s.asAdmin('GET', `/api/dlmlocks/${(body as { name: string }).name}`)).status).toBe(404);
    }
    expect((await asOperator('POST', '/api/dlmlocks', { name: 'switch', max_holders: '25%' })).status).toBe(
      201,
    );
    expect((await asOperator('PUT', '/api/dlmlocks/switch', { max_holders: 3 })).json).toMatchObject({
      max_holders: 3,
      max_holders_rule: 3,
    });
    expect(
      (await asOperator('PUT', '/api/dlmlocks/switch', { dlmlock: { max_holders: '100%' } })).json,
    ).toMatchObject({
      max_holders: 1,
      max_holders_rule: '100%',
    });
  });

  it('many hosts racing for a "10%" lock never exceed what the members allow', async () => {
    expect((await asOperator('POST', '/api/dlmlocks', { name: 'race', max_holders: '10%' })).status).toBe(
      201,
    );
    const pool = await hosts('race-', 40);
    // 20 known members: 2 may hold it; the other 20 join as they get in
    for (const name of pool.slice(0, 20)) await store().lockMembers.add('race', name, OPERATOR);
    const members = new Set(pool.slice(0, 20));
    for (let round = 0; round < 6; round++) {
      const answers = await Promise.all(pool.map((h) => acquire('race', h)));
      const lock = (await store().getLock('race'))!;
      for (const h of lock.holders) members.add(h.hostName);
      expect(lock.membersCount).toBe(members.size);
      const limit = effectiveMaxHolders(10, members.size);
      // the invariant, and the limit is used: every place the members allow is taken
      expect(lock.holders.length).toBeLessThanOrEqual(limit);
      expect(lock.holders.length).toBeGreaterThanOrEqual(effectiveMaxHolders(10, 20));
      expect(answers.filter((a) => a.ok && a.outcome === 'acquired').length).toBeLessThanOrEqual(limit);
      for (const a of answers) expect(a.lock.holders.length).toBeLessThanOrEqual(a.lock.maxHolders);
      await Promise.all(lock.holders.map((h) => release('race', h.hostName)));
    }
  });

  it('lists the members with their check-ins for the checkins gate', async () => {
    expect((await asOperator('POST', '/api/dlmlocks', { name: 'fleet', max_holders: 1 })).status).toBe(201);
    const names = await hosts('fleet-', 4);
    for (const name of names) await store().lockMembers.add('fleet', name, OPERATOR);
    const lock = (await store().getLock('fleet'))!;
    // one host went quiet two hours ago
    await querySql(s.db, 'UPDATE hosts SET last_checkin_at = last_checkin_at - ? WHERE name = ?', [
      2 * 3_600_000,
      'fleet-003',
    ]);
    const { members, now } = await store().lockMembers.current(lock.id);
    expect(members.map((m) => m.name).sort()).toEqual(names);
    const verdict = checkinsVerdict(
      members.map((m) => ({ name: m.name, lastCheckinAt: m.lastCheckinAt })),
      now,
      { min: '90%', within_seconds: 3600 },
    );
    expect(verdict).toEqual({ ok: false, detail: '3 of 4 members checked in within 3600 s, need 4 (90 %)' });
    expect(checkinsVerdict(members, now, { min: 3, within_seconds: 3600 }).ok).toBe(true);
  });
});
