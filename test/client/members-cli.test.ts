// `keyholder locks create|set --max-holders 10% --members-days N`, `locks show` with the rule
// and its current number, and `locks members NAME [add|remove HOST]`, against a real keyholder
// on each store over the HTTP API with an API token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { removeClientBundle } from './support/bundle.js';
import { runCli } from './support/run-cli.js';

afterAll(removeClientBundle);

describe.each(STORES)('members commands (%s)', (kind) => {
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

  it('creates a "10%" lock, shows rule and number, lists, adds and removes members', async () => {
    const created = await op(
      'locks',
      'create',
      'patch-night',
      '--max-holders',
      '10%',
      '--members-days',
      '14',
    );
    expect([created.code, created.stdout.trim()]).toEqual([0, "created lock 'patch-night'"]);
    for (const host of ['web01', 'web02']) {
      expect((await s.asHost(host, 'PUT', '/api/dlmlocks/patch-night/lock')).status).toBe(
        host === 'web01' ? 200 : 412,
      );
    }
    expect((await op('locks', 'members', 'patch-night', 'add', 'web02')).stdout.trim()).toBe(
      "added web02 to the members of lock 'patch-night'",
    );
    const shown = await op('locks', 'show', 'patch-night');
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('max holders: 1 (10% of 2 members)');
    expect(shown.stdout).toContain('members:     2 (within 14 days)');

    const list = await op('locks', 'members', 'patch-night');
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^HOST\s+SOURCE\s+LAST ACQUIRED\s+LAST CHECK-IN/);
    expect(list.stdout).toMatch(/\nweb01\s+acquired\s+\S+ \S+ UTC/);
    expect(list.stdout).toMatch(/\nweb02\s+operator\s+-\s/);

    expect((await op('locks', 'members', 'patch-night', 'remove', 'web02')).stdout.trim()).toBe(
      "removed web02 from the members of lock 'patch-night'",
    );
    const again = await op('locks', 'members', 'patch-night', 'remove', 'web02');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/was not added to lock 'patch-night' by an operator/);
    expect((await op('locks', 'members', 'patch-night', 'add', 'nobody')).code).toBe(2);
    expect((await op('locks', 'members', 'patch-night', 'kick', 'web01')).code).toBe(2);

    const set = await op('locks', 'set', 'patch-night', '--max-holders', '3', '--json');
    expect(JSON.parse(set.stdout)).toMatchObject({ max_holders: 3, max_holders_rule: 3, members_days: 14 });
    expect((await op('locks', 'set', 'patch-night', '--max-holders', '150%')).code).toBe(2);
    // ten client processes, each a Node start, and the bundle built on first use
  }, 120_000);
});
