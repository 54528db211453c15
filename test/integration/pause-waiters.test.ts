// A pause that starts while hosts wait (PUT …/lock?wait=) answers them at once, as it answers a
// request made during the pause: 412 `paused` with the next opening, not a request held open
// until its deadline or the next release. The global pause, a lock's own pause and an
// ancestor's, on every store, and (PostgreSQL) a waiter on another instance.
//
// Each waiter asks for 60 s; the test waits for the answers at most ANSWER_MS, below the 10 s
// in which the first waiter of a lock re-checks without being woken (src/service/wait-queue.ts),
// so only the wake-up on the pause itself answers them in time. No timing is asserted beyond
// "before the deadline".
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LockService, type LockAnswer } from '../../src/service/locks.js';
import type { Store } from '../../src/store/store.js';
import type { TestResponse } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { untilWaiters } from '../support/db-sql.js';
import { resolvesWithin } from '../support/within.js';

const ANSWER_MS = 6_000;
const PRECONDITION = (id: number) =>
  JSON.stringify({
    error: { id, message: 'Precondition failed. Lock is in invalid state for this operation.' },
  });
const rendered = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;

describe.each(STORES)('a pause reaches the waiters on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  const enc = encodeURIComponent;
  const acquire = (host: string, lock: string, query = '') =>
    s.asHost(host, 'PUT', `/api/dlmlocks/${enc(lock)}/lock${query}`);
  const create = async (name: string, attrs: Record<string, unknown> = {}) => {
    const r = await s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name, ...attrs } } });
    expect(r.status, r.text).toBe(201);
    return r.json as { id: number };
  };

  /** Hosts that block on `lock` (wait=60), each queued before the next one asks. */
  async function waiters(lock: string, hosts: string[]): Promise<Promise<TestResponse>[]> {
    const answers: Promise<TestResponse>[] = [];
    for (const [i, host] of hosts.entries()) {
      answers.push(acquire(host, lock, '?wait=60'));
      await untilWaiters(s.db, i + 1);
    }
    return answers;
  }

  it('the global pause answers every waiter at once with paused and when it ends', async () => {
    const lock = `patch-night-${kind}`;
    const { id } = await create(lock);
    expect((await acquire('gp-holder', lock)).status).toBe(200);
    const answers = await waiters(lock, ['gp-w1', 'gp-w2']);

    const until = Date.now() + 3_600_000;
    const set = await s.asAdmin('PUT', '/api/pause', {
      body: { paused_until: new Date(until).toISOString(), pause_reason: 'patch night postponed' },
    });
    expect(set.status, set.text).toBe(200);
    const got = await resolvesWithin(Promise.all(answers), ANSWER_MS, 'waiters under the global pause');
    for (const r of got) {
      expect(r.status).toBe(412);
      expect(r.text).toBe(PRECONDITION(id));
      expect(r.headers['x-lock-reason']).toBe('paused');
      expect(r.headers['x-lock-next-window']).toBe(rendered(until));
    }
    await untilWaiters(s.db, 0);
    // one `fail` each, the reason the waiter was given
    const events = await s.asAdmin('GET', `/api/dlmlocks/${enc(lock)}/dlmlock_events`);
    const fails = events.json.results.filter((e: { event_type: string }) => e.event_type === 'fail');
    expect(fails.map((e: { detail: string }) => e.detail)).toEqual(['acquire: paused', 'acquire: paused']);

    // lifted: the lock queues waiters again
    expect((await s.asAdmin('DELETE', '/api/pause')).status).toBe(200);
    const after = await waiters(lock, ['gp-w1']);
    expect((await s.asHost('gp-holder', 'DELETE', `/api/dlmlocks/${enc(lock)}/lock`)).status).toBe(200);
    expect((await resolvesWithin(after[0]!, ANSWER_MS, 'a waiter after the pause')).status).toBe(200);
  }, 30_000);

  it("a lock's own pause answers its waiters at once; a blocking acquire during it too", async () => {
    const lock = `paused-here-${kind}`;
    const { id } = await create(lock, { max_holders: 2 });
    expect((await acquire('lp-h1', lock)).status).toBe(200);
    expect((await acquire('lp-h2', lock)).status).toBe(200);
    const answers = await waiters(lock, ['lp-w1', 'lp-w2', 'lp-w3']);

    const until = Date.now() + 7_200_000;
    const set = await s.asAdmin('PUT', `/api/dlmlocks/${enc(lock)}`, {
      body: { paused_until: new Date(until).toISOString() },
    });
    expect(set.status, set.text).toBe(200);
    const got = await resolvesWithin(Promise.all(answers), ANSWER_MS, "waiters under the lock's pause");
    for (const r of got) {
      expect(r.status).toBe(412);
      expect(r.text).toBe(PRECONDITION(id));
      expect(r.headers['x-lock-reason']).toBe('paused');
      expect(r.headers['x-lock-next-window']).toBe(rendered(until));
    }
    await untilWaiters(s.db, 0);
    // the holders refresh; a new blocking acquire is answered at once, held or not
    expect((await acquire('lp-h1', lock, '?wait=60')).status).toBe(200);
    const late = await resolvesWithin(
      acquire('lp-w4', lock, '?wait=60'),
      ANSWER_MS,
      'a waiter during the pause',
    );
    expect(late.headers['x-lock-reason']).toBe('paused');
    // a plain acquire keeps foreman_dlm's order: held (full) before the calendar
    expect((await acquire('lp-w4', lock)).headers['x-lock-reason']).toBe('full');
  }, 30_000);

  it('a blackout set on a lock answers its waiters at once with blackout', async () => {
    const lock = `frozen-now-${kind}`;
    const { id } = await create(lock);
    expect((await acquire('bw-holder', lock)).status).toBe(200);
    const answers = await waiters(lock, ['bw-w1']);
    const today = new Date().toISOString().slice(0, 10);
    const set = await s.asAdmin('PUT', `/api/dlmlocks/${enc(lock)}`, {
      body: { blackouts: [{ from: today, to: today, time_zone: 'UTC', reason: 'freeze' }] },
    });
    expect(set.status, set.text).toBe(200);
    const [r] = await resolvesWithin(Promise.all(answers), ANSWER_MS, 'a waiter under a new blackout');
    expect(r!.status).toBe(412);
    expect(r!.text).toBe(PRECONDITION(id));
    expect(r!.headers['x-lock-reason']).toBe('blackout');
    expect(r!.headers['x-lock-next-window']).toBe(set.json.next_window_at);
    await untilWaiters(s.db, 0);
  }, 30_000);

  it("an ancestor's pause answers the waiters of the locks below it, naming the level", async () => {
    const dc = `dc-pause-${kind}`;
    const rack = `rack-pause-${kind}`;
    await create(dc, { max_holders: 3 });
    const { id } = await create(rack, { parent: dc });
    expect((await acquire('np-h1', rack)).status).toBe(200);
    const answers = await waiters(rack, ['np-w1']);

    const until = Date.now() + 3_600_000;
    const set = await s.asAdmin('PUT', `/api/dlmlocks/${enc(dc)}`, {
      body: { paused_until: new Date(until).toISOString() },
    });
    expect(set.status, set.text).toBe(200);
    const [r] = await resolvesWithin(
      Promise.all(answers),
      ANSWER_MS,
      "a child's waiter under its parent's pause",
    );
    expect(r!.status).toBe(412);
    expect(r!.text).toBe(PRECONDITION(id));
    expect(r!.headers['x-lock-reason']).toBe(`paused@${dc}`);
    // when that level admits again, as its own refusal would say
    expect(r!.headers['x-lock-next-window']).toBe(rendered(until));
    await untilWaiters(s.db, 0);
    expect((await acquire('np-h1', rack)).status).toBe(200);
  }, 30_000);

  it.runIf(kind === 'postgres')(
    "a waiter on another instance hears the global pause and a lock's pause at once",
    async () => {
      const other: Store = s.db.open();
      await other.migrate();
      const service = new LockService(other, true);
      try {
        for (const pause of ['global', 'lock'] as const) {
          const lock = `remote-${pause}`;
          await create(lock);
          expect((await acquire('rp-holder', lock)).status).toBe(200);
          const answer: Promise<LockAnswer> = service.acquire(lock, 'rp-remote', { waitSeconds: 60 });
          await untilWaiters(s.db, 1);
          const until = new Date(Date.now() + 3_600_000).toISOString();
          const set =
            pause === 'global'
              ? await s.asAdmin('PUT', '/api/pause', { body: { paused_until: until } })
              : await s.asAdmin('PUT', `/api/dlmlocks/${lock}`, { body: { paused_until: until } });
          expect(set.status, set.text).toBe(200);
          expect(await resolvesWithin(answer, ANSWER_MS, `a remote waiter, ${pause} pause`)).toMatchObject({
            ok: false,
            reason: 'paused',
          });
          await untilWaiters(s.db, 0);
          if (pause === 'global') expect((await s.asAdmin('DELETE', '/api/pause')).status).toBe(200);
        }
      } finally {
        service.stop();
        await other.close();
      }
    },
    30_000,
  );
});
