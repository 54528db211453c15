// A window that closes while hosts wait (PUT …/lock?wait=) answers them when it closes: 412
// `outside_window` with the next opening, as a pause or blackout an operator sets does. The
// clock alone changes nothing in the database, so no change wakes them; each waiter sleeps no
// longer than until its calendar closes (nextClosingAt, src/lock/calendar.ts).
//
// Windows start and end on whole minutes: the test's window closes at the first minute
// boundary at least 8 s away, and the waiters ask 7 s before it. The first local waiter of a
// lock re-checks without being woken every 10 s after it queued (src/service/wait-queue.ts),
// so only the closing itself answers them within ANSWER_MS of it. Both stores at once (the
// test mostly sleeps); no timing is asserted beyond that bound.
import { describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { untilWaiters } from '../support/db-sql.js';
import { resolvesWithin } from '../support/within.js';

const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const MINUTE = 60_000;
const ANSWER_MS = 2_500;
const rendered = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`;
const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));

/** A window open now (UTC, from this minute's start) that closes on a minute boundary ≥ 8 s ahead. */
function closingWindow(now: number) {
  const start = Math.floor(now / MINUTE) * MINUTE;
  const minutes = start + MINUTE - now >= 8_000 ? 1 : 2;
  const at = new Date(start);
  const hhmm = `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
  return {
    window: { days: [DAYS[at.getUTCDay()]!], start: hhmm, duration_minutes: minutes, time_zone: 'UTC' },
    closesAt: start + minutes * MINUTE,
  };
}

describe('a window closing answers the hosts waiting for its lock', () => {
  it.concurrent.each(STORES)(
    'on %s: every waiter hears outside_window when the window closes',
    async (kind) => {
      const s = await startTestServer(kind);
      try {
        const { window, closesAt } = closingWindow(Date.now());
        const lock = `closing-${kind}`;
        const created = await s.asAdmin('POST', '/api/dlmlocks', { body: { name: lock, windows: [window] } });
        expect(created.status, created.text).toBe(201);
        expect((await s.asHost('cw-holder', 'PUT', `/api/dlmlocks/${lock}/lock`)).status).toBe(200);

        await sleepUntil(closesAt - 7_000);
        const waiters = ['cw-first', 'cw-second'].map((host) =>
          s.asHost(host, 'PUT', `/api/dlmlocks/${lock}/lock?wait=120`),
        );
        await untilWaiters(s.db, 2);
        const answers = await resolvesWithin(
          Promise.all(waiters),
          closesAt + ANSWER_MS - Date.now(),
          'the waiters, after the window closed',
        );
        expect(Date.now()).toBeGreaterThanOrEqual(closesAt);
        for (const r of answers) {
          expect(r.status).toBe(412);
          expect(r.headers['x-lock-reason']).toBe('outside_window');
          // the same window, a week later
          expect(r.headers['x-lock-next-window']).toBe(
            rendered(closesAt - window.duration_minutes * MINUTE + 7 * 24 * 60 * MINUTE),
          );
        }
        await untilWaiters(s.db, 0);
      } finally {
        await s.close();
      }
    },
    90_000,
  );
});
