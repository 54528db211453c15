// GET /api/events: every lock's events as one stream. A reader starts from the newest and then
// pages on with after_id, oldest first, and sees each event exactly once (events younger than
// the settle time wait, so the test waits it out); bad cursors get a 422, hosts a 401.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVENT_SETTLE_MS } from '../../src/store/webhook-feed.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

interface StreamEvent {
  id: number;
  event_type: string;
  host: { name: string } | null;
  lock: { id: number | null; name: string };
}
interface StreamPage {
  per_page: number;
  last_id: number;
  results: StreamEvent[];
}

const settled = () => new Promise((resolve) => setTimeout(resolve, EVENT_SETTLE_MS + 200));

describe.each(STORES)('GET /api/events on %s', (kind) => {
  let s: TestServer;
  const page = async (query: string) => {
    const r = await s.asAdmin('GET', `/api/events${query}`);
    expect(r.status, r.text).toBe(200);
    return r.json as StreamPage;
  };
  beforeAll(async () => {
    s = await startTestServer(kind);
    for (const lock of ['a', 'b']) {
      expect((await s.asHost('web01', 'PUT', `/api/dlmlocks/${lock}/lock`)).status).toBe(200);
    }
    await settled();
  });
  afterAll(() => s?.close());

  it('starts at the newest events and pages on with after_id, each event once, across locks', async () => {
    const newest = await page('?per_page=1');
    expect(newest.results.map((e) => [e.lock.name, e.event_type])).toEqual([['b', 'acquire']]);
    expect(newest.last_id).toBe(newest.results[0]!.id);

    expect((await s.asHost('web02', 'PUT', '/api/dlmlocks/a/lock')).status).toBe(412);
    expect((await s.asHost('web01', 'DELETE', '/api/dlmlocks/a/lock')).status).toBe(200);
    await settled();

    const next = await page(`?after_id=${newest.last_id}&per_page=1`);
    const rest = await page(`?after_id=${next.last_id}`);
    const seen = [...next.results, ...rest.results];
    expect(seen.map((e) => [e.lock.name, e.event_type, e.host?.name])).toEqual([
      ['a', 'fail', 'web02'],
      ['a', 'release', 'web01'],
    ]);
    expect(seen.map((e) => e.id)).toEqual([...seen.map((e) => e.id)].sort((x, y) => x - y));
    expect(rest.last_id).toBe(seen.at(-1)!.id);
    // nothing new: the cursor stays
    expect(await page(`?after_id=${rest.last_id}`)).toMatchObject({ results: [], last_id: rest.last_id });
  });

  it('refuses a bad cursor or page size with 422, and hosts with 401', async () => {
    for (const query of ['?after_id=-1', '?after_id=x', '?after_id=1.5', '?per_page=0']) {
      const r = await s.asAdmin('GET', `/api/events${query}`);
      expect(r.status, query).toBe(422);
    }
    expect((await s.asHost('web01', 'GET', '/api/events')).status).toBe(401);
  });
});
