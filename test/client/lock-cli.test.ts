// `keyholder lock` against a real keyholder and against a stub that answers like Foreman's
// foreman_dlm plugin: the same commands must work with both, and say what happened in one line.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.js';
import { BACKENDS, isWaiting, startBackend, type Backend } from './support/backends.js';
import { makePki, writeHostFiles, type HostFiles } from './support/pki.js';
import { removeClientBundle } from './support/bundle.js';
import { runCli, startCli, waitFor } from './support/run-cli.js';

afterAll(removeClientBundle);

let counter = 0;
/** A fresh lock name per test: the servers live for the whole file. */
const fresh = (base: string) => `${base}-${++counter}`;

describe.each(BACKENDS)('keyholder lock against %s', (kind) => {
  let b: Backend;
  let web01: HostFiles;
  const conn = (host: HostFiles = web01) => [
    '--url',
    b.url,
    '--cert',
    host.cert,
    '--key',
    host.key,
    '--cacert',
    b.caFile,
  ];

  beforeAll(async () => {
    b = await startBackend(kind);
    web01 = await b.host('web01.example.com');
  });
  afterAll(() => b?.close());

  it('acquires a free lock', async () => {
    const lock = fresh('katello');
    const r = await runCli(['lock', 'acquire', lock, ...conn()]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // keyholder hands out a fencing token; Foreman has none
    if (kind === 'keyholder')
      expect(r.stdout.trim()).toMatch(new RegExp(`^acquired lock '${lock}' \\(fencing token \\d+\\)$`));
    else expect(r.stdout.trim()).toBe(`acquired lock '${lock}'`);
    expect(await b.holderOf(lock)).toBe('web01.example.com');
    // acquiring again is idempotent
    const again = await runCli(['lock', 'acquire', lock, ...conn()]);
    expect(again.code).toBe(0);
  });

  it('handles names with spaces and dots', async () => {
    const lock = fresh('Test Lock.v2');
    const r = await runCli(['lock', 'acquire', lock, ...conn()]);
    expect(r.code).toBe(0);
    expect(await b.holderOf(lock)).toBe('web01.example.com');
  });

  it('reports status: unknown lock is free, the holder by name, this host marked, disabled', async () => {
    const lock = fresh('status');
    const unknown = await runCli(['lock', 'status', lock, ...conn()]);
    expect([unknown.code, unknown.stdout.trim()]).toEqual([0, `lock '${lock}' does not exist yet (free)`]);

    await b.holdAs(lock, 'web02.example.com');
    const other = await runCli(['lock', 'status', lock, ...conn()]);
    expect([other.code, other.stdout.trim()]).toEqual([0, `lock '${lock}' is held by web02.example.com`]);

    await b.free(lock);
    await b.holdAs(lock, 'web01.example.com');
    const mine = await runCli(['lock', 'status', lock, ...conn()]);
    expect(mine.code).toBe(0);
    expect(mine.stdout).toMatch(
      new RegExp(
        `^lock '${lock}' is held by web01\\.example\\.com \\(this host\\) since \\d{4}-\\d\\d-\\d\\d `,
      ),
    );

    await b.free(lock);
    await b.disable(lock);
    const disabled = await runCli(['lock', 'status', lock, ...conn()]);
    expect(disabled.stdout.trim()).toBe(`lock '${lock}' is free, disabled`);
  });

  it('exits 1 and names the holder when the lock is held by another host', async () => {
    const lock = fresh('held');
    await b.holdAs(lock, 'web02.example.com');
    const r = await runCli(['lock', 'acquire', lock, ...conn()]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim()).toBe(`keyholder: cannot acquire lock '${lock}': held by web02.example.com`);
    expect(await b.holderOf(lock)).toBe('web02.example.com');
  });

  it('exits 1 and says so when the lock is disabled', async () => {
    const lock = fresh('disabled');
    await b.disable(lock);
    const r = await runCli(['lock', 'acquire', lock, ...conn()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`keyholder: cannot acquire lock '${lock}': the lock is disabled`);
  });

  it('releases its own lock, exits 1 for another host’s', async () => {
    const lock = fresh('release');
    await b.holdAs(lock, 'web01.example.com');
    const mine = await runCli(['lock', 'release', lock, ...conn()]);
    expect([mine.code, mine.stdout.trim()]).toEqual([0, `released lock '${lock}'`]);
    expect(await b.holderOf(lock)).toBeNull();

    await b.holdAs(lock, 'web02.example.com');
    const theirs = await runCli(['lock', 'release', lock, ...conn()]);
    expect(theirs.code).toBe(1);
    expect(theirs.stderr.trim()).toBe(`keyholder: cannot release lock '${lock}': held by web02.example.com`);
    expect(await b.holderOf(lock)).toBe('web02.example.com');
  });

  it('prints the lock JSON with --json, and a JSON error on 412', async () => {
    const lock = fresh('json');
    const ok = await runCli(['lock', 'acquire', lock, '--json', ...conn()]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({
      name: lock,
      enabled: true,
      host: { name: 'web01.example.com', self: true },
    });

    const other = fresh('json');
    await b.holdAs(other, 'web02.example.com');
    const busy = await runCli(['lock', 'acquire', other, '--json', ...conn()]);
    expect(busy.code).toBe(1);
    expect(JSON.parse(busy.stdout)).toEqual({
      error: {
        message: `cannot acquire lock '${other}': held by web02.example.com`,
        kind: 'unavailable',
        status: 412,
        reason: 'held',
      },
    });

    const none = await runCli(['lock', 'status', fresh('unknown'), '--json', ...conn()]);
    expect([none.code, none.stdout.trim()]).toEqual([0, 'null']);
  });

  it('--wait keeps trying until the lock is freed', async () => {
    const lock = fresh('wait');
    await b.holdAs(lock, 'web02.example.com');
    const cli = await startCli(['lock', 'acquire', lock, '--wait', '60', ...conn()]);
    // Freed only once the client is waiting (refused, or queued by a blocking acquire).
    await waitFor('the client to wait', () => isWaiting(b, lock, 'web01.example.com'));
    await b.free(lock);
    const r = await cli.done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await b.holderOf(lock)).toBe('web01.example.com');
    // Foreman answers 412 at once: the client asked again after a backoff
    if (kind === 'foreman')
      expect(await b.acquireAttempts(lock, 'web01.example.com')).toBeGreaterThanOrEqual(2);
  });

  it('--wait gives up with exit 1 when the deadline passes', async () => {
    const lock = fresh('wait');
    await b.holdAs(lock, 'web02.example.com');
    const r = await runCli(['lock', 'acquire', lock, '--wait', '2', ...conn()]);
    expect(r.code).toBe(1);
    expect(r.stderr.trim()).toBe(`keyholder: cannot acquire lock '${lock}': held by web02.example.com`);
    expect(await b.acquireAttempts(lock, 'web01.example.com')).toBeGreaterThanOrEqual(
      kind === 'foreman' ? 2 : 1,
    );
    expect(await b.holderOf(lock)).toBe('web02.example.com');
  });

  it('takes url and certificates from the config file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-cfg-'));
    const cfg = path.join(dir, 'client.yaml');
    await writeFile(cfg, `url: ${b.url}\ncert: ${web01.cert}\nkey: ${web01.key}\ncacert: ${b.caFile}\n`);
    const lock = fresh('from-config');
    const r = await runCli(['lock', 'acquire', lock, '--config', cfg]);
    expect(r.code).toBe(0);
    expect(await b.holderOf(lock)).toBe('web01.example.com');
    await rm(dir, { recursive: true, force: true });
  });

  it('certificate from a CA the server does not trust: exit 2, says the certificate was rejected', async () => {
    const intruder = await b.foreignHost('web01.example.com');
    const lock = fresh('intruder');
    const r = await runCli(['lock', 'acquire', lock, ...conn(intruder)]);
    expect(r.code).toBe(2);
    // Foreman behind Apache demands a certificate in the TLS handshake; keyholder also serves
    // users without one, so it answers 401 over TLS instead. Either way the line says so.
    if (kind === 'keyholder') {
      expect(r.stderr).toMatch(
        /^keyholder: not authorised \(HTTP 401\): the server did not accept this host's client certificate: .+\n$/,
      );
    } else {
      expect(r.stderr).toMatch(/^keyholder: the server rejected this host's client certificate \(.+\)\n$/);
    }
    expect(await b.holderOf(lock)).toBeUndefined();
  });

  it('server certificate not signed by --cacert: exit 2, not trusted', async () => {
    const otherDir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-other-ca-'));
    const other = await makePki(otherDir, 'another CA');
    const r = await runCli([
      'lock',
      'status',
      'x',
      '--url',
      b.url,
      '--cert',
      web01.cert,
      '--key',
      web01.key,
      '--cacert',
      other.caFile,
    ]);
    await rm(otherDir, { recursive: true, force: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^keyholder: the server's certificate is not trusted \(.+\); check --cacert\n$/);
  });

  it.runIf(kind === 'keyholder')('the full keyholder executable has the same lock commands', async () => {
    const lock = fresh('full');
    const r = await runCli(['lock', 'acquire', lock, ...conn()], {
      entry: ['--conditions=keyholder-source', '--import', 'tsx', 'src/cli/main.ts'],
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await b.holderOf(lock)).toBe('web01.example.com');
  });
});

describe('keyholder lock against foreman_dlm: the requests themselves', () => {
  let b: Backend;
  let web01: HostFiles;
  const conn = () => ['--url', b.url, '--cert', web01.cert, '--key', web01.key, '--cacert', b.caFile];

  beforeAll(async () => {
    b = await startBackend('foreman');
    web01 = await b.host('web01.example.com');
  });
  afterAll(() => b?.close());

  it('acquire and release look like updatelock’s: JSON content type, empty body, encoded name', async () => {
    const stub = b.stub!;
    stub.requests.length = 0;
    expect((await runCli(['lock', 'acquire', 'Test Lock', ...conn()])).code).toBe(0);
    expect((await runCli(['lock', 'release', 'Test Lock', ...conn()])).code).toBe(0);
    expect(stub.requests).toEqual(
      ['PUT', 'DELETE'].map((method) => ({
        method,
        url: '/api/dlmlocks/Test%20Lock/lock',
        name: 'Test Lock',
        host: 'web01.example.com',
        contentType: 'application/json',
        bodyLength: 0,
      })),
    );
  });

  it('--wait sends ?wait= (capped at 300), which Foreman ignores', async () => {
    const stub = b.stub!;
    stub.requests.length = 0;
    expect((await runCli(['lock', 'acquire', 'waiting', '--wait', '900', ...conn()])).code).toBe(0);
    expect(stub.requests.map((q) => q.url)).toEqual(['/api/dlmlocks/waiting/lock?wait=300']);
  });

  it('401 and 403: exit 2, not authorised, with the server message', async () => {
    const stub = b.stub!;
    try {
      stub.forceStatus = 401;
      const r401 = await runCli(['lock', 'acquire', 'katello', ...conn()]);
      expect(r401.code).toBe(2);
      expect(r401.stderr.trim()).toBe(
        "keyholder: not authorised (HTTP 401): the server did not accept this host's client certificate: Unable to authenticate user",
      );
      stub.forceStatus = 403;
      const r403 = await runCli(['lock', 'release', 'katello', ...conn()]);
      expect(r403.code).toBe(2);
      expect(r403.stderr.trim()).toBe('keyholder: not authorised (HTTP 403): Access denied');
    } finally {
      stub.forceStatus = undefined;
    }
  });
});

describe('keyholder lock errors', () => {
  let dir: string;
  let host: HostFiles;
  let caFile: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-lock-errors-'));
    const pki = await makePki(dir);
    host = await pki.host('web01.example.com');
    caFile = pki.caFile;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('server down: exit 3 (unreachable), connection refused', async () => {
    const port = await freePort();
    const url = `https://127.0.0.1:${port}`;
    const r = await runCli([
      'lock',
      'acquire',
      'katello',
      '--url',
      url,
      '--cert',
      host.cert,
      '--key',
      host.key,
      '--cacert',
      caFile,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe(
      `keyholder: cannot reach ${url}: connection refused (is the server running?)`,
    );
  });

  it('host unknown to a keyholder without auto-registration: exit 2, not authorised', async () => {
    const s = await startTestServer('sqlite', { hosts: { autoRegister: false } });
    try {
      const newcomer = await writeHostFiles(
        path.join(dir, 'newcomer'),
        'new01.example.com',
        await s.host('new01.example.com'),
      );
      const r = await runCli([
        'lock',
        'acquire',
        'katello',
        '--url',
        s.url,
        '--cert',
        newcomer.cert,
        '--key',
        newcomer.key,
        '--cacert',
        s.pki.caPath,
      ]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^keyholder: not authorised \(HTTP 403\): .*not registered.*\n$/);
    } finally {
      await s.close();
    }
  });

  it('bad config file: exit 2 naming the file and the field', async () => {
    const bad = path.join(dir, 'bad.yaml');
    await writeFile(bad, 'url: https://x.example\nupdate:\n  hookTimeout: soon\n');
    const r = await runCli(['lock', 'status', 'katello', '--config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`^keyholder: config file ${bad}: update\\.hookTimeout: .+\\n$`));

    const unknown = path.join(dir, 'unknown.yaml');
    await writeFile(unknown, 'url: https://x.example\nurls: typo\n');
    const r2 = await runCli(['lock', 'status', 'katello', '--config', unknown]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toContain(`config file ${unknown}: (top level): Unrecognized key: "urls"`);

    const broken = path.join(dir, 'broken.yaml');
    await writeFile(broken, 'url: [unclosed\n');
    const r3 = await runCli(['lock', 'status', 'katello', '--config', broken]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toContain(`config file ${broken} is not valid YAML`);

    const missing = await runCli(['lock', 'status', 'katello', '--config', path.join(dir, 'missing.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('cannot read config file');
  });

  it('no URL, plain http, unreadable certificate: exit 2 before any request', async () => {
    const empty = path.join(dir, 'empty.yaml');
    await writeFile(empty, '');
    const noUrl = await runCli(['lock', 'status', 'x', '--config', empty]);
    expect([noUrl.code, noUrl.stderr.trim()]).toEqual([
      2,
      'keyholder: no server URL: pass --url or set "url" in /etc/keyholder/client.yaml',
    ]);
    const http = await runCli([
      'lock',
      'status',
      'x',
      '--config',
      empty,
      '--url',
      'http://127.0.0.1:1',
      '--cert',
      host.cert,
      '--key',
      host.key,
    ]);
    expect(http.code).toBe(2);
    expect(http.stderr).toContain('must be https://');
    const noCert = await runCli([
      'lock',
      'status',
      'x',
      '--config',
      empty,
      '--url',
      'https://127.0.0.1:1',
      '--cert',
      path.join(dir, 'nope.crt'),
      '--key',
      host.key,
    ]);
    expect([noCert.code, noCert.stderr.trim()]).toEqual([
      2,
      `keyholder: cannot read client certificate ${path.join(dir, 'nope.crt')}: ENOENT`,
    ]);
  });

  it('rejects a lock name with a slash before any request', async () => {
    const r = await runCli([
      'lock',
      'acquire',
      'a/b',
      '--url',
      'https://127.0.0.1:1',
      '--cert',
      host.cert,
      '--key',
      host.key,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('keyholder: lock name "a/b" must not contain /');
  });
});

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}
