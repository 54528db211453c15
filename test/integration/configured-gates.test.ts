// Health gates declared in the config file (`gates.locks`), on every store: the server creates
// the lock with them at start, refuses a new holder while they fail, and applying the same
// declaration again (another instance starting, a restart) writes nothing. A declaration that
// is wrong, or names credentials the file lacks, stops the server from starting, saying why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/load.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { GateCredentials } from '../../src/gates/credentials.js';
import { lockMembersOf } from '../../src/gates/members-source.js';
import { GateRunner } from '../../src/gates/runner.js';
import { applyConfiguredGates } from '../../src/service/configured-gates.js';
import { LockService } from '../../src/service/locks.js';
import { startGateUpstreams, type GateUpstreams } from '../support/gate-upstreams.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { createTestDatabase, STORES, type TestDatabase } from '../support/stores.js';

describe('gates.locks in the config', () => {
  it('refuses a wrong gate and unknown credentials, naming the lock', () => {
    const bad = ConfigSchema.safeParse({
      gates: { locks: { 'db-cluster': [{ name: 'x', type: 'http', url: 'ftp://nope' }] } },
    });
    expect(bad.success).toBe(false);
    expect(JSON.stringify(bad.error?.issues)).toContain('db-cluster');
    const unknown = ConfigSchema.safeParse({
      gates: {
        locks: {
          'db-cluster': [{ name: 'x', type: 'http', url: 'http://127.0.0.1:9/', credentials: 'prom' }],
        },
      },
    });
    expect(unknown.success).toBe(false);
    expect(JSON.stringify(unknown.error?.issues)).toContain("credentials 'prom' are not defined");
    expect(ConfigError).toBeDefined();
  });
});

describe.each(STORES)('health gates from the config file on %s', (kind) => {
  let s: TestServer;
  let up: GateUpstreams;
  let db: TestDatabase;

  beforeAll(async () => {
    up = await startGateUpstreams();
    up.health = { status: 503, body: 'down', delayMs: 0 };
    s = await startTestServer(kind, {
      gates: {
        locks: {
          'cfg-gated': [{ name: 'health', type: 'http', url: `${up.url}/health`, cache_seconds: 0 }],
        },
      },
    });
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await s?.close();
    await up?.close();
    await db?.dispose();
  });

  it('creates the lock with its gates at start; a failing gate refuses a new holder', async () => {
    const lock = await s.asAdmin('GET', '/api/dlmlocks/cfg-gated');
    expect(lock.status).toBe(200);
    expect(lock.json.gates).toMatchObject([{ name: 'health', type: 'http' }]);
    const refused = await s.asHost('cfg-a', 'PUT', '/api/dlmlocks/cfg-gated/lock');
    expect(refused.status).toBe(412);
    expect(refused.headers['x-lock-gate']).toBe('health: HTTP 503');
    up.health = { status: 200, body: 'ok', delayMs: 0 };
    expect((await s.asHost('cfg-a', 'PUT', '/api/dlmlocks/cfg-gated/lock')).status).toBe(200);
  });

  it('applies a declaration once: unchanged gates write nothing, changed ones are updated', async () => {
    const store = db.open();
    await store.migrate();
    try {
      const runner = new GateRunner({
        store,
        credentials: new GateCredentials({}),
        membersOf: lockMembersOf(store),
      });
      const locks = new LockService(store, true, runner);
      const gate = {
        name: 'h',
        type: 'http' as const,
        url: 'http://127.0.0.1:9/',
        cache_seconds: 10,
        timeout_seconds: 5,
      };
      expect(await applyConfiguredGates(locks, { 'cfg-once': [gate] })).toEqual(['cfg-once']);
      expect(await applyConfiguredGates(locks, { 'cfg-once': [gate] })).toEqual([]);
      expect(await applyConfiguredGates(locks, { 'cfg-once': [{ ...gate, cache_seconds: 30 }] })).toEqual([
        'cfg-once',
      ]);
      const lock = await locks.show('cfg-once');
      expect(lock.gates).toMatchObject([{ name: 'h', cache_seconds: 30 }]);
      const events = await locks.events('cfg-once', 10, 0);
      // created once, by the first application only
      expect(events.events.filter((e) => e.type === 'create')).toHaveLength(1);
      locks.stop();
    } finally {
      await store.close();
    }
  });
});
