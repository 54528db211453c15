// An operator deletes a host (DELETE /api/hosts/:name) while that host is acquiring: the
// acquire either wins (and the deletion force-releases or cascades its hold) or comes after
// and finds the host gone (auto-registration brings it back). Neither side may answer 500 —
// on PostgreSQL a check-in that read the host row without locking it let the deletion commit
// in between, and the holder or queue row then broke the foreign key.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

const ITERATIONS = 200;
const BLOCKING_EVERY = 40;

describe.each(STORES)('deleting a host during its acquires on %s', (kind) => {
  let s: TestServer;
  const agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
  beforeAll(async () => {
    s = await startTestServer(kind);
    // a lock another host holds: the racer's blocking acquire joins its queue
    expect((await s.asHost('keeper', 'PUT', '/api/dlmlocks/race-held/lock')).status).toBe(200);
  });
  afterAll(async () => {
    agent.destroy();
    await s?.close();
  });

  it(`never answers 500 (${ITERATIONS} races)`, async () => {
    const seen = new Map<string, number>();
    const note = (what: string, status: number) => {
      const key = `${what} ${status}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    };
    for (let i = 0; i < ITERATIONS; i++) {
      const host = (method: string, path: string) => s.asHost('racer', method, path, { agent });
      // checked in a moment ago, so the next check-ins write nothing to the host row
      note('warm', (await host('GET', '/api/dlmlocks/race-a/lock')).status);
      // a blocking acquire (a queue row) now and then: each costs its one-second wait
      const blocking = i % BLOCKING_EVERY === 0;
      const [a, b, del, wait] = await Promise.all([
        host('PUT', '/api/dlmlocks/race-a/lock'),
        host('PUT', '/api/dlmlocks/race-b/lock'),
        s.asAdmin('DELETE', '/api/hosts/racer', { agent }),
        ...(blocking ? [host('PUT', '/api/dlmlocks/race-held/lock?wait=1')] : []),
      ]);
      note('acquire', a!.status);
      note('acquire', b!.status);
      note('delete', del!.status);
      expect([200], `acquire race-a: ${a!.text}`).toContain(a!.status);
      expect([200], `acquire race-b: ${b!.text}`).toContain(b!.status);
      expect([200, 404], `delete: ${del!.text}`).toContain(del!.status);
      if (wait) {
        note('wait', wait.status);
        expect([412], `blocking acquire: ${wait.text}`).toContain(wait.status);
      }
      // free both locks for the next round, whoever won (a cascaded hold is already gone)
      for (const lock of ['race-a', 'race-b']) {
        const r = await host('DELETE', `/api/dlmlocks/${lock}/lock`);
        note('release', r.status);
        expect(r.status, `release ${lock}: ${r.text}`).toBeLessThan(500);
      }
    }
    // both orders happened: the deletion found the host, and (rarely) came too late for it
    expect(seen.get('delete 200')).toBeGreaterThan(0);
    const locks = await s.asAdmin('GET', '/api/dlmlocks?search=name%20~%20race-');
    for (const l of locks.json.results as { name: string; host: unknown }[]) {
      if (l.name !== 'race-held') expect(l.host, l.name).toBeNull();
    }
  }, 120_000);
});
