// `keyholder import-foreman` from a Foreman-shaped database (foreman_dlm's migrations recreated
// in test/support) into a running keyholder on each store: locks, holders mid-rollout, enabled
// flags and events arrive; the holder's release from the same host name answers 200; fencing
// tokens start at 1 and go on from there; a second import and a silent import are refused.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLI } from '../support/process.js';
import { createForemanDatabase, ROLLOUT, type ForemanDatabase } from '../support/foreman.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { querySql } from '../support/db-sql.js';

const cli = (args: string[]) => {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { status: r.status, out: r.stdout, err: r.stderr };
};

let foreman: ForemanDatabase;
beforeAll(async () => {
  foreman = await createForemanDatabase();
  await foreman.query(ROLLOUT);
});
afterAll(() => foreman?.dispose());

describe('import-foreman --dry-run', () => {
  it('summarises what it found and writes nothing', () => {
    const dataDir = mkdtempSync(join(inject('tmpRoot'), 'foreman-dry-'));
    const r = cli(['import-foreman', '--database-url', foreman.url, '--dry-run', '-d', dataDir]);
    expect(r.err).toBe('');
    expect(r.status).toBe(0);
    expect(r.out).toContain('4 locks (3 enabled, 1 disabled), 2 held');
    expect(r.out).toContain('8 events (1 left out: lock gone or unknown type)');
    expect(r.out).toContain('3 host names');
    expect(r.out).toContain('held: katello by web1.example.com since 2019-07-10 18:30:00 UTC');
    expect(r.out).toContain('held: db patch by db1.example.com since 2019-07-11 06:59:00 UTC');
    expect(r.out).toMatch(/unknown host ids .*: 99\n/);
    expect(r.out).toContain('dry run: nothing written');
    expect(existsSync(join(dataDir, 'keyholder.sqlite'))).toBe(false);
  });

  it('asks for --yes when there is no terminal to ask on, and says what is wrong with the source', () => {
    const dataDir = mkdtempSync(join(inject('tmpRoot'), 'foreman-ask-'));
    const r = cli(['import-foreman', '--database-url', foreman.url, '-d', dataDir]);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(/add --yes/);
    expect(existsSync(join(dataDir, 'keyholder.sqlite'))).toBe(false);
    const notForeman = cli([
      'import-foreman',
      '--database-url',
      `${inject('pgBaseUrl')}postgres`,
      '--dry-run',
    ]);
    expect(notForeman.status).toBe(2);
    expect(notForeman.err).toMatch(/no dlmlocks, dlmlock_events, hosts table/);
  });
});

