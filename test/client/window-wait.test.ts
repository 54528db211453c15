// A refusal by the lock's calendar that says when it ends (paused, blackout, outside_window, of
// the lock or of a level above, with X-Lock-Next-Window) is not retried on the backoff: the
// client sleeps until the opening and asks then, or gives up at once when the opening comes after
// its deadline. Against a real keyholder over HTTPS, on both stores; the requests are counted at
// the server (each acquire request leaves one event: `fail` when refused, `acquire` when granted).
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientError } from '../../client/src/errors.js';
import { DlmClient } from '../../client/src/http.js';
import { acquireWithRetry, type WindowWait } from '../../client/src/lock-ops.js';
import { explain412 } from '../../client/src/messages.js';
import {
  calendarRefusal,
  describeMoment,
  tooLateLine,
  untilOpeningMs,
} from '../../client/src/window-wait.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { removeClientBundle } from './support/bundle.js';
import { writeHostFiles } from './support/pki.js';
import { runCli } from './support/run-cli.js';
import { makeSimHost } from './support/sim-host.js';

afterAll(removeClientBundle);

describe('calendar refusals (pure rules)', () => {
  it('only paused, blackout and outside_window with a readable X-Lock-Next-Window', () => {
    const next = '2026-11-29 01:00:00 UTC';
    const date = 'Sat, 28 Nov 2026 23:00:00 GMT';
    expect(calendarRefusal('paused', next, date)).toEqual({
      reason: 'paused',
      level: undefined,
      opensAt: Date.UTC(2026, 10, 29, 1),
      serverNow: Date.UTC(2026, 10, 28, 23),
    });
    expect(calendarRefusal('blackout@dc@berlin', next, undefined)).toMatchObject({
      reason: 'blackout',
      level: 'dc@berlin',
      serverNow: undefined,
    });
    expect(calendarRefusal('outside_window', '2026-11-29T01:00:00Z', undefined)?.opensAt).toBe(
      Date.UTC(2026, 10, 29, 1),
    );
    // no header (Foreman, or nothing opens within the look-ahead): the ordinary backoff
    expect(calendarRefusal('paused', undefined, date)).toBeUndefined();
    expect(calendarRefusal('paused', 'soon', date)).toBeUndefined();
    expect(calendarRefusal('held', next, date)).toBeUndefined();
    expect(calendarRefusal('held@paused', next, date)).toBeUndefined();
    expect(calendarRefusal(undefined, next, date)).toBeUndefined();
  });

  it("measures the wait on the server's clock, a second more for the rounding", () => {
    const refusal = calendarRefusal('paused', '2026-11-29 01:00:00 UTC', 'Sat, 28 Nov 2026 23:00:00 GMT')!;
    // the client's clock is an hour off: the server's says two hours
    expect(untilOpeningMs(refusal, Date.UTC(2026, 10, 28, 22))).toBe(7_200_000 + 1000);
    const noDate = { ...refusal, serverNow: undefined };
    expect(untilOpeningMs(noDate, Date.UTC(2026, 10, 29, 0, 59, 59))).toBe(2000);
    expect(untilOpeningMs(noDate, Date.UTC(2026, 10, 29, 2))).toBe(1000);
  });

  it('says the reason, the level and when the lock opens (local time and ISO)', () => {
    const opensAt = Date.UTC(2026, 10, 29, 1);
    const iso = '2026-11-29T01:00:00.000Z';
    expect(describeMoment(opensAt)).toMatch(
      new RegExp(`^2026-11-\\d\\d \\d\\d:\\d\\d:00 [+-]\\d\\d:\\d\\d \\(${iso.replace(/\./g, '\\.')}\\)$`),
    );
    const own = { reason: 'paused', level: undefined, opensAt, serverNow: undefined };
    expect(tooLateLine('web', own)).toBe(
      `cannot acquire lock 'web': lock 'web' is paused by an operator (paused); it opens ${describeMoment(opensAt)}, after the time given to wait; not waiting`,
    );
    const above = { ...own, reason: 'blackout', level: 'dc-berlin' };
    expect(tooLateLine('web', above)).toMatch(
      /^cannot acquire lock 'web': lock 'dc-berlin' above lock 'web' is in a blackout \(blackout@dc-berlin\); it opens /,
    );
  });

  it("a level's refusal is worded like the lock's own, naming the level", () => {
    expect(explain412('acquire', { reason: 'held@cluster-a' }, undefined, undefined).why).toBe(
      "held by another host, at lock 'cluster-a' above it",
    );
    expect(explain412('acquire', { reason: 'paused@dc' }, undefined, undefined)).toEqual({
      reason: 'paused@dc',
      why: "an operator paused new holders (this lock or every lock), at lock 'dc' above it",
    });
    // a refusal that ends at a known moment says when, as outside_window does
    const nextWindow = '2026-11-29 01:00:00 UTC';
    expect(explain412('acquire', { reason: 'blackout', nextWindow }, undefined, undefined).why).toBe(
      `the lock is in a blackout (no new holders on these days); it opens ${describeMoment(Date.UTC(2026, 10, 29, 1))}`,
    );
    expect(explain412('acquire', { reason: 'quota@dc', nextWindow }, undefined, undefined).why).toBe(
      'refused by the server (quota@dc)',
    );
  });
});

