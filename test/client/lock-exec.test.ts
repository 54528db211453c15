// `keyholder lock exec`: a command run under a lock with a short lease keeps it for several lease
// periods, is stopped (with its children) when an operator frees the lock, and queued runs get
// the lock in the order they asked for it. Against a real keyholder on each store.
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { querySql } from '../support/db-sql.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { removeClientBundle } from './support/bundle.js';
import { writeHostFiles, type HostFiles } from './support/pki.js';
import { startCli, waitFor } from './support/run-cli.js';
import { readLines, waitForFile } from './support/sim-host.js';

afterAll(removeClientBundle);

let counter = 0;

describe.each(STORES)('keyholder lock exec (%s)', (kind) => {
  let s: TestServer;
  let dir: string;

  beforeAll(async () => {
    s = await startTestServer(kind);
    dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-exec-'));
  });
  afterAll(async () => {
    await s?.close();
    await rm(dir, { recursive: true, force: true });
  });

  const hostFiles = async (name: string): Promise<HostFiles> =>
    writeHostFiles(path.join(dir, 'hosts'), name, await s.host(name));
  const conn = (h: HostFiles) => ['--url', s.url, '--cert', h.cert, '--key', h.key, '--cacert', s.pki.caPath];
  const lockPath = (lock: string) => `/api/dlmlocks/${encodeURIComponent(lock)}`;
  const newLock = async (leaseSeconds?: number) => {
    const name = `exec-${++counter}`;
    const body = { name, ...(leaseSeconds !== undefined && { lease_seconds: leaseSeconds }) };
    expect((await s.asAdmin('POST', '/api/dlmlocks', { body })).status).toBe(201);
    return name;
  };
  const holders = async (lock: string) =>
    ((await s.asAdmin('GET', lockPath(lock))).json as { holders: { name: string }[] }).holders.map(
      (h) => h.name,
    );
  const eventsOf = async (lock: string) =>
    (
      (await s.asAdmin('GET', `${lockPath(lock)}/dlmlock_events?per_page=1000`)).json as {
        results: { event_type: string }[];
      }
    ).results.map((e) => e.event_type);
  const exec = async (h: HostFiles, lock: string, script: string, ...flags: string[]) =>
    startCli(['lock', 'exec', lock, ...flags, ...conn(h), '--', '/bin/sh', '-c', script]);

  it('runs the command with the lock for three lease periods, renewing it, and passes its exit code on', async () => {
    const lock = await newLock(1);
    const web01 = await hostFiles('web01.example.com');
    const envFile = path.join(dir, `env-${lock}`);
    const run = await exec(
      web01,
      lock,
      `echo "$KEYHOLDER_LOCK $KEYHOLDER_HOST $KEYHOLDER_FENCING_TOKEN" > '${envFile}'; sleep 3.5; exit 7`,
    );
    await waitFor('the command to start', async () => (await readLines(envFile)).length > 0);
    expect(await readLines(envFile)).toEqual([`${lock} web01.example.com 1`]);
    // Past three lease periods: held only thanks to the renewals; another host is refused.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await holders(lock)).toEqual(['web01.example.com']);
    const other = await s.asHost('web02.example.com', 'PUT', `${lockPath(lock)}/lock`, {
      headers: { 'content-type': 'application/json' },
    });
    expect(other.status).toBe(412);
    const r = await run.done;
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`released lock '${lock}'`);
    expect(await holders(lock)).toEqual([]);
    expect(await eventsOf(lock)).not.toContain('expire');
  });

  it('a force release mid-run stops the command and its children and exits 4', async () => {
    const lock = await newLock(2);
    const web01 = await hostFiles('web01.example.com');
    const pidFile = path.join(dir, `pid-${lock}`);
    // a child process of the command, which must go too
    const run = await exec(web01, lock, `sleep 30 & echo $! > '${pidFile}'; wait`);
    await waitFor('the command to start', async () => (await readLines(pidFile)).length > 0);
    const childPid = Number((await readFile(pidFile, 'utf8')).trim());
    expect((await s.asAdmin('PUT', lockPath(lock), { body: { host_id: null } })).status).toBe(200);
    const r = await run.done;
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('LOCK LOST');
    expect(r.stderr).toContain(`the command was stopped because lock '${lock}' was lost`);
    await waitFor('the command’s child to be gone', () => !isAlive(childPid), 10_000);
    expect(await holders(lock)).toEqual([]);
  });

  it('a second and a third exec wait for the lock and get it in the order they asked', async () => {
    const lock = await newLock();
    const timeline = path.join(dir, `timeline-${lock}`);
    const firstMayEnd = path.join(dir, `end-${lock}`);
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => hostFiles(`${n}.example.com`)));
    const step = (name: string, then = '') =>
      `echo "${name} start" >> '${timeline}'; ${then} echo "${name} end" >> '${timeline}'`;
    const runA = await exec(a!, lock, step('a', `${waitForFile(firstMayEnd)};`));
    await waitFor('a to hold the lock', async () => (await readLines(timeline)).length > 0);
    const queued = async (host: string) =>
      Number(
        (
          await querySql<{ n: number | string }>(
            s.db,
            `SELECT COUNT(*) AS n FROM lock_waiters w JOIN locks l ON l.id = w.lock_id
             JOIN hosts h ON h.id = w.host_id WHERE l.name = ? AND h.name = ?`,
            [lock, host],
          )
        )[0]?.n ?? 0,
      ) > 0;
    const runB = await exec(b!, lock, step('b'), '--wait', '30');
    await waitFor('b to queue', () => queued('b.example.com'));
    const runC = await exec(c!, lock, step('c'), '--wait', '30');
    await waitFor('c to queue', () => queued('c.example.com'));
    await writeFile(firstMayEnd, '');
    const results = await Promise.all([runA.done, runB.done, runC.done]);
    expect(results.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(await readLines(timeline)).toEqual(['a start', 'a end', 'b start', 'b end', 'c start', 'c end']);
    expect(await holders(lock)).toEqual([]);
  });
});

/** Running, as opposed to gone or a zombie nobody reaped yet (a container's init may not). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
