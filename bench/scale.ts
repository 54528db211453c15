// Scale, not one point: how list and search latency and the server's memory grow with 1k, 10k
// and 100k locks and hosts. The database is seeded directly through the store's import (one
// transaction, no HTTP), then the real server starts on it and answers, one request at a time
// over a keep-alive connection, `GET /api/dlmlocks?per_page=20` and a search.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../src/config/load.js';
import { EXPORT_FORMAT, EXPORT_VERSION, type ExportDocument } from '../src/store/backup.js';
import { openStore } from '../src/store/open.js';

export interface ScaleRow {
  store: string;
  size: number;
  seedSeconds: number;
  list: { p50Ms: number; p99Ms: number };
  search: { p50Ms: number; p99Ms: number };
  /** the server's resident memory after the requests, MiB */
  rssMiB: number | undefined;
  errors: number;
  firstError?: string;
}

/** The searches timed: a name fragment (a scan unless indexed) and a host's locks. */
export const scaleSearches = (size: number) => [
  `name ~ scale-lock-${Math.floor(size / 2)}`,
  `host = scale-host-${Math.floor(size / 3)}`,
];

/** N hosts and N locks; every other lock is held by the host of the same number. */
export function scaleDocument(size: number): ExportDocument {
  const at = Date.now() - 3_600_000;
  const hosts = Array.from({ length: size }, (_, i) => ({
    id: i + 1,
    name: `scale-host-${i}`,
    can_acquire_locks: true,
    created_at: at,
    last_checkin_at: at,
  }));
  const locks = Array.from({ length: size }, (_, i) => ({
    id: i + 1,
    name: `scale-lock-${i}`,
    type: 'ForemanDlm::Dlmlock::Update',
    enabled: true,
    max_holders: 1,
    lease_seconds: null,
    windows: null,
    fencing_counter: i % 2 === 0 ? 1 : 0,
    created_at: at,
    updated_at: at,
  }));
  const holders = locks
    .filter((_, i) => i % 2 === 0)
    .map((l) => ({
      lock_id: l.id,
      host_id: l.id,
      acquired_at: at,
      refreshed_at: at,
      fencing_token: 1,
      expires_at: null,
    }));
  return {
    format: EXPORT_FORMAT,
    version: EXPORT_VERSION,
    exported_at: new Date().toISOString(),
    tables: { hosts, locks, lock_holders: holders },
  };
}

/** Seeds an empty keyholder database (migrations applied here); returns the seconds it took. */
export async function seed(dataDir: string, databaseUrl: string | undefined, size: number): Promise<number> {
  const store = openStore(
    loadConfig({ env: {}, flags: { dataDir, database: { url: databaseUrl }, log: { level: 'silent' } } }),
  );
  const t0 = performance.now();
  try {
    await store.migrate();
    await store.importData(scaleDocument(size));
  } finally {
    await store.close();
  }
  return (performance.now() - t0) / 1000;
}

export function rssMiB(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

interface Answer {
  status: number;
  body: string;
}

export class ApiClient {
  private readonly agent: Agent;
  constructor(
    private readonly port: number,
    caPem: string,
    private authorization: string,
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: 1, ca: caPem });
  }

  call(method: string, path: string, body?: unknown): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: '127.0.0.1',
          port: this.port,
          method,
          path,
          agent: this.agent,
          headers: {
            authorization: this.authorization,
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.setTimeout(60_000, () => req.destroy(new Error('no answer within 60 s')));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** trades the admin password for an API token: a password check per request would be timed */
  async useToken(): Promise<void> {
    const r = await this.call('POST', '/api/tokens', { user: 'admin', name: 'bench-scale' });
    if (r.status !== 201) throw new Error(`token: HTTP ${r.status} ${r.body.slice(0, 200)}`);
    this.authorization = `Bearer ${(JSON.parse(r.body) as { token: string }).token}`;
  }

  close(): void {
    this.agent.destroy();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : 0;
}

/** `count` sequential requests per path (after one untimed warm-up each); p50 and p99. */
export async function timeRequests(
  api: ApiClient,
  paths: string[],
  count: number,
  problems: { errors: number; firstError?: string },
): Promise<{ p50Ms: number; p99Ms: number }> {
  const latencies: number[] = [];
  for (const path of paths) {
    await api.call('GET', path);
    for (let i = 0; i < count; i++) {
      const t0 = performance.now();
      const r = await api.call('GET', path);
      latencies.push(performance.now() - t0);
      if (r.status !== 200) {
        problems.errors++;
        problems.firstError ??= `GET ${path}: HTTP ${r.status} ${r.body.slice(0, 200)}`;
      }
    }
  }
  latencies.sort((a, b) => a - b);
  return { p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
}
