// The two servers every client test runs against: a real keyholder (in-process, HTTPS, SQLite)
// and the stub that answers exactly like Foreman's foreman_dlm plugin. Tests set up and inspect
// lock state through this interface only, so the same test proves both work.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startTestServer, type TestServer } from '../../support/server.js';
import { querySql } from '../../support/db-sql.js';
import { startForemanStub, type ForemanStub } from './foreman-stub.js';
import { makePki, writeHostFiles, type HostFiles } from './pki.js';

export type BackendKind = 'keyholder' | 'foreman';
export const BACKENDS: BackendKind[] = ['keyholder', 'foreman'];

export interface Backend {
  kind: BackendKind;
  url: string;
  /** CA bundle that signed the server certificate */
  caFile: string;
  /** certificate files of a host the server trusts */
  host(name: string): Promise<HostFiles>;
  /** certificate files of a host from a CA the server does not trust */
  foreignHost(name: string): Promise<HostFiles>;
  /** `host` takes the lock, as that host would */
  holdAs(lock: string, host: string): Promise<void>;
  /** the lock is freed (as an operator would) */
  free(lock: string): Promise<void>;
  disable(lock: string): Promise<void>;
  /** undefined: the lock does not exist; null: free */
  holderOf(lock: string): Promise<string | null | undefined>;
  /** how many acquire requests for this lock the server has answered this host */
  acquireAttempts(lock: string, host: string): Promise<number>;
  /** whether this host has an acquire request queued right now (keyholder's blocking acquire) */
  isQueued(lock: string, host: string): Promise<boolean>;
  /** the Foreman stub, for tests of the exact requests and of forced answers */
  stub?: ForemanStub;
  close(): Promise<void>;
}

/**
 * The client is waiting for the lock: refused at least once (a server that answers at once), or
 * queued in a blocking acquire. Tests wait for this before they free the lock.
 */
export async function isWaiting(b: Backend, lock: string, host: string): Promise<boolean> {
  return (await b.acquireAttempts(lock, host)) >= 1 || (await b.isQueued(lock, host));
}

export async function startBackend(kind: BackendKind): Promise<Backend> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `keyholder-client-${kind}-`));
  const inner = kind === 'keyholder' ? await keyholder(dir) : await foreman(dir);
  return {
    ...inner,
    close: async () => {
      await inner.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const lockPath = (lock: string) => `/api/dlmlocks/${encodeURIComponent(lock)}`;

async function keyholder(dir: string): Promise<Backend> {
  const s: TestServer = await startTestServer('sqlite');
  const foreignCa = await makePki(path.join(dir, 'foreign'), 'some other CA');
  const expectOk = async (what: string, res: Promise<{ status: number; text: string }>) => {
    const r = await res;
    if (r.status >= 300) throw new Error(`${what}: HTTP ${r.status} ${r.text}`);
  };
  const show = async (lock: string) => {
    const r = await s.asAdmin('GET', lockPath(lock));
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`show ${lock}: HTTP ${r.status} ${r.text}`);
    return r.json as { host: { name: string } | null };
  };
  return {
    kind: 'keyholder',
    url: s.url,
    caFile: s.pki.caPath,
    host: async (name) => writeHostFiles(path.join(dir, 'hosts'), name, await s.host(name)),
    foreignHost: (name) => foreignCa.host(name),
    holdAs: (lock, host) =>
      expectOk(
        `${host} acquires ${lock}`,
        s.asHost(host, 'PUT', `${lockPath(lock)}/lock`, { headers: { 'content-type': 'application/json' } }),
      ),
    free: (lock) => expectOk(`free ${lock}`, s.asAdmin('PUT', lockPath(lock), { body: { host_id: null } })),
    disable: async (lock) => {
      if (!(await show(lock)))
        await expectOk(`create ${lock}`, s.asAdmin('POST', '/api/dlmlocks', { body: { name: lock } }));
      await expectOk(`disable ${lock}`, s.asAdmin('PUT', lockPath(lock), { body: { enabled: false } }));
    },
    holderOf: async (lock) => {
      const l = await show(lock);
      return l === undefined ? undefined : (l.host?.name ?? null);
    },
    acquireAttempts: async (lock, host) => {
      if (!(await show(lock))) return 0;
      const r = await s.asAdmin('GET', `${lockPath(lock)}/dlmlock_events?per_page=1000`);
      const events = (r.json as { results: { event_type: string; host: { name: string } | null }[] }).results;
      // Each acquire request leaves one event: `acquire` when granted, `fail` when refused.
      return events.filter(
        (e) => e.host?.name === host && (e.event_type === 'acquire' || e.event_type === 'fail'),
      ).length;
    },
    isQueued: async (lock, host) => {
      // The queue is not part of the API; the test helpers read it from the database.
      const rows = await querySql<{ n: number | string }>(
        s.db,
        `SELECT COUNT(*) AS n FROM lock_waiters w JOIN locks l ON l.id = w.lock_id
         JOIN hosts h ON h.id = w.host_id WHERE l.name = ? AND h.name = ?`,
        [lock, host],
      );
      return Number(rows[0]?.n ?? 0) > 0;
    },
    close: () => s.close(),
  };
}

async function foreman(dir: string): Promise<Backend> {
  const pki = await makePki(path.join(dir, 'pki'));
  const foreignCa = await makePki(path.join(dir, 'foreign'), 'some other CA');
  const stub: ForemanStub = await startForemanStub(pki.ca, pki.server);
  return {
    kind: 'foreman',
    url: stub.url,
    caFile: pki.caFile,
    host: (name) => pki.host(name),
    foreignHost: (name) => foreignCa.host(name),
    holdAs: async (lock, host) => void stub.setLock(lock, { host }),
    free: async (lock) => void stub.setLock(lock, { host: null }),
    disable: async (lock) => void stub.setLock(lock, { enabled: false }),
    holderOf: async (lock) => stub.locks.get(lock)?.host,
    acquireAttempts: async (lock, host) =>
      stub.requests.filter((q) => q.method === 'PUT' && q.host === host && q.name === lock).length,
    // Foreman answers every request at once: nobody is ever queued.
    isQueued: async () => false,
    stub,
    close: () => stub.close(),
  };
}