describe.each(STORES)('waiting for the window against keyholder on %s', (kind) => {
  let s: TestServer;
  let dir: string;
  beforeAll(async () => {
    s = await startTestServer(kind);
    dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-window-wait-'));
  });
  afterAll(async () => {
    await s?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const enc = encodeURIComponent;
  const create = async (name: string, attrs: Record<string, unknown> = {}) => {
    const r = await s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name, ...attrs } } });
    expect(r.status, r.text).toBe(201);
  };
  const pause = async (name: string, until: number) => {
    const r = await s.asAdmin('PUT', `/api/dlmlocks/${enc(name)}`, {
      body: { paused_until: new Date(until).toISOString() },
    });
    expect(r.status, r.text).toBe(200);
  };
  /** acquire requests the server answered this host for this lock */
  const requests = async (lock: string, host: string) => {
    const r = await s.asAdmin('GET', `/api/dlmlocks/${enc(lock)}/dlmlock_events?per_page=1000`);
    const events = (r.json as { results: { event_type: string; host: { name: string } | null }[] }).results;
    return events
      .filter((e) => e.host?.name === host && (e.event_type === 'acquire' || e.event_type === 'fail'))
      .map((e) => e.event_type);
  };
  const clientFor = async (host: string) => {
    const keyed = await s.host(host);
    return new DlmClient({
      url: s.url,
      tls: {
        cert: Buffer.from(keyed.certPem),
        key: Buffer.from(keyed.keyPem),
        ca: Buffer.from(s.pki.ca.certPem),
      },
    });
  };

  it('sleeps through a pause and acquires after it, with a bounded number of requests', async () => {
    const lock = `paused-briefly-${kind}`;
    const host = 'ww-sleeper.example.com';
    await create(lock);
    const until = Date.now() + 3_000;
    await pause(lock, until);
    const client = await clientFor(host);
    const waits: WindowWait[] = [];
    // A backoff of 100–200 ms would have asked ~20 times during the 3 s pause.
    const held = await acquireWithRetry(client, lock, host, {
      timeoutMs: 20_000,
      waitSeconds: 20,
      minDelayMs: 100,
      maxDelayMs: 200,
      onWindowWait: (w) => waits.push(w),
    });
    expect(Date.now()).toBeGreaterThanOrEqual(until);
    expect(held.lock.holders?.map((h) => h.name)).toEqual([host]);
    expect(held.fencingToken).toMatch(/^\d+$/);
    expect(waits.length).toBeGreaterThanOrEqual(1);
    expect(waits[0]!.refusal.calendar).toMatchObject({ reason: 'paused', level: undefined });
    // refused once (or, with a clock a second off, twice), then granted
    const seen = await requests(lock, host);
    expect(seen.filter((e) => e === 'acquire')).toEqual(['acquire']);
    expect(seen.length, seen.join()).toBeLessThanOrEqual(3);
  }, 30_000);

  it("keeps today's backoff for a refusal without an opening (held)", async () => {
    const lock = `held-${kind}`;
    await create(lock);
    expect((await s.asHost('ww-holder', 'PUT', `/api/dlmlocks/${enc(lock)}/lock`)).status).toBe(200);
    const client = await clientFor('ww-poller');
    const waits: WindowWait[] = [];
    const err = await acquireWithRetry(client, lock, 'ww-poller', {
      timeoutMs: 1_500,
      waitSeconds: 0,
      minDelayMs: 100,
      maxDelayMs: 200,
      onWindowWait: (w) => waits.push(w),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ClientError);
    expect((err as ClientError).details.reason).toBe('held');
    expect(waits).toEqual([]);
    expect((await requests(lock, 'ww-poller')).length).toBeGreaterThan(2);
  }, 30_000);

  it("gives up at once when an ancestor's pause ends after --wait, saying when it opens", async () => {
    const parent = `dc-paused-${kind}`;
    const child = `rack-under-pause-${kind}`;
    const host = 'ww-impatient.example.com';
    await create(parent, { max_holders: 5 });
    await create(child, { parent });
    const until = Date.now() + 3_600_000;
    await pause(parent, until);
    const files = await writeHostFiles(path.join(dir, 'hosts'), host, await s.host(host));
    const r = await runCli([
      'lock',
      'acquire',
      child,
      '--wait',
      '600',
      '--url',
      s.url,
      '--cert',
      files.cert,
      '--key',
      files.key,
      '--cacert',
      s.pki.caPath,
    ]);
    expect(r.code).toBe(1);
    const opens = describeMoment(Math.floor(until / 1000) * 1000);
    expect(r.stderr.trim()).toBe(
      `keyholder: cannot acquire lock '${child}': lock '${parent}' above lock '${child}' is paused by an operator (paused@${parent}); it opens ${opens}, after the time given to wait; not waiting`,
    );
    expect(await requests(child, host)).toEqual(['fail']);
  }, 30_000);

  it('keyholder update logs that it waits for the window, then runs once the pause is over', async () => {
    const lock = `updates-paused-${kind}`;
    const host = 'ww-update.example.com';
    await create(lock);
    const until = Date.now() + 3_000;
    await pause(lock, until);
    const files = await writeHostFiles(path.join(dir, 'hosts'), host, await s.host(host));
    // the backoff asks every 0.2–1 s (sim-host's config); the spread is then at most 1 s
    const h = await makeSimHost(dir, { url: s.url, lock, files, cacert: s.pki.caPath });
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('update.d', '10-apply');
    const r = await runCli(['update', '--config', h.config]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `lock '${lock}' is paused by an operator; waiting for the window, it opens .*; asking again in \\ds`,
      ),
    );
    expect(r.stdout).toContain(`update finished, lock '${lock}' released`);
    expect(await h.marks()).toContain(`update 10-apply ${lock} ${host}`);
    expect((await requests(lock, host)).length).toBeLessThanOrEqual(3);
  }, 30_000);
});
