// `keyholder lock` against a stub that answers like Foreman's foreman_dlm plugin: the client
// must work with the original API, its generic 412 and its 404, and say what happened.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startForemanStub, type ForemanStub } from './support/foreman-stub.js';
import { makePki, type HostFiles, type TestPki } from './support/pki.js';
import { runCli } from './support/run-cli.js';

let dir: string;
let pki: TestPki;
let stub: ForemanStub;
let web01: HostFiles;

function conn(host: HostFiles = web01, url = stub.url): string[] {
  return ['--url', url, '--cert', host.cert, '--key', host.key, '--cacert', pki.caFile];
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-lock-cli-'));
  pki = await makePki(dir);
  web01 = await pki.host('web01.example.com');
  stub = await startForemanStub(pki.ca, pki.server);
});

afterAll(async () => {
  await stub.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  stub.locks.clear();
  stub.requests.length = 0;
  stub.forceStatus = undefined;
});

describe('keyholder lock against foreman_dlm', () => {
  it('acquires a free lock with the request shape updatelock sends', async () => {
    const r = await runCli(['lock', 'acquire', 'katello', ...conn()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("acquired lock 'katello'");
    expect(stub.locks.get('katello')?.host).toBe('web01.example.com');
    expect(stub.requests).toEqual([
      {
        method: 'PUT',
        url: '/api/dlmlocks/katello/lock',
        host: 'web01.example.com',
        contentType: 'application/json',
        bodyLength: 0,
      },
    ]);
  });

  it('URL-encodes names with spaces', async () => {
    const r = await runCli(['lock', 'acquire', 'Test Lock', ...conn()]);
    expect(r.code).toBe(0);
    expect(stub.requests[0]?.url).toBe('/api/dlmlocks/Test%20Lock/lock');
    expect(stub.locks.get('Test Lock')?.host).toBe('web01.example.com');
  });

  it('reports status: unknown lock (404) is free, holder by name, this host marked', async () => {
    const unknown = await runCli(['lock', 'status', 'nope', ...conn()]);
    expect([unknown.code, unknown.stdout.trim()]).toEqual([0, "lock 'nope' does not exist yet (free)"]);

    stub.setLock('katello', { host: 'web02.example.com' });
    const other = await runCli(['lock', 'status', 'katello', ...conn()]);
    expect([other.code, other.stdout.trim()]).toEqual([0, "lock 'katello' is held by web02.example.com"]);

    stub.setLock('katello', { host: 'web01.example.com' });
    const mine = await runCli(['lock', 'status', 'katello', ...conn()]);
    expect(mine.code).toBe(0);
    expect(mine.stdout).toMatch(
      /^lock 'katello' is held by web01\.example\.com \(this host\) since \d{4}-\d\d-\d\d /,
    );

    stub.setLock('katello', { host: null, enabled: false });
    const disabled = await runCli(['lock', 'status', 'katello', ...conn()]);
    expect(disabled.stdout.trim()).toBe("lock 'katello' is free, disabled");
  });

  it('exits 1 and names the holder when the lock is held by another host', async () => {
    stub.setLock('katello', { host: 'web02.example.com' });
    const r = await runCli(['lock', 'acquire', 'katello', ...conn()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe("keyholder: cannot acquire lock 'katello': held by web02.example.com");
    expect(stub.locks.get('katello')?.host).toBe('web02.example.com');
  });

  it('exits 1 and says so when the lock is disabled', async () => {
    stub.setLock('katello', { enabled: false });
    const r = await runCli(['lock', 'acquire', 'katello', ...conn()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe("keyholder: cannot acquire lock 'katello': the lock is disabled");
  });

  it('releases its own lock, exits 1 for another host’s', async () => {
    stub.setLock('katello', { host: 'web01.example.com' });
    const mine = await runCli(['lock', 'release', 'katello', ...conn()]);
    expect([mine.code, mine.stdout.trim()]).toEqual([0, "released lock 'katello'"]);
    expect(stub.locks.get('katello')?.host).toBeNull();
    expect(stub.requests[0]).toMatchObject({
      method: 'DELETE',
      contentType: 'application/json',
      bodyLength: 0,
    });

    stub.setLock('katello', { host: 'web02.example.com' });
    const theirs = await runCli(['lock', 'release', 'katello', ...conn()]);
    expect(theirs.code).toBe(1);
    expect(theirs.stderr.trim()).toBe("keyholder: cannot release lock 'katello': held by web02.example.com");
  });

  it('prints the lock JSON with --json, and a JSON error on 412', async () => {
    const ok = await runCli(['lock', 'acquire', 'katello', '--json', ...conn()]);
    expect(ok.code).toBe(0);
    const lock = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(lock).toMatchObject({
      name: 'katello',
      enabled: true,
      host: { name: 'web01.example.com', self: true },
    });

    stub.setLock('katello', { host: 'web02.example.com' });
    const busy = await runCli(['lock', 'acquire', 'katello', '--json', ...conn()]);
    expect(busy.code).toBe(1);
    expect(JSON.parse(busy.stdout)).toEqual({
      error: {
        message: "cannot acquire lock 'katello': held by web02.example.com",
        kind: 'unavailable',
        status: 412,
      },
    });

    const none = await runCli(['lock', 'status', 'unknown', '--json', ...conn()]);
    expect([none.code, none.stdout.trim()]).toEqual([0, 'null']);
  });

  it('--wait keeps trying against a server that answers 412 at once', async () => {
    stub.setLock('katello', { host: 'web02.example.com' });
    const freed = setTimeout(() => stub.setLock('katello', { host: null }), 1500);
    const r = await runCli(['lock', 'acquire', 'katello', '--wait', '30', ...conn()]);
    clearTimeout(freed);
    expect(r.code).toBe(0);
    expect(stub.locks.get('katello')?.host).toBe('web01.example.com');
    const puts = stub.requests.filter((q) => q.method === 'PUT');
    expect(puts.length).toBeGreaterThan(1);
    // Foreman ignores ?wait=: the client backed off between attempts instead of hammering
    expect(puts.length).toBeLessThan(8);
  });

  it('--wait gives up with exit 1 when the deadline passes', async () => {
    stub.setLock('katello', { host: 'web02.example.com' });
    const started = Date.now();
    const r = await runCli(['lock', 'acquire', 'katello', '--wait', '2', ...conn()]);
    expect(r.code).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(r.stderr).toContain('held by web02.example.com');
  });
});

describe('keyholder lock errors', () => {
  it('server down: exit 2, connection refused', async () => {
    const port = await freePort();
    const r = await runCli(['lock', 'acquire', 'katello', ...conn(web01, `https://127.0.0.1:${port}`)]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(
      `keyholder: cannot reach https://127.0.0.1:${port}: connection refused (is the server running?)`,
    );
  });

  it('client certificate from a foreign CA: exit 2, rejected', async () => {
    const foreign = await makePki(path.join(dir, 'foreign'), 'some other CA');
    const intruder = await foreign.host('web01.example.com');
    const r = await runCli(['lock', 'acquire', 'katello', ...conn(intruder)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^keyholder: the server rejected this host's client certificate \(/);
    expect(stub.locks.size).toBe(0);
  });

  it('server certificate not signed by --cacert: exit 2, not trusted', async () => {
    const foreign = await makePki(path.join(dir, 'foreign2'), 'another CA');
    const r = await runCli([
      'lock',
      'status',
      'katello',
      ...['--url', stub.url, '--cert', web01.cert, '--key', web01.key, '--cacert', foreign.caFile],
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^keyholder: the server's certificate is not trusted \(.+\); check --cacert\n$/);
  });

  it('401 and 403: exit 2, not authorised, with the server message', async () => {
    stub.forceStatus = 401;
    const r401 = await runCli(['lock', 'acquire', 'katello', ...conn()]);
    expect(r401.code).toBe(2);
    expect(r401.stderr.trim()).toBe('keyholder: not authorised (HTTP 401): Unable to authenticate user');
    stub.forceStatus = 403;
    const r403 = await runCli(['lock', 'release', 'katello', ...conn()]);
    expect(r403.code).toBe(2);
    expect(r403.stderr.trim()).toBe('keyholder: not authorised (HTTP 403): Access denied');
  });

  it('bad config file: exit 2 naming the file and the field', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'url: https://x.example\nupdate:\n  hookTimeout: soon\n');
    const r = await runCli(['lock', 'status', 'katello', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^keyholder: config file ${bad}: update\\.hookTimeout: .+\\n$`));

    const broken = path.join(dir, 'broken.yaml');
    await writeFile(broken, 'url: [unclosed\n');
    const r2 = await runCli(['lock', 'status', 'katello', '--config', broken]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`config file ${broken} is not valid YAML`);

    const missing = await runCli(['lock', 'status', 'katello', '--config', path.join(dir, 'missing.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read config file');
  });

  it('takes url and certificates from the config file', async () => {
    const cfg = path.join(dir, 'client.yaml');
    await writeFile(cfg, `url: ${stub.url}\ncert: ${web01.cert}\nkey: ${web01.key}\ncacert: ${pki.caFile}\n`);
    const r = await runCli(['lock', 'acquire', 'from-config', '--config', cfg]);
    expect(r.code).toBe(0);
    expect(stub.locks.get('from-config')?.host).toBe('web01.example.com');
  });

  it('rejects a lock name with a slash before any request', async () => {
    const r = await runCli(['lock', 'acquire', 'a/b', ...conn()]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('keyholder: lock name "a/b" contains "/"');
    expect(stub.requests).toHaveLength(0);
  });
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}
