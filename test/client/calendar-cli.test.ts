// Blackouts and pauses from the command line against a real keyholder on each store:
// `locks create|set --blackout … --paused-until … --pause-reason …`, `locks show`, and
// `keyholder pause|resume` for every lock and for one (`--lock`); plus the argument parsing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectBlackout, untilArg } from '../../client/src/commands/calendar.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { removeClientBundle } from './support/bundle.js';
import { runCli } from './support/run-cli.js';

afterAll(removeClientBundle);

describe('blackout and pause arguments', () => {
  it('reads FROM[..TO][@ZONE][:REASON], UTC and a single day by default', () => {
    expect(collectBlackout('2026-12-20..2027-01-06@Europe/Berlin:year-end freeze')).toEqual([
      { from: '2026-12-20', to: '2027-01-06', time_zone: 'Europe/Berlin', reason: 'year-end freeze' },
    ]);
    expect(collectBlackout('2027-05-01', [])).toEqual([
      { from: '2027-05-01', to: '2027-05-01', time_zone: 'UTC' },
    ]);
    expect(collectBlackout('none', [{ from: 'x', to: 'x', time_zone: 'UTC' }])).toEqual([]);
    expect(() => collectBlackout('christmas')).toThrow(/expected FROM\[\.\.TO\]/);
  });

  it('reads a time (UTC without an offset) or a duration from now', () => {
    const now = Date.parse('2026-11-28T12:00:00Z');
    expect(untilArg('2h', now)).toBe('2026-11-28T14:00:00.000Z');
    expect(untilArg('1w', now)).toBe('2026-12-05T12:00:00.000Z');
    expect(untilArg('2026-12-24T18:00', now)).toBe('2026-12-24T18:00:00.000Z');
    expect(untilArg('2026-12-24T18:00+01:00', now)).toBe('2026-12-24T17:00:00.000Z');
    expect(() => untilArg('soon', now)).toThrow(/duration/);
  });
});

describe.each(STORES)('pause and blackout commands (%s)', (kind) => {
  let s: TestServer;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    s = await startTestServer(kind);
    const created = await s.asAdmin('POST', '/api/tokens', { body: { user: 'admin', name: 'cli' } });
    env = { KEYHOLDER_URL: s.url, KEYHOLDER_TOKEN: (created.json as { token: string }).token };
  });
  afterAll(() => s?.close());

  const op = (...args: string[]) => runCli([...args, '--cacert', s.pki.caPath], { env });
  const acquire = (host: string, lock: string) => s.asHost(host, 'PUT', `/api/dlmlocks/${lock}/lock`);

  it('sets blackouts and a lock pause, shows them, pauses and resumes every lock', async () => {
    const created = await op(
      'locks',
      'create',
      'frozen',
      '--blackout',
      '2026-12-20..2027-01-06@Europe/Berlin:year-end freeze',
      '--blackout',
      '2027-05-01',
    );
    expect([created.code, created.stdout.trim()]).toEqual([0, "created lock 'frozen'"]);
    const set = await op(
      'locks',
      'set',
      'frozen',
      '--paused-until',
      '2h',
      '--pause-reason',
      'kernel regression',
    );
    expect(set.code, set.stderr).toBe(0);
    const shown = await op('locks', 'show', 'frozen');
    expect(shown.stdout).toContain(
      '  blackout:    2026-12-20 to 2027-01-06 (Europe/Berlin): year-end freeze\n',
    );
    expect(shown.stdout).toContain('  blackout:    2027-05-01 (UTC)\n');
    expect(shown.stdout).toMatch(/ {2}paused until \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC: kernel regression\n/);
    expect(shown.stdout).toMatch(/ {2}next opening: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\n/);
    expect((await acquire('c1', 'frozen')).headers['x-lock-reason']).toBe('paused');
    expect((await op('resume', '--lock', 'frozen')).stdout.trim()).toBe("resumed lock 'frozen'");
    expect((await acquire('c1', 'frozen')).status).toBe(200);

    const bad = await op('locks', 'set', 'frozen', '--blackout', '2027-01-02..2027-01-01');
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringMatching(/from must not be after to/)]);

    const paused = await op('pause', '--until', '1h', '--reason', 'incident 42');
    expect([paused.code, paused.stdout]).toEqual([
      0,
      expect.stringMatching(/^paused every lock until .+ UTC\n$/),
    ]);
    expect((await acquire('c2', 'anything')).headers['x-lock-reason']).toBe('paused');
    expect((await op('resume')).stdout.trim()).toBe('resumed every lock');
    expect((await acquire('c2', 'anything')).status).toBe(200);
    const past = await op('pause', '--until', '2001-01-01T00:00');
    expect([past.code, past.stderr]).toEqual([2, expect.stringMatching(/has passed already/)]);
  }, 60_000);
});
