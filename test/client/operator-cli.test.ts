// The operator commands (`keyholder locks|hosts|events`) against a real keyholder on each store,
// over the HTTP API with an API token: create a semaphore, list and show it, force-release one
// holder and then all with a reason (in the event and the audit trail) while `events tail` of
// the lock and of every lock watch, bar a host (its next acquire gets 412), and the errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { removeClientBundle } from './support/bundle.js';
import { runCli, startCli, waitFor } from './support/run-cli.js';

afterAll(removeClientBundle);

describe.each(STORES)('operator commands (%s)', (kind) => {
  let s: TestServer;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    s = await startTestServer(kind);
    const created = await s.asAdmin('POST', '/api/tokens', { body: { user: 'admin', name: 'cli' } });
    expect(created.status).toBe(201);
    env = { KEYHOLDER_URL: s.url, KEYHOLDER_TOKEN: (created.json as { token: string }).token };
  });
  afterAll(() => s?.close());

  const op = (...args: string[]) => runCli([...args, '--cacert', s.pki.caPath], { env });
  const acquireAs = (host: string, lock: string) =>
    s.asHost(host, 'PUT', `/api/dlmlocks/${encodeURIComponent(lock)}/lock`, {
      headers: { 'content-type': 'application/json' },
    });

  // about twenty client processes (each a Node start) and two tails: more than the default timeout
  it('creates, lists, shows and force-releases a semaphore while events tail follows', async () => {
    const created = await op('locks', 'create', 'reboot-slots', '--max-holders', '2', '--lease', '600');
    expect([created.code, created.stdout.trim()]).toEqual([0, "created lock 'reboot-slots'"]);
    expect((await op('locks', 'create', 'quiet')).code).toBe(0);
    for (const host of ['web01.example.com', 'web02.example.com']) {
      expect((await acquireAs(host, 'reboot-slots')).status).toBe(200);
    }

    const table = await op('locks', 'list');
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^NAME\s+STATE\s+HOLDERS\s+MAX\s+LEASE/);
    expect(table.stdout).toMatch(/\nreboot-slots\s+held\s+2\s+2\s+600s/);
    expect(table.stdout).toMatch(/\nquiet\s+free\s+0\s+1\s+-/);
    const held = await op('locks', 'list', '--held', '--json');
    expect((JSON.parse(held.stdout) as { name: string }[]).map((l) => l.name)).toEqual(['reboot-slots']);

    const shown = await op('locks', 'show', 'reboot-slots');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain("lock 'reboot-slots': held");
    expect(shown.stdout).toMatch(/web01\.example\.com\s+\S+ \S+ UTC\s+1\s/);
    expect(shown.stdout).toMatch(/web02\.example\.com\s+\S+ \S+ UTC\s+2\s/);

    // one tail of this lock, one of every lock (GET /api/events)
    const tail = await startCli(['events', 'tail', '--lock', 'reboot-slots', '--cacert', s.pki.caPath], {
      env,
    });
    const tailAll = await startCli(['events', 'tail', '--cacert', s.pki.caPath], { env });
    await waitFor('the tail to show the past acquires', () => tail.stdout().split('acquire').length > 2);
    await waitFor('the tail of every lock to show them', () =>
      /reboot-slots\s+acquire\s+web02\.example\.com/.test(tailAll.stdout()),
    );

    const noReason = await op('locks', 'release', 'reboot-slots');
    expect([noReason.code, noReason.stderr]).toEqual([2, expect.stringMatching(/--reason/)]);

    const reason = 'web01 died mid-update';
    const one = await op(
      'locks',
      'release',
      'reboot-slots',
      '--holder',
      'web01.example.com',
      '--reason',
      reason,
    );
    expect([one.code, one.stdout.trim()]).toEqual([0, "released lock 'reboot-slots' from web01.example.com"]);
    const holders = async () =>
      (
        (await s.asAdmin('GET', '/api/dlmlocks/reboot-slots')).json as { holders: { name: string }[] }
      ).holders.map((h) => h.name);
    expect(await holders()).toEqual(['web02.example.com']);
    // the event names the operator and says why; so does the audit trail
    const line = /force_release\s+web01\.example\.com, user admin {2}\(web01 died mid-update\)/;
    await waitFor('the tail to see the release', () => line.test(tail.stdout()));
    await waitFor('the tail of every lock to see it', () =>
      new RegExp(`reboot-slots\\s+${line.source}`).test(tailAll.stdout()),
    );
    const events = await s.asAdmin('GET', '/api/dlmlocks/reboot-slots/dlmlock_events');
    expect((events.json as { results: unknown[] }).results[0]).toMatchObject({
      event_type: 'force_release',
      host: { name: 'web01.example.com' },
      user: { login: 'admin' },
      detail: reason,
    });
    const audit = await s.asAdmin('GET', '/api/audit?event_type=lock_force_release');
    expect((audit.json as { results: unknown[] }).results[0]).toMatchObject({
      actor: { login: 'admin' },
      target: 'reboot-slots',
      detail: `released web01.example.com: ${reason}`,
    });

    const rest = await op('locks', 'release', 'reboot-slots', '--reason', 'maintenance over', '--json');
    expect(rest.code).toBe(0);
    expect(JSON.parse(rest.stdout)).toMatchObject({ name: 'reboot-slots', holders: [] });
    await waitFor('the tail to see the last release', () =>
      /force_release\s+web02\.example\.com/.test(tail.stdout()),
    );
    for (const t of [tail, tailAll]) {
      t.child.kill('SIGTERM');
      await t.done;
    }
    expect(await holders()).toEqual([]);

    const window = { days: ['sun'], start: '02:00', duration_minutes: 120, time_zone: 'Europe/Berlin' };
    const set = await op('locks', 'set', 'quiet', '--lease', '30', '--window', JSON.stringify(window));
    expect(set.code).toBe(0);
    expect((await s.asAdmin('GET', '/api/dlmlocks/quiet')).json).toMatchObject({
      lease_seconds: 30,
      windows: [window],
    });
    expect((await op('locks', 'disable', 'quiet')).code).toBe(0);
    expect((await acquireAs('web03.example.com', 'quiet')).status).toBe(412);
    expect((await op('locks', 'delete', 'quiet')).code).toBe(0);
    expect((await s.asAdmin('GET', '/api/dlmlocks/quiet')).status).toBe(404);
  }, 120_000);

  it('nested locks: create --parent, show prints the chain and the via slots, set --no-parent', async () => {
    expect((await op('locks', 'create', 'dc-berlin', '--max-holders', '2')).code).toBe(0);
    const child = await op('locks', 'create', 'cluster-a', '--parent', 'dc-berlin');
    expect([child.code, child.stderr]).toEqual([0, '']);
    expect((await op('locks', 'create', 'web-a1', '--parent', 'cluster-a')).code).toBe(0);
    expect((await acquireAs('web-a1.example.com', 'web-a1')).status).toBe(200);
    const shown = await op('locks', 'show', 'web-a1');
    expect(shown.stdout).toContain('chain:       web-a1 → cluster-a → dc-berlin');
    const top = await op('locks', 'show', 'dc-berlin');
    expect(top.stdout).toContain('children:    cluster-a');
    expect(top.stdout).toMatch(/web-a1\.example\.com\s.*via cluster-a/);
    expect((await s.asHost('web-a1.example.com', 'DELETE', '/api/dlmlocks/web-a1/lock')).status).toBe(200);
    const detached = await op('locks', 'set', 'web-a1', '--no-parent', '--json');
    expect(detached.code).toBe(0);
    expect((JSON.parse(detached.stdout) as { parent: string | null }).parent).toBeNull();
  });

  it('bars a host (its next acquire gets 412) and lets it back', async () => {
    expect((await acquireAs('db01.example.com', 'db')).status).toBe(200);
    expect((await acquireAs('db01.example.com', 'db')).status).toBe(200);
    const barred = await op('hosts', 'bar', 'db01.example.com');
    expect([barred.code, barred.stdout.trim()]).toEqual([0, 'barred host db01.example.com']);
    expect((await acquireAs('db01.example.com', 'other')).status).toBe(412);
    const list = await op('hosts', 'list');
    expect(list.stdout).toMatch(/\ndb01\.example\.com\s+NO \(barred\)\s+1\s/);
    expect((await op('hosts', 'show', 'db01.example.com')).stdout).toContain('holds: db');
    expect((await op('hosts', 'unbar', 'db01.example.com')).code).toBe(0);
    expect((await acquireAs('db01.example.com', 'other')).status).toBe(200);
  });

  it('errors: no token or a wrong one, an unknown lock, a usage error', async () => {
    const noToken = await runCli(['locks', 'list', '--cacert', s.pki.caPath], {
      env: { KEYHOLDER_URL: s.url },
    });
    expect([noToken.code, noToken.stderr.trim()]).toEqual([
      2,
      'keyholder: no API token: set KEYHOLDER_TOKEN or pass --token-file',
    ]);
    const wrong = await runCli(['locks', 'list', '--cacert', s.pki.caPath], {
      env: { ...env, KEYHOLDER_TOKEN: 'not-a-token' },
    });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('not authorised (HTTP 401)');
    const unknown = await op('locks', 'show', 'no-such-lock');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('not found');
    expect((await op('locks', 'create', 'x', '--max-holders', 'many')).code).toBe(2);
  });
});
