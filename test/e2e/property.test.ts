// Property-style concurrency check across two server processes on one PostgreSQL: 200 random
// acquire/release/refresh operations from 30 hosts on semaphores of different sizes. After
// every batch: no lock over max_holders, every acknowledged acquire still held, fencing tokens
// strictly increasing per lock. Then a blocking acquire on one instance is woken by a release
// on the other (LISTEN/NOTIFY).
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest } from '../support/http.js';
import { testPki, type TestPki } from '../support/pki.js';
import { serverEnv, startServerProcess, type ServerProcess } from '../support/process.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';
import { untilWaiters } from '../support/db-sql.js';

const HOSTS = 30;
const OPERATIONS = 200;
const BATCH = 10;
const LOCKS = { 'prop-one': 1, 'prop-two': 2, 'prop-three': 3 } as const;
type LockName = keyof typeof LOCKS;
const ADMIN: [string, string] = ['admin', 'property-test-admin'];

/** mulberry32: a small seeded generator, so a failing run can be replayed */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('random operations against two instances on one PostgreSQL', () => {
  let db: TestDatabase;
  let pki: TestPki;
  let servers: ServerProcess[] = [];
  const agents = Array.from({ length: HOSTS }, () => new https.Agent({ keepAlive: true, maxSockets: 2 }));

  beforeAll(async () => {
    pki = await testPki();
    db = await createTestDatabase('postgres');
    const env = serverEnv(db, pki, ADMIN[1]);
    servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) a.destroy();
    await Promise.all(servers.map((s) => s.stop()));
    await db?.dispose();
  });

  const admin = (path: string, method = 'GET', body?: unknown) =>
    httpsRequest(servers[0]!.url, pki.ca.certPem, method, path, { user: ADMIN, body });

  it(`${OPERATIONS} random operations keep every invariant`, async () => {
    const seed = Number(process.env.PROPERTY_SEED ?? Date.now() % 100_000);
    const rand = random(seed);
    for (const [name, max] of Object.entries(LOCKS)) {
      expect((await admin('/api/dlmlocks', 'POST', { name, max_holders: max })).status).toBe(201);
    }
    const certs = await Promise.all(Array.from({ length: HOSTS }, (_, i) => pki.host(`prop${i}`)));
    const believed = new Map<LockName, Map<number, number>>(); // lock → host → token
    for (const name of Object.keys(LOCKS) as LockName[]) believed.set(name, new Map());
    const highest = new Map<LockName, number>();

    for (let done = 0; done < OPERATIONS; done += BATCH) {
      // one operation per host per batch, so a host's own operations never race each other
      const hosts = new Set<number>();
      while (hosts.size < BATCH) hosts.add(Math.floor(rand() * HOSTS));
      const ops = [...hosts].map((host) => {
        const lock = (Object.keys(LOCKS) as LockName[])[Math.floor(rand() * 3)]!;
        const holds = believed.get(lock)!.has(host);
        const kind = holds ? (rand() < 0.6 ? 'release' : 'refresh') : 'acquire';
        return { host, lock, kind, server: servers[Math.floor(rand() * 2)]! };
      });
      const answers = await Promise.all(
        ops.map((op) =>
          httpsRequest(
            op.server.url,
            pki.ca.certPem,
            op.kind === 'release' ? 'DELETE' : 'PUT',
            `/api/dlmlocks/${op.lock}/lock`,
            {
              cert: certs[op.host],
              agent: agents[op.host],
            },
          ),
        ),
      );
      const batchTokens = new Map<LockName, number[]>();
      ops.forEach((op, i) => {
        const r = answers[i]!;
        const context = `seed ${seed}, ${op.kind} ${op.lock} by prop${op.host}`;
        expect([200, 412], context).toContain(r.status);
        if (op.kind === 'release') {
          expect(r.status, context).toBe(200);
          believed.get(op.lock)!.delete(op.host);
        } else if (op.kind === 'refresh') {
          expect(r.status, context).toBe(200);
          expect(r.json.fencing_token, context).toBe(believed.get(op.lock)!.get(op.host));
        } else if (r.status === 200) {
          const token = r.json.fencing_token as number;
          believed.get(op.lock)!.set(op.host, token);
          batchTokens.set(op.lock, [...(batchTokens.get(op.lock) ?? []), token]);
        }
      });
      for (const [lock, tokens] of batchTokens) {
        expect(new Set(tokens).size, `seed ${seed}: duplicate token on ${lock}`).toBe(tokens.length);
        for (const t of tokens)
          expect(t, `seed ${seed}: token went back on ${lock}`).toBeGreaterThan(highest.get(lock) ?? 0);
        highest.set(lock, Math.max(...tokens));
      }
      for (const [lock, max] of Object.entries(LOCKS) as [LockName, number][]) {
        const show = await admin(`/api/dlmlocks/${lock}`);
        const holders = show.json.holders.map((h: { name: string }) => h.name).sort();
        expect(holders.length, `seed ${seed}: ${lock} over max_holders`).toBeLessThanOrEqual(max);
        const expected = [...believed.get(lock)!.keys()].map((h) => `prop${h}`).sort();
        expect(holders, `seed ${seed}: acknowledged holders of ${lock}`).toEqual(expected);
      }
    }
  });

  it('a blocking acquire on one instance is woken by a release on the other', async () => {
    const [a, b] = [await pki.host('cross-a'), await pki.host('cross-b')];
    const held = await httpsRequest(servers[0]!.url, pki.ca.certPem, 'PUT', '/api/dlmlocks/cross/lock', {
      cert: a,
    });
    expect(held.status).toBe(200);
    // The waiter would give up only after 120 s, past this test's time limit: a 200 here means
    // the release on the other instance woke it through LISTEN/NOTIFY.
    const waiting = httpsRequest(
      servers[1]!.url,
      pki.ca.certPem,
      'PUT',
      '/api/dlmlocks/cross/lock?wait=120',
      {
        cert: b,
      },
    );
    await untilWaiters(db, 1);
    expect(
      (await httpsRequest(servers[0]!.url, pki.ca.certPem, 'DELETE', '/api/dlmlocks/cross/lock', { cert: a }))
        .status,
    ).toBe(200);
    const granted = await waiting;
    expect(granted.status, granted.text).toBe(200);
    expect(granted.json.host.name).toBe('cross-b');
  }, 60_000);
});