describe.each(STORES)('import-foreman into %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());
  const target = () => (kind === 'postgres' ? ['--target-database-url', s.db.url!] : ['-d', s.db.dataDir]);

  it('brings locks, holders, flags and events over; the fleet goes on where it was', async () => {
    // a host keyholder knows already is kept, not created twice
    const added = await s.asAdmin('POST', '/api/hosts', { body: { name: 'web2.example.com' } });
    expect(added.status, added.text).toBe(201);
    const r = cli(['import-foreman', '--database-url', foreman.url, '--yes', ...target()]);
    expect(r.err).toBe('');
    expect(r.out).toContain(
      'imported 4 locks, 2 holders, 8 events, 3 members; 2 hosts created, 1 already known',
    );
    // members: the holders and every host that acquired a lock, with its latest acquisition
    const members = await querySql<{ lock: string; host: string; at: number | string }>(
      s.db,
      `SELECT l.name AS lock, h.name AS host, m.last_acquired_at AS at FROM lock_members m
       JOIN locks l ON l.id = m.lock_id JOIN hosts h ON h.id = m.host_id ORDER BY l.name, h.name`,
    );
    expect(members.map((m) => [m.lock, m.host, new Date(Number(m.at)).toISOString()])).toEqual([
      ['db patch', 'db1.example.com', '2019-07-11T06:59:00.000Z'],
      ['katello', 'web1.example.com', '2019-07-10T18:30:00.000Z'],
      ['katello', 'web2.example.com', '2019-07-01T10:00:00.000Z'],
    ]);

    const list = (await s.asAdmin('GET', '/api/dlmlocks?per_page=100&order=name')).json.results;
    const byName = new Map<string, Record<string, unknown>>(list.map((l: { name: string }) => [l.name, l]));
    expect([...byName.keys()].sort()).toEqual(['db cluster', 'db patch', 'katello', 'web rollout']);
    expect(byName.get('katello')).toMatchObject({
      enabled: true,
      type: 'ForemanDlm::Dlmlock::Update',
      created_at: '2019-06-13 12:14:53 UTC',
      updated_at: '2019-07-10 18:33:47 UTC',
      host: { name: 'web1.example.com' },
      holders: [{ name: 'web1.example.com', acquired_at: '2019-07-10 18:30:00 UTC', fencing_token: 1 }],
    });
    expect(byName.get('db cluster')).toMatchObject({ enabled: false, host: null, holders: [] });
    expect(byName.get('web rollout')).toMatchObject({ type: 'ForemanDlm::Dlmlock::Update', host: null });

    const events = (await s.asAdmin('GET', '/api/dlmlocks/katello/dlmlock_events')).json.results;
    expect(
      events.map((e: { event_type: string; host: { name: string } | null; created_at: string }) => [
        e.event_type,
        e.host?.name,
        e.created_at,
      ]),
    ).toEqual([
      ['fail', 'web2.example.com', '2019-07-10 18:40:00 UTC'],
      ['acquire', 'web1.example.com', '2019-07-10 18:30:00 UTC'],
      ['release', 'web2.example.com', '2019-07-01 10:30:00 UTC'],
      ['acquire', 'web2.example.com', '2019-07-01 10:00:00 UTC'],
    ]);
    const disable = (await s.asAdmin('GET', '/api/dlmlocks/db%20cluster/dlmlock_events')).json.results;
    expect(disable).toMatchObject([{ event_type: 'disable', host: null, user: { login: 'ops' } }]);
    const gone = (await s.asAdmin('GET', '/api/dlmlocks/web%20rollout/dlmlock_events')).json.results;
    expect(gone.map((e: { host: unknown }) => e.host)).toEqual([null, null]);

    const hosts = (await s.asAdmin('GET', '/api/hosts?per_page=100')).json;
    expect(hosts.results.map((h: { name: string }) => h.name).sort()).toEqual([
      'db1.example.com',
      'web1.example.com',
      'web2.example.com',
    ]);

    // the holder mid-rollout: a refresh keeps its token, its release answers 200 as on Foreman
    const refreshed = await s.asHost('db1.example.com', 'PUT', '/api/dlmlocks/db%20patch/lock');
    expect(refreshed.status, refreshed.text).toBe(200);
    expect(refreshed.headers['x-fencing-token']).toBe('1');
    expect((await s.asHost('web2.example.com', 'PUT', '/api/dlmlocks/katello/lock')).status).toBe(412);
    const released = await s.asHost('web1.example.com', 'DELETE', '/api/dlmlocks/katello/lock');
    expect(released.status, released.text).toBe(200);
    const next = await s.asHost('web2.example.com', 'PUT', '/api/dlmlocks/katello/lock');
    expect(next.status, next.text).toBe(200);
    expect(next.headers['x-fencing-token']).toBe('2');
    // a free lock's first token is 1; the disabled lock stays closed
    const free = await s.asHost('web1.example.com', 'PUT', '/api/dlmlocks/web%20rollout/lock');
    expect(free.headers['x-fencing-token']).toBe('1');
    expect((await s.asHost('web1.example.com', 'PUT', '/api/dlmlocks/db%20cluster/lock')).status).toBe(412);
    // events go on after the imported ones
    const after = (await s.asAdmin('GET', '/api/dlmlocks/katello/dlmlock_events')).json.results;
    expect(after.slice(0, 2).map((e: { event_type: string }) => e.event_type)).toEqual([
      'acquire',
      'release',
    ]);
  });

  it('refuses a keyholder that already has locks, and leaves it as it was', async () => {
    const before = (await s.asAdmin('GET', '/api/dlmlocks?per_page=100')).json.total;
    const r = cli(['import-foreman', '--database-url', foreman.url, '--yes', ...target()]);
    expect(r.status).toBe(2);
    expect(r.err).toMatch(
      /already has 4 row\(s\) in locks: import locks only into a keyholder without locks/,
    );
    expect((await s.asAdmin('GET', '/api/dlmlocks?per_page=100')).json.total).toBe(before);
  });
});
