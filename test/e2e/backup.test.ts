// `keyholder export` from SQLite, `keyholder import` into PostgreSQL, and a server on the
// imported database answers as the old one did: locks, holders, fencing counters, windows,
// events, users and API tokens survive; new rows get ids after the imported ones.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { httpsRequest } from '../support/http.js';
import { CLI } from '../support/process.js';
import { ADMIN, startTestServer, type TestServer } from '../support/server.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';

const cli = (args: string[]) =>
  execFileSync(process.execPath, [CLI, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('export from SQLite, import into PostgreSQL', () => {
  let source: TestServer;
  let target: TestDatabase;
  let restored: RunningServer | undefined;
  let token: string;
  beforeAll(async () => {
    source = await startTestServer('sqlite');
    target = await createTestDatabase('postgres');
  });
  afterAll(async () => {
    await restored?.close();
    await source?.close();
    await target?.dispose();
  });

  it('carries every lock, holder, event, user and token over', async () => {
    const window = { days: ['sun'], start: '02:00', duration_minutes: 120, time_zone: 'Europe/Berlin' };
    await source.asAdmin('POST', '/api/dlmlocks', {
      body: { name: 'db cluster', max_holders: 2, windows: [window] },
    });
    await source.asAdmin('PUT', '/api/dlmlocks/db%20cluster', { body: { windows: [] } });
    await source.asHost('db1', 'PUT', '/api/dlmlocks/db%20cluster/lock');
    await source.asHost('db2', 'PUT', '/api/dlmlocks/db%20cluster/lock');
    await source.asHost('web1', 'PUT', '/api/dlmlocks/web/lock');
    await source.asHost('web1', 'DELETE', '/api/dlmlocks/web/lock');
    await source.asHost('web2', 'PUT', '/api/dlmlocks/web/lock');
    await source.asAdmin('PUT', '/api/dlmlocks/db%20cluster', {
      body: {
        windows: [window],
        blackouts: [{ from: '2026-12-20', to: '2027-01-06', time_zone: 'Europe/Berlin', reason: 'freeze' }],
        paused_until: '2001-01-01T00:00:00Z',
        pause_reason: 'kept as set',
      },
    });
    expect(
      (
        await source.asAdmin('POST', '/api/users', {
          body: { login: 'ops', password: 'ops-password-1', role: 'operator' },
        })
      ).status,
    ).toBe(201);
    const t = await source.asAdmin('POST', '/api/tokens', { body: { user: 'ops', name: 'pipeline' } });
    expect(t.status).toBe(201);
    token = t.json.token;
    // the global pause (a past one, so the acquires below still work) is a settings row
    const pause = { paused_until: '2001-02-03T04:05:06Z', pause_reason: 'restored too' };
    expect((await source.asAdmin('PUT', '/api/pause', { body: pause })).status).toBe(200);
    const pauseBefore = (await source.asAdmin('GET', '/api/pause')).json;
    const before = (await source.asAdmin('GET', '/api/dlmlocks?per_page=1000')).json.results;
    const eventsBefore = (await source.asAdmin('GET', '/api/dlmlocks/web/dlmlock_events')).json.results;

    const file = join(source.db.dataDir, 'backup.json');
    cli(['export', '--data-dir', source.db.dataDir, '-o', file]);
    const out = cli(['import', file, '--database-url', target.url!]);
    expect(out).toMatch(/imported 2 users, 4 hosts, 2 locks, 3 lock_holders, \d+ lock_events, 1 api_tokens/);

    const pki = source.pki;
    restored = await startServer(
      loadConfig({
        env: {},
        flags: {
          host: '127.0.0.1',
          port: 0,
          dataDir: target.dataDir,
          database: { url: target.url },
          tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath },
          log: { level: 'silent' },
        },
      }),
    );
    const url = `https://127.0.0.1:${restored.port}`;
    const as = (opts: Parameters<typeof httpsRequest>[4]) => (method: string, path: string) =>
      httpsRequest(url, pki.ca.certPem, method, path, opts);
    const admin = as({ user: ADMIN });
    const after = (await admin('GET', '/api/dlmlocks?per_page=1000')).json.results;
    expect(after.map(({ stale: _s, ...l }: Record<string, unknown>) => l)).toEqual(
      before.map(({ stale: _s, ...l }: Record<string, unknown>) => l),
    );
    expect((await admin('GET', '/api/dlmlocks/web/dlmlock_events')).json.results).toEqual(eventsBefore);
    expect((await admin('GET', '/api/pause')).json).toEqual(pauseBefore);
    // the token and the operator's password still work
    expect((await as({ headers: { authorization: `Bearer ${token}` } })('GET', '/api/dlmlocks')).status).toBe(
      200,
    );
    expect((await as({ user: ['ops', 'ops-password-1'] })('GET', '/api/hosts')).json.total).toBe(4);
    // holders keep their fencing tokens; the counter goes on from where it was
    const dbLock = before.find((l: { name: string }) => l.name === 'db cluster');
    const refreshed = await as({ cert: await pki.host('db1') })('PUT', '/api/dlmlocks/db%20cluster/lock');
    expect(refreshed.json.fencing_token).toBe(dbLock.holders[0].fencing_token);
    await as({ cert: await pki.host('web2') })('DELETE', '/api/dlmlocks/web/lock');
    const next = await as({ cert: await pki.host('web3') })('PUT', '/api/dlmlocks/web/lock');
    expect(next.json.fencing_token).toBe(3);
    // new rows get fresh ids after the imported ones
    const fresh = await httpsRequest(url, pki.ca.certPem, 'POST', '/api/dlmlocks', {
      user: ADMIN,
      body: { name: 'new' },
    });
    expect(fresh.status).toBe(201);
    expect(fresh.json.id).toBeGreaterThan(Math.max(...before.map((l: { id: number }) => l.id)));
  });

  it('refuses to import into a database that is not empty, or a file that is not an export', async () => {
    const file = join(source.db.dataDir, 'backup.json');
    expect(() => cli(['import', file, '--database-url', target.url!])).toThrow(/not empty/);
    const bad = join(source.db.dataDir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ format: 'something-else', version: 1, tables: {} }));
    expect(() => cli(['import', bad, '--data-dir', join(source.db.dataDir, 'other')])).toThrow(
      /not a keyholder export: format/,
    );
    writeFileSync(bad, '{"format":');
    expect(() => cli(['import', bad, '--data-dir', join(source.db.dataDir, 'other')])).toThrow(/is not JSON/);
  });
});
