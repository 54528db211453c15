// Two real server processes on one PostgreSQL database, 50 hosts racing for one lock through
// both of them, round after round: exactly one holder each round.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest } from '../support/http.js';
import { testPki, type TestPki } from '../support/pki.js';
import { serverEnv, startServerProcess, type ServerProcess } from '../support/process.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';

const CLIENTS = 50;
const ROUNDS = 5;
const ADMIN: [string, string] = ['admin', 'multi-instance-admin'];

describe('two server processes on one PostgreSQL', () => {
  let db: TestDatabase;
  let pki: TestPki;
  let servers: ServerProcess[] = [];
  const agents: https.Agent[] = [];

  beforeAll(async () => {
    pki = await testPki();
    db = await createTestDatabase('postgres');
    const env = serverEnv(db, pki, ADMIN[1]);
    // both start at the same moment: migrations and the bootstrap admin must not collide
    servers = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    for (let i = 0; i < CLIENTS; i++) agents.push(new https.Agent({ keepAlive: true, maxSockets: 1 }));
  }, 60_000);

  afterAll(async () => {
    for (const a of agents) a.destroy();
    await Promise.all(servers.map((s) => s.stop()));
    await db?.dispose();
  });

  it(`${CLIENTS} hosts through two instances: exactly one 200 per round`, async () => {
    const hosts = Array.from({ length: CLIENTS }, (_, i) => `mi-host${i}`);
    const certs = await Promise.all(hosts.map((h) => pki.host(h)));
    const call = (i: number, method: string) =>
      httpsRequest(servers[i % 2]!.url, pki.ca.certPem, method, '/api/dlmlocks/shared-lock/lock', {
        cert: certs[i],
        agent: agents[i],
      });
    for (let round = 0; round < ROUNDS; round++) {
      const answers = await Promise.all(hosts.map((_, i) => call(i, 'PUT')));
      const statuses = answers.map((a) => a.status);
      expect(
        statuses.filter((st) => st === 200),
        JSON.stringify(statuses),
      ).toHaveLength(1);
      expect(statuses.filter((st) => st === 412)).toHaveLength(CLIENTS - 1);
      const winner = hosts[statuses.indexOf(200)]!;
      for (const server of servers) {
        const show = await httpsRequest(server.url, pki.ca.certPem, 'GET', '/api/dlmlocks/shared-lock', {
          user: ADMIN,
        });
        expect(show.json.holders.map((h: { name: string }) => h.name)).toEqual([winner]);
      }
      expect((await call(hosts.indexOf(winner), 'DELETE')).status).toBe(200);
    }
    const events = await httpsRequest(
      servers[0]!.url,
      pki.ca.certPem,
      'GET',
      '/api/dlmlocks/shared-lock/dlmlock_events?per_page=1000',
      { user: ADMIN },
    );
    const types: string[] = events.json.results.map((e: { event_type: string }) => e.event_type);
    expect(types.filter((t) => t === 'acquire')).toHaveLength(ROUNDS);
    expect(types.filter((t) => t === 'fail')).toHaveLength(ROUNDS * (CLIENTS - 1));
    expect(types.filter((t) => t === 'create')).toHaveLength(1);
  });
});
