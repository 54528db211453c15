// Check-and-set under contention, in one process, on every store: many hosts race for one
// free lock, round after round; exactly one wins each time and nothing is lost.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';

const CLIENTS = 50;
const ROUNDS = 5;

describe.each(STORES)('racing hosts on %s', (kind) => {
  let s: TestServer;
  const agents: https.Agent[] = [];
  beforeAll(async () => {
    s = await startTestServer(kind);
    for (let i = 0; i < CLIENTS; i++) agents.push(new https.Agent({ keepAlive: true, maxSockets: 1 }));
  });
  afterAll(async () => {
    for (const a of agents) a.destroy();
    await s?.close();
  });

  it(`${CLIENTS} hosts racing for a free lock: exactly one 200 per round`, async () => {
    const hosts = Array.from({ length: CLIENTS }, (_, i) => `racer${String(i).padStart(2, '0')}`);
    for (let round = 0; round < ROUNDS; round++) {
      const answers = await Promise.all(
        hosts.map((h, i) => s.asHost(h, 'PUT', '/api/dlmlocks/contended/lock', { agent: agents[i] })),
      );
      const winners = answers.filter((a) => a.status === 200);
      expect(winners).toHaveLength(1);
      expect(answers.filter((a) => a.status === 412)).toHaveLength(CLIENTS - 1);
      const winner = winners[0]!.json.host.name as string;
      const show = await s.asAdmin('GET', '/api/dlmlocks/contended');
      expect(show.json.holders.map((h: { name: string }) => h.name)).toEqual([winner]);
      // everyone releases at once: only the winner's release changes anything
      const releases = await Promise.all(
        hosts.map((h, i) => s.asHost(h, 'DELETE', '/api/dlmlocks/contended/lock', { agent: agents[i] })),
      );
      expect(releases.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(1);
      expect((await s.asAdmin('GET', '/api/dlmlocks/contended')).json.host).toBeNull();
    }
    const events = await s.asAdmin('GET', '/api/dlmlocks/contended/dlmlock_events?per_page=1000');
    const types = events.json.results.map((e: { event_type: string }) => e.event_type);
    expect(types.filter((t: string) => t === 'acquire')).toHaveLength(ROUNDS);
    expect(types.filter((t: string) => t === 'release')).toHaveLength(ROUNDS);
  });

  it('many hosts acquiring different locks at once all succeed, each acknowledged acquire kept', async () => {
    const answers = await Promise.all(
      Array.from({ length: CLIENTS }, (_, i) =>
        s.asHost(`racer${String(i).padStart(2, '0')}`, 'PUT', `/api/dlmlocks/own-${i}/lock`, {
          agent: agents[i],
        }),
      ),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const list = await s.asAdmin('GET', '/api/dlmlocks?search=name%20~%20own-&per_page=1000');
    expect(list.json.subtotal).toBe(CLIENTS);
    for (const lock of list.json.results) expect(lock.host).not.toBeNull();
  });
});
