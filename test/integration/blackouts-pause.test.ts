// Blackouts, a lock's paused_until and the global pause over the API, on every store: the
// foreman_dlm 412 keeps its body byte for byte, the reason and the next opening travel in
// headers, holders keep refreshing, blocking acquires are answered at once, FleetLock answers
// with its own kinds, and (PostgreSQL) another instance on the same database obeys the pause.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockService } from '../../src/service/locks.js';
import type { Store } from '../../src/store/store.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { addUser, passwordOf } from './access/fixtures.js';

const PRECONDITION = (id: number) =>
  JSON.stringify({
    error: { id, message: 'Precondition failed. Lock is in invalid state for this operation.' },
  });
const DAY = 86_400_000;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const rendered = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
const fleetHeaders = { 'fleet-lock-protocol': 'true' };
const fleetBody = (id: string) => ({ client_params: { id, group: 'default' } });

describe.each(STORES)('blackouts and pauses on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
    await addUser(s, 'viewer', 'viewer');
    await addUser(s, 'operator', 'operator');
  });
  afterAll(() => s?.close());

  const acquire = (host: string, lock: string, query = '') =>
    s.asHost(host, 'PUT', `/api/dlmlocks/${lock}/lock${query}`);
  const as = (login: string, method: string, path: string, body?: unknown) =>
    s.request(method, path, { body, user: [login, passwordOf(login)] });
  const today = () =>
    Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate());

  it('a blackout refuses new holders with the foreman_dlm body, its reason and the next opening', async () => {
    const start = today();
    const blackout = { from: day(start - DAY), to: day(start + DAY), time_zone: 'UTC', reason: 'freeze' };
    await s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name: 'frozen', max_holders: 2 } } });
    expect((await acquire('bh1', 'frozen')).status).toBe(200);
    const set = await s.asAdmin('PUT', '/api/dlmlocks/frozen', { body: { blackouts: [blackout] } });
    expect(set.status, set.text).toBe(200);
    const opening = rendered(start + 2 * DAY);
    expect(set.json).toMatchObject({ blackouts: [blackout], next_window_at: opening, paused_until: null });

    const refused = await acquire('bh2', 'frozen');
    expect(refused.status).toBe(412);
    expect(refused.text).toBe(PRECONDITION(set.json.id));
    expect(refused.headers['x-lock-reason']).toBe('blackout');
    expect(refused.headers['x-lock-next-window']).toBe(opening);
    // the holder refreshes; a blocking acquire is refused at once (a 300 s wait would time the test out)
    expect((await acquire('bh1', 'frozen')).status).toBe(200);
    const waited = await acquire('bh2', 'frozen', '?wait=300');
    expect(waited.status).toBe(412);
    expect(waited.text).toBe(PRECONDITION(set.json.id));
    expect(waited.headers['x-lock-reason']).toBe('blackout');

    expect(
      (await s.asAdmin('PUT', '/api/dlmlocks/frozen', { body: { blackouts: null } })).json.blackouts,
    ).toEqual([]);
    expect((await acquire('bh2', 'frozen')).status).toBe(200);
  }, 20_000);

  it('refuses bad blackouts and pauses with 422s naming the problem', async () => {
    const bad = async (body: unknown) => {
      const r = await s.asAdmin('POST', '/api/dlmlocks', {
        body: { name: 'bad-calendar', ...(body as object) },
      });
      expect(r.status, r.text).toBe(422);
      return r.json.error.errors;
    };
    expect(await bad({ blackouts: [{ from: '2027-01-02', to: '2027-01-01', time_zone: 'UTC' }] })).toEqual({
      blackouts: ['blackout 1 from must not be after to'],
    });
    expect(
      (await bad({ blackouts: [{ from: '2027-02-30', to: '2027-03-01', time_zone: 'Moon/Base' }] }))
        .blackouts,
    ).toEqual([
      'blackout 1 from must be a date YYYY-MM-DD',
      'blackout 1 time_zone must be an IANA time zone such as Europe/Berlin or UTC',
    ]);
    expect((await bad({ paused_until: 'soon' })).paused_until[0]).toMatch(/must be a timestamp/);
    expect((await bad({ pause_reason: 7 })).pause_reason[0]).toMatch(/must be a text/);
    expect((await s.asAdmin('GET', '/api/dlmlocks/bad-calendar')).status).toBe(404);
  });

  it("a lock's pause: refused with its end as the next opening, holders refresh, a past one pauses nothing", async () => {
    await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'held-still' } });
    expect((await acquire('ph1', 'held-still')).status).toBe(200);
    const until = new Date(Date.now() + 3_600_000).toISOString().slice(0, 19) + 'Z';
    const set = await s.asAdmin('PUT', '/api/dlmlocks/held-still', {
      body: { dlmlock: { paused_until: until, pause_reason: 'kernel regression' } },
    });
    expect(set.json).toMatchObject({
      paused_until: rendered(Date.parse(until)),
      pause_reason: 'kernel regression',
      next_window_at: rendered(Date.parse(until)),
    });
    expect((await acquire('ph1', 'held-still')).status).toBe(200);
    expect((await s.asHost('ph1', 'DELETE', '/api/dlmlocks/held-still/lock')).status).toBe(200);
    const refused = await acquire('ph2', 'held-still');
    expect(refused.status).toBe(412);
    expect(refused.text).toBe(PRECONDITION(set.json.id));
    expect(refused.headers['x-lock-reason']).toBe('paused');
    expect(refused.headers['x-lock-next-window']).toBe(rendered(Date.parse(until)));
    const events = await s.asAdmin('GET', '/api/dlmlocks/held-still/dlmlock_events');
    expect(events.json.results[0]).toMatchObject({ event_type: 'fail', detail: 'acquire: paused' });

    // a time already past is kept as given and pauses nothing
    const past = await s.asAdmin('PUT', '/api/dlmlocks/held-still', {
      body: { paused_until: '2001-02-03 04:05:06 UTC' },
    });
    expect(past.json).toMatchObject({ paused_until: '2001-02-03 04:05:06 UTC', next_window_at: null });
    expect((await acquire('ph2', 'held-still')).status).toBe(200);
    // lifting the pause drops its reason
    const lifted = await s.asAdmin('PUT', '/api/dlmlocks/held-still', { body: { paused_until: null } });
    expect(lifted.json).toMatchObject({ paused_until: null, pause_reason: null });
  });

  it('the global pause: operators set and lift it, every lock and FleetLock obey, the audit trail records it', async () => {
    await s.asAdmin('POST', '/api/dlmlocks', { body: { name: 'everyday', max_holders: 2 } });
    expect((await acquire('gh1', 'everyday')).status).toBe(200);
    expect((await as('viewer', 'PUT', '/api/pause', { paused_until: '2099-01-01T00:00:00Z' })).status).toBe(
      403,
    );
    expect((await as('viewer', 'GET', '/api/pause')).json).toEqual({
      paused: false,
      paused_until: null,
      pause_reason: null,
    });
    expect((await as('operator', 'PUT', '/api/pause', { paused_until: 'later' })).status).toBe(422);

    const until = Date.now() + 3_600_000;
    const set = await as('operator', 'PUT', '/api/pause', {
      paused_until: new Date(until).toISOString(),
      pause_reason: 'incident 42',
    });
    expect(set.status, set.text).toBe(200);
    expect(set.json).toEqual({ paused: true, paused_until: rendered(until), pause_reason: 'incident 42' });

    const refused = await acquire('gh2', 'everyday');
    expect(refused.status).toBe(412);
    expect(refused.text).toBe(PRECONDITION(refused.json.error.id));
    expect(refused.headers['x-lock-reason']).toBe('paused');
    expect(refused.headers['x-lock-next-window']).toBe(rendered(until));
    // a lock foreman_dlm creates on first acquire is paused too; the holder refreshes
    expect((await acquire('gh2', 'brand-new')).headers['x-lock-reason']).toBe('paused');
    const refresh = await acquire('gh1', 'everyday');
    expect(refresh.status).toBe(200);
    expect(refresh.json.next_window_at).toBe(rendered(until));

    const fleet = await s.request('POST', '/v1/pre-reboot', {
      body: fleetBody('node-1'),
      headers: fleetHeaders,
    });
    expect(fleet.status).toBe(409);
    expect(fleet.json).toEqual({
      kind: 'paused',
      value: `all locks are paused (incident 42); new holders from ${rendered(until)}`,
    });

    const lifted = await as('operator', 'DELETE', '/api/pause');
    expect(lifted.json).toEqual({ paused: false, paused_until: null, pause_reason: null });
    expect((await acquire('gh2', 'brand-new')).status).toBe(200);
    const audit = await s.asAdmin('GET', '/api/audit?target=all%20locks');
    expect(audit.json.results.slice(0, 2)).toMatchObject([
      { event_type: 'resume', actor: { login: 'operator' }, detail: null },
      {
        event_type: 'pause',
        actor: { login: 'operator' },
        detail: `until ${new Date(until).toISOString()}: incident 42`,
      },
    ]);
  });

  it('FleetLock answers a blackout with its own kind', async () => {
    const start = today();
    await s.asAdmin('POST', '/api/dlmlocks', {
      body: {
        name: 'fleetlock-default',
        blackouts: [{ from: day(start), to: day(start), time_zone: 'UTC' }],
      },
    });
    const r = await s.request('POST', '/v1/pre-reboot', { body: fleetBody('node-2'), headers: fleetHeaders });
    expect(r.status).toBe(409);
    expect(r.json).toEqual({
      kind: 'blackout',
      value: `lock fleetlock-default is in a blackout; new holders from ${rendered(start + DAY)}`,
    });
  });

  it.runIf(kind === 'postgres')(
    'another instance on the same database obeys the global pause at once',
    async () => {
      const other: Store = s.db.open();
      await other.migrate();
      const service = new LockService(other, true);
      try {
        await as('operator', 'PUT', '/api/pause', {
          paused_until: '2099-01-01T00:00:00Z',
          pause_reason: 'x',
        });
        const refused = await service.acquire('elsewhere', 'remote-host');
        expect(refused).toMatchObject({ ok: false, reason: 'paused' });
        await as('operator', 'DELETE', '/api/pause');
        expect((await service.acquire('elsewhere', 'remote-host')).ok).toBe(true);
      } finally {
        service.stop();
        await other.close();
      }
    },
  );
});
