// Fencing tokens never go backwards for a lock name (SPEC section 8), on every store: not when
// a held lock is deleted and recreated (by an admin or by foreman_dlm's auto-create), not when
// a lock is renamed away and the name is taken again, not through export and import.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockService } from '../../src/service/locks.js';
import { createTestDatabase, STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe.each(STORES)('fencing counters on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  const token = async (host: string, lock: string) => {
    const r = await s.asHost(host, 'PUT', `/api/dlmlocks/${lock}/lock`);
    expect(r.status, r.text).toBe(200);
    return Number(r.headers['x-fencing-token']);
  };
  const release = async (host: string, lock: string) =>
    expect((await s.asHost(host, 'DELETE', `/api/dlmlocks/${lock}/lock`)).status).toBe(200);

  it('continues after a held lock is deleted and recreated, by an admin or by an acquire', async () => {
    for (let i = 0; i < 2; i++) {
      await token('fc-a', 'fc-lock');
      await release('fc-a', 'fc-lock');
    }
    const before = await token('fc-a', 'fc-lock');
    expect(before).toBe(3);
    // deleted while held
    expect((await s.asAdmin('DELETE', '/api/dlmlocks/fc-lock')).status).toBe(200);
    // recreated by an acquire (foreman_dlm auto-create)
    const afterAutoCreate = await token('fc-b', 'fc-lock');
    expect(afterAutoCreate).toBeGreaterThan(before);
    expect((await s.asAdmin('DELETE', '/api/dlmlocks/fc-lock')).status).toBe(200);
    // recreated by an admin: it starts from the kept counter, the next token is larger still
    const created = await s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name: 'fc-lock' } } });
    expect(created.status, created.text).toBe(201);
    expect(await token('fc-c', 'fc-lock')).toBeGreaterThan(afterAutoCreate);
  });

  it('keeps the counter of a name a lock was renamed away from', async () => {
    await token('fc-a', 'fc-old');
    await release('fc-a', 'fc-old');
    const last = await token('fc-a', 'fc-old');
    const renamed = await s.asAdmin('PUT', '/api/dlmlocks/fc-old', {
      body: { dlmlock: { name: 'fc-renamed' } },
    });
    expect(renamed.status, renamed.text).toBe(200);
    expect(await token('fc-b', 'fc-old')).toBeGreaterThan(last);
  });

  it('carries the counters of deleted locks through export and import', async () => {
    const last = await token('fc-a', 'fc-exported');
    expect((await s.asAdmin('DELETE', '/api/dlmlocks/fc-exported')).status).toBe(200);
    const doc = await s.server.store.exportData();
    const target = await createTestDatabase(kind);
    const store = target.open();
    try {
      await store.migrate();
      await store.importData(doc);
      const answer = await new LockService(store, true).acquire('fc-exported', 'fc-b');
      expect(answer.ok).toBe(true);
      expect(answer.lock.holders[0]!.fencingToken).toBeGreaterThan(last);
    } finally {
      await store.close();
      await target.dispose();
    }
  });
});
