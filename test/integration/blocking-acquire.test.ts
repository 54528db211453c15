// PUT …/lock?wait=SECONDS: waiters queue, are served first come first served as holders
// release, time out with 412, and a waiter whose client went away is never granted.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestResponse } from '../support/http.js';
import { STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { untilWaiters } from '../support/db-sql.js';

const WAITERS = 20;

describe.each(STORES)('blocking acquire on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  /** A waiting request that the test can cut off, as a client going away would. */
  async function waitingRequest(host: string, path: string) {
    const cert = await s.host(host);
    let request: ReturnType<typeof https.request> | undefined;
    const response = new Promise<TestResponse>((resolve, reject) => {
      request = https.request(
        `${s.url}${path}`,
        {
          method: 'PUT',
          ca: s.pki.ca.certPem,
          cert: cert.certPem,
          key: cert.keyPem,
          agent: false,
          servername: 'localhost',
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () =>
            resolve({ status: res.statusCode!, headers: res.headers, text, json: JSON.parse(text) }),
          );
        },
      );
      request.on('error', reject);
      request.end();
    });
    return { response, cut: () => request!.destroy() };
  }

  it(`serves ${WAITERS} waiters in arrival order; a disconnected waiter is skipped`, async () => {
    const lock = `queue-${kind}`;
    expect((await s.asHost('holder', 'PUT', `/api/dlmlocks/${lock}/lock`)).status).toBe(200);
    const waiters: Awaited<ReturnType<typeof waitingRequest>>[] = [];
    for (let i = 0; i < WAITERS; i++) {
      waiters.push(await waitingRequest(`waiter${i}`, `/api/dlmlocks/${lock}/lock?wait=60`));
      await untilWaiters(s.db, i + 1);
    }
    const gone = 5;
    waiters[gone]!.response.catch(() => undefined);
    waiters[gone]!.cut();
    await untilWaiters(s.db, WAITERS - 1);

    const settled = new Set<number>();
    waiters.forEach(
      (w, i) =>
        void w.response.then(
          () => settled.add(i),
          () => settled.add(i),
        ),
    );
    expect((await s.asHost('holder', 'DELETE', `/api/dlmlocks/${lock}/lock`)).status).toBe(200);
    for (let i = 0; i < WAITERS; i++) {
      if (i === gone) continue;
      const r = await waiters[i]!.response;
      expect(r.status, r.text).toBe(200);
      expect(r.json.host.name).toBe(`waiter${i}`);
      expect(r.headers['x-fencing-token']).toBeDefined();
      // nobody queued behind it got the lock meanwhile
      for (let j = i + 1; j < WAITERS; j++) if (j !== gone) expect(settled.has(j), `waiter${j}`).toBe(false);
      expect((await s.asHost(`waiter${i}`, 'DELETE', `/api/dlmlocks/${lock}/lock`)).status).toBe(200);
    }
    await untilWaiters(s.db, 0);
    const events = await s.asAdmin('GET', `/api/dlmlocks/${lock}/dlmlock_events?per_page=1000`);
    const acquirers = events.json.results
      .filter((e: { event_type: string }) => e.event_type === 'acquire')
      .map((e: { host: { name: string } }) => e.host.name)
      .reverse();
    expect(acquirers).toEqual([
      'holder',
      ...[...Array(WAITERS).keys()].filter((i) => i !== gone).map((i) => `waiter${i}`),
    ]);
    expect(events.json.results.some((e: { event_type: string }) => e.event_type === 'fail')).toBe(false);
  });

  it('a waiter whose time runs out gets 412 and one fail event, and leaves the queue', async () => {
    const lock = `timeout-${kind}`;
    await s.asHost('holder', 'PUT', `/api/dlmlocks/${lock}/lock`);
    const r = await s.asHost('late', 'PUT', `/api/dlmlocks/${lock}/lock?wait=1`);
    expect(r.status).toBe(412);
    expect(r.json.error.message).toMatch(/Precondition failed/);
    await untilWaiters(s.db, 0);
    const events = await s.asAdmin('GET', `/api/dlmlocks/${lock}/dlmlock_events`);
    const fails = events.json.results.filter((e: { event_type: string }) => e.event_type === 'fail');
    expect(fails).toHaveLength(1);
    expect(fails[0].host.name).toBe('late');
  });

  it('a free lock is granted at once; while hosts wait, a newcomer without wait does not jump the queue', async () => {
    const lock = `fair-${kind}`;
    const free = await s.asHost('first', 'PUT', `/api/dlmlocks/${lock}/lock?wait=30`);
    expect(free.status).toBe(200);
    const queued = await waitingRequest('second', `/api/dlmlocks/${lock}/lock?wait=30`);
    await untilWaiters(s.db, 1);
    await s.asHost('first', 'DELETE', `/api/dlmlocks/${lock}/lock`);
    expect((await queued.response).status).toBe(200);
    await s.asHost('second', 'DELETE', `/api/dlmlocks/${lock}/lock`);
    const again = await waitingRequest('third', `/api/dlmlocks/${lock}/lock?wait=30`);
    expect((await again.response).status).toBe(200);
    const blocked = await waitingRequest('fourth', `/api/dlmlocks/${lock}/lock?wait=30`);
    await untilWaiters(s.db, 1);
    // the lock is held by third and fourth is queued: a plain acquire by a fifth host is refused
    const jumper = await s.asHost('fifth', 'PUT', `/api/dlmlocks/${lock}/lock`);
    expect(jumper.status).toBe(412);
    await s.asHost('third', 'DELETE', `/api/dlmlocks/${lock}/lock`);
    expect((await blocked.response).json.host.name).toBe('fourth');
  });

  it.each(['-1', '301', 'abc', '1.5'])('wait=%s is a 422 and acquires nothing', async (wait) => {
    const r = await s.asHost('web01', 'PUT', `/api/dlmlocks/badwait-${kind}/lock?wait=${wait}`);
    expect(r.status).toBe(422);
    expect(r.json.error.errors.wait).toBeDefined();
    expect((await s.asAdmin('GET', `/api/dlmlocks/badwait-${kind}`)).status).toBe(404);
  });
});

describe('blocking acquire at shutdown', () => {
  it('answers waiting requests with 503 instead of holding the shutdown up', async () => {
    const s = await startTestServer('sqlite');
    try {
      expect((await s.asHost('holder', 'PUT', '/api/dlmlocks/shutdown/lock')).status).toBe(200);
      const waiting = s.asHost('waiter', 'PUT', '/api/dlmlocks/shutdown/lock?wait=300');
      await untilWaiters(s.db, 1);
      await s.server.close();
      const r = await waiting;
      expect(r.status).toBe(503);
      expect(r.json.error.message).toMatch(/shutting down/);
    } finally {
      await s.close();
    }
  });
});
