// Nested locks: an ancestor's closed calendar (outside its windows, a blackout, a pause) refuses
// a child's acquire naming the level, and says when that level opens — the same body and
// X-Lock-Next-Window as a refusal by the ancestor itself. Over real HTTPS on both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const DAY = 86_400_000;
const rendered = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
const PRECONDITION = (id: number) =>
  JSON.stringify({
    error: { id, message: 'Precondition failed. Lock is in invalid state for this operation.' },
  });

describe.each(STORES)("an ancestor's calendar refusal says when it opens on %s", (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  const acquire = (host: string, lock: string) => s.asHost(host, 'PUT', `/api/dlmlocks/${lock}/lock`);
  const create = async (name: string, attrs: Record<string, unknown> = {}) => {
    const r = await s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name, ...attrs } } });
    expect(r.status, r.text).toBe(201);
    return r.json as { id: number };
  };
  const startOfTodayUtc = () => {
    const now = new Date();
    return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  };

  it('outside_window@level: the next window of that level, in the header and the body', async () => {
    const tomorrow = DAYS[(new Date().getUTCDay() + 1) % 7]!;
    const window = { days: [tomorrow], start: '00:00', duration_minutes: 60, time_zone: 'UTC' };
    const dc = `dc-window-${kind}`;
    await create(dc, { windows: [window], max_holders: 5 });
    const rack = await create(`rack-window-${kind}`, { parent: dc });
    const opening = rendered(startOfTodayUtc() + DAY);

    const own = await acquire('aw-1', dc);
    expect(own.headers['x-lock-reason']).toBe('outside_window');
    expect(own.headers['x-lock-next-window']).toBe(opening);

    const r = await acquire('aw-1', `rack-window-${kind}`);
    expect(r.status).toBe(412);
    expect(r.headers['x-lock-reason']).toBe(`outside_window@${dc}`);
    expect(r.headers['x-lock-next-window']).toBe(opening);
    expect(r.json.error).toEqual({
      id: rack.id,
      message: `Precondition failed. Lock is in invalid state for this operation. The lock's ancestor '${dc}' is outside its maintenance windows; the next window opens ${opening}.`,
      next_window_at: opening,
    });
  });

  it("blackout@level and paused@level: foreman_dlm's body, that level's next opening in the header", async () => {
    const today = new Date(startOfTodayUtc()).toISOString().slice(0, 10);
    const frozen = `dc-frozen-${kind}`;
    await create(frozen, { blackouts: [{ from: today, to: today, time_zone: 'UTC' }] });
    const below = await create(`rack-frozen-${kind}`, { parent: frozen });
    const b = await acquire('ab-1', `rack-frozen-${kind}`);
    expect(b.status).toBe(412);
    expect(b.text).toBe(PRECONDITION(below.id));
    expect(b.headers['x-lock-reason']).toBe(`blackout@${frozen}`);
    expect(b.headers['x-lock-next-window']).toBe(rendered(startOfTodayUtc() + DAY));

    const until = Date.now() + 3_600_000;
    const paused = `dc-paused-${kind}`;
    await create(paused, { paused_until: new Date(until).toISOString() });
    const leaf = await create(`rack-paused-${kind}`, { parent: paused });
    const p = await acquire('ap-1', `rack-paused-${kind}`);
    expect(p.status).toBe(412);
    expect(p.text).toBe(PRECONDITION(leaf.id));
    expect(p.headers['x-lock-reason']).toBe(`paused@${paused}`);
    expect(p.headers['x-lock-next-window']).toBe(rendered(until));
    // the ancestor's own refusal says the same
    expect((await acquire('ap-1', paused)).headers['x-lock-next-window']).toBe(rendered(until));
  });
});
