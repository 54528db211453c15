// `keyholder update` when the network and the server fail at the worst moments, against a real
// keyholder process on each store, through a TCP proxy that drops connections on cue: the answer
// to a granted acquire lost in a blocking wait, the server away or killed mid-run, a release
// that cannot get through, and leases that must be renewed through slow hooks and a reboot.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { querySql } from '../support/db-sql.js';
import { httpsRequest } from '../support/http.js';
import { startServerProcess, serverEnv, type ServerProcess } from '../support/process.js';
import { testPki, type TestPki } from '../support/pki.js';
import { ADMIN } from '../support/server.js';
import { createTestDatabase, STORES, type TestDatabase } from '../support/stores.js';
import { removeClientBundle } from './support/bundle.js';
import { writeHostFiles } from './support/pki.js';
import { runCli, startCli, waitFor } from './support/run-cli.js';
import { makeSimHost, waitForFile, type SimHost, type SimHostOptions } from './support/sim-host.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

afterAll(removeClientBundle);

let counter = 0;

describe.each(STORES)('keyholder update under faults (%s)', (kind) => {
  let db: TestDatabase;
  let pki: TestPki;
  let srv: ServerProcess;
  let proxy: TcpProxy;
  let dir: string;

  const startServer = async () => {
    srv = await startServerProcess(serverEnv(db, pki, ADMIN[1]));
    proxy?.setUpstream(srv.port);
  };

  beforeAll(async () => {
    pki = await testPki();
    db = await createTestDatabase(kind);
    await startServer();
    proxy = await startTcpProxy(srv.port);
    dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-faults-'));
  });
  afterAll(async () => {
    await proxy?.close();
    await srv?.stop();
    await db?.dispose();
    await rm(dir, { recursive: true, force: true });
  });

  const api = (method: string, p: string, body?: unknown) =>
    httpsRequest(srv.url, pki.ca.certPem, method, p, { user: ADMIN, ...(body !== undefined && { body }) });
  const asHost = async (host: string, method: string, lock: string) =>
    httpsRequest(srv.url, pki.ca.certPem, method, `/api/dlmlocks/${encodeURIComponent(lock)}/lock`, {
      cert: await pki.host(host),
      headers: { 'content-type': 'application/json' },
    });
  const holderOf = async (lock: string) => {
    const r = await api('GET', `/api/dlmlocks/${encodeURIComponent(lock)}`);
    return r.status === 404 ? undefined : ((r.json as { host: { name: string } | null }).host?.name ?? null);
  };
  const eventsOf = async (lock: string) => {
    const r = await api('GET', `/api/dlmlocks/${encodeURIComponent(lock)}/dlmlock_events?per_page=1000`);
    return (r.json as { results: { event_type: string; host: { name: string } | null }[] }).results
      .map((e) => `${e.event_type} ${e.host?.name ?? '-'}`)
      .reverse();
  };
  const isQueued = async (lock: string, host: string) => {
    const rows = await querySql<{ n: number | string }>(
      db,
      `SELECT COUNT(*) AS n FROM lock_waiters w JOIN locks l ON l.id = w.lock_id
       JOIN hosts h ON h.id = w.host_id WHERE l.name = ? AND h.name = ?`,
      [lock, host],
    );
    return Number(rows[0]?.n ?? 0) > 0;
  };
  async function newHost(opts: Partial<SimHostOptions> = {}): Promise<SimHost & { lock: string }> {
    const n = ++counter;
    const lock = `faults-${n}`;
    const name = `host${n}.example.com`;
    const files = await writeHostFiles(path.join(dir, 'hosts'), name, await pki.host(name));
    const h = await makeSimHost(dir, { url: proxy.url, lock, files, cacert: pki.caPath, ...opts });
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    return { ...h, lock };
  }
  const update = (h: SimHost, ...args: string[]) => startCli(['update', '--config', h.config, ...args]);
  const readState = async (h: SimHost) =>
    JSON.parse(await readFile(h.stateFile, 'utf8')) as Record<string, unknown>;

  /** Another host holds the lock; `h` runs and queues for it; the grant's answer is swallowed. */
  async function grantWithLostAnswer(h: SimHost & { lock: string }) {
    expect((await asHost('other.example.com', 'PUT', h.lock)).status).toBe(200);
    const run = await update(h);
    await waitFor('the run to queue for the lock', () => isQueued(h.lock, h.name));
    proxy.swallowAnswers();
    expect((await asHost('other.example.com', 'DELETE', h.lock)).status).toBe(200);
    await waitFor('the grant to be committed', async () => (await holderOf(h.lock)) === h.name);
    return run;
  }

  it('a connection dropped after the grant of a blocking wait is retried, not taken for a certificate problem', async () => {
    const h = await newHost({ acquire: { timeout: 30, wait: 20 } });
    await h.hook('update.d', '10-apply');
    const run = await grantWithLostAnswer(h);
    proxy.cutAll();
    const r = await run.done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('closed before the answer');
    expect((await h.marks()).map((m) => m.split(' ')[0])).toEqual(['needs_update', 'update']);
    expect(await holderOf(h.lock)).toBeNull();
    expect((await eventsOf(h.lock)).filter((e) => e.endsWith(h.name))).toEqual([
      `acquire ${h.name}`,
      `release ${h.name}`,
    ]);
  });

  it('the grant answered into a dead connection with the server away: state kept, exit 3, the next run goes on and releases', async () => {
    const h = await newHost({ acquire: { timeout: 6, wait: 5 } });
    await h.hook('update.d', '10-apply');
    const run = await grantWithLostAnswer(h);
    proxy.setUpstream(undefined);
    proxy.cutAll();
    const r = await run.done;
    proxy.setUpstream(srv.port);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('the answer to the acquire');
    // The server granted it: without the state nobody would ever release it.
    expect(await holderOf(h.lock)).toBe(h.name);
    expect(await readState(h)).toMatchObject({ step: 'acquire', status: 'failed' });

    const next = await (await update(h)).done;
    expect(next.code).toBe(0);
    expect(next.stdout).toContain(`update finished, lock '${h.lock}' released`);
    expect(await holderOf(h.lock)).toBeNull();
    expect(existsSync(h.stateFile)).toBe(false);
  });

  it('a release that cannot reach the server: exit 3, the state kept, the next run releases', async () => {
    const h = await newHost({ releaseTimeout: 1 });
    const atPostUpdate = path.join(h.root, 'release-now');
    await h.hook('post_update.d', '10-check', waitForFile(atPostUpdate));
    const run = await update(h);
    await waitFor('post_update.d', async () => (await h.marks()).some((m) => m.startsWith('post_update')));
    proxy.setUpstream(undefined);
    await writeFile(atPostUpdate, '');
    const r = await run.done;
    proxy.setUpstream(srv.port);
    expect(r.code).toBe(3);
    expect(await holderOf(h.lock)).toBe(h.name);
    expect(await readState(h)).toMatchObject({ step: 'release', status: 'failed' });

    const next = await runCli(['update', '--resume', '--config', h.config]);
    expect(next.code).toBe(0);
    expect(await holderOf(h.lock)).toBeNull();
    expect((await h.marks()).filter((m) => m.startsWith('post_update'))).toHaveLength(1);
  });

  const expiresAt = async (lock: string) => {
    const r = await api('GET', `/api/dlmlocks/${encodeURIComponent(lock)}`);
    return (r.json as { holders: { expires_at: string | null }[] }).holders[0]?.expires_at ?? null;
  };

  it('keeps a leased lock through a hook longer than the lease, and renews it first thing after the reboot', async () => {
    const h = await newHost();
    // the hook outlasts the lease; the lease leaves room for a client renewing on a busy machine
    expect((await api('POST', '/api/dlmlocks', { name: h.lock, lease_seconds: 6 })).status).toBe(201);
    await h.hook('update.d', '10-slow', 'sleep 9');
    await h.hook('needs_reboot.d', '10-kernel', 'exit 1');
    await h.hook('post_update.d', '10-check');
    const r = await (await update(h)).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('reboot requested');
    expect(await holderOf(h.lock)).toBe(h.name);
    const resumed = await runCli(['update', '--resume', '--config', h.config]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain(`still holding lock '${h.lock}' (fencing token`);
    expect(await holderOf(h.lock)).toBeNull();
    const events = await eventsOf(h.lock);
    expect(events.filter((e) => e.startsWith('expire'))).toEqual([]);
    expect(events.filter((e) => e.endsWith(h.name))).toEqual([`acquire ${h.name}`, `release ${h.name}`]);
  });

  it('a server killed mid-run: failed renewals are logged and retried, and renewing resumes once it is back', async () => {
    const h = await newHost();
    // Long enough to outlast a server restart on a busy machine.
    expect((await api('POST', '/api/dlmlocks', { name: h.lock, lease_seconds: 20 })).status).toBe(201);
    const go = path.join(h.root, 'go');
    await h.hook('update.d', '10-slow', waitForFile(go));
    const run = await update(h);
    await waitFor('update.d', async () => (await h.marks()).some((m) => m.startsWith('update')));
    const before = await expiresAt(h.lock);
    await srv.kill9();
    await waitFor('a failed renewal to be logged', () => run.stdout().includes('renewing the lease'));
    await startServer();
    await waitFor('a renewal after the restart', async () => (await expiresAt(h.lock))! > before!, 20_000);
    await writeFile(go, '');
    const r = await run.done;
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`update finished, lock '${h.lock}' released`);
    expect(await holderOf(h.lock)).toBeNull();
    expect((await eventsOf(h.lock)).filter((e) => e.startsWith('expire'))).toEqual([]);
  });

  it('a lock lost mid-update (freed, taken by another host) stops the run before the next hook, exit 4', async () => {
    const h = await newHost();
    expect((await api('POST', '/api/dlmlocks', { name: h.lock, lease_seconds: 2 })).status).toBe(201);
    const go = path.join(h.root, 'go');
    await h.hook('update.d', '10-first', waitForFile(go));
    await h.hook('update.d', '20-second');
    await h.hook('post_update.d', '10-check');
    const run = await update(h);
    await waitFor('update.d', async () => (await h.marks()).some((m) => m.startsWith('update')));
    expect((await api('PUT', `/api/dlmlocks/${encodeURIComponent(h.lock)}`, { host_id: null })).status).toBe(
      200,
    );
    expect((await asHost('next.example.com', 'PUT', h.lock)).status).toBe(200);
    await waitFor('the loss to be noticed', () => run.stderr().includes('LOCK LOST'));
    await writeFile(go, '');
    const r = await run.done;
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`this host no longer holds lock '${h.lock}' (held by next.example.com)`);
    expect(r.stdout).not.toContain('update finished');
    expect((await h.marks()).map((m) => m.split(' ')[1])).toEqual(['10-pending', '10-first']);
    expect(await holderOf(h.lock)).toBe('next.example.com');
    expect(await readState(h)).toMatchObject({ step: 'update', status: 'failed' });
  });
});
