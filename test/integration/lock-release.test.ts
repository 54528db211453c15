// POST /api/dlmlocks/:id/release: an operator frees one holder of a semaphore, or all of them,
// with a reason that appears in the lock's events (actor: the operator) and in the audit trail.
// Bad bodies, viewers and hosts change nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { addUser } from './access/fixtures.js';

const holders = (r: { json: { holders: { name: string }[] } }) => r.json.holders.map((h) => h.name);

describe.each(STORES)('operator release on %s', (kind) => {
  let s: TestServer;
  const asOperator = (method: string, path: string, body?: unknown) =>
    s.request(method, path, { user: ['operator', 'operator-password'], body });
  beforeAll(async () => {
    s = await startTestServer(kind);
    await addUser(s, 'viewer', 'viewer');
    await addUser(s, 'operator', 'operator');
    expect((await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'sem', max_holders: 3 } })).status).toBe(
      201,
    );
    for (const host of ['web01', 'web02', 'web03']) {
      expect((await s.asHost(host, 'PUT', '/api/dlmlocks/sem/lock')).status).toBe(200);
    }
  });
  afterAll(() => s?.close());

  it('refuses bad bodies, viewers and hosts, and changes nothing', async () => {
    const cases: [string, unknown, number][] = [
      ['no reason', { host: 'web02' }, 422],
      ['blank reason', { host: 'web02', reason: '   ' }, 422],
      ['unknown key', { host: 'web02', reason: 'x', force: true }, 422],
      ['wrong type', { host: 7, reason: 'x' }, 422],
      ['not a holder', { host: 'db01', reason: 'x' }, 422],
    ];
    for (const [label, body, status] of cases) {
      const r = await asOperator('POST', '/api/dlmlocks/sem/release', body);
      expect(r.status, label).toBe(status);
      expect(r.json.error, label).toBeDefined();
    }
    const notHolder = await asOperator('POST', '/api/dlmlocks/sem/release', { host: 'db01', reason: 'x' });
    expect(notHolder.json.error.errors.host[0]).toMatch(/does not hold lock 'sem'/);
    expect((await asOperator('POST', '/api/dlmlocks/nope/release', { reason: 'x' })).status).toBe(404);
    const viewer = await s.request('POST', '/api/dlmlocks/sem/release', {
      user: ['viewer', 'viewer-password'],
      body: { reason: 'x' },
    });
    expect(viewer.status).toBe(403);
    expect(
      (await s.asHost('web01', 'POST', '/api/dlmlocks/sem/release', { body: { reason: 'x' } })).status,
    ).toBe(401);
    expect(holders(await s.asAdmin('GET', '/api/dlmlocks/sem'))).toEqual(['web01', 'web02', 'web03']);
  });

  it('frees one holder with a reason: event by the operator, audit entry, others keep theirs', async () => {
    const r = await asOperator('POST', '/api/dlmlocks/sem/release', {
      host: 'web02',
      reason: 'stuck in reboot',
    });
    expect(r.status).toBe(200);
    expect(holders(r)).toEqual(['web01', 'web03']);
    const events = await s.asAdmin('GET', '/api/dlmlocks/sem/dlmlock_events');
    expect(events.json.results[0]).toMatchObject({
      event_type: 'force_release',
      host: { name: 'web02' },
      user: { login: 'operator' },
      detail: 'stuck in reboot',
    });
    const audit = await s.asAdmin('GET', '/api/audit?event_type=lock_force_release');
    expect(audit.json.results[0]).toMatchObject({
      event_type: 'lock_force_release',
      actor: { login: 'operator' },
      target: 'sem',
      detail: 'released web02: stuck in reboot',
    });
    // the freed host may come back; the others were untouched
    expect((await s.asHost('web02', 'PUT', '/api/dlmlocks/sem/lock')).status).toBe(200);
  });

  it('frees all holders when no host is named', async () => {
    const r = await asOperator('POST', '/api/dlmlocks/sem/release', { reason: 'abort the rollout' });
    expect(r.status).toBe(200);
    expect(holders(r)).toEqual([]);
    const events = await s.asAdmin('GET', '/api/dlmlocks/sem/dlmlock_events?per_page=3');
    expect(events.json.results.map((e: { host: { name: string } }) => e.host.name).sort()).toEqual([
      'web01',
      'web02',
      'web03',
    ]);
    const audit = await s.asAdmin('GET', '/api/audit?event_type=lock_force_release');
    expect(audit.json.results[0].detail).toMatch(/^released web0\d, web0\d, web0\d: abort the rollout$/);
    // releasing a free lock is fine and records nothing new
    expect((await asOperator('POST', '/api/dlmlocks/sem/release', { reason: 'again' })).status).toBe(200);
    expect((await s.asAdmin('GET', '/api/audit?event_type=lock_force_release')).json.total).toBe(2);
  });
});
