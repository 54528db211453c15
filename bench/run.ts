// `npm run bench`: keyholder's acquire/release round trips side by side with the bare-fastify
// ceiling, the storage ceilings and (when installed) etcd, all measured in this one run on this
// machine and printed as ratios. Every server runs in its own process; the rounds interleave
// the workloads so that slow drift of the machine hits them alike. See bench/README.md.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPgCluster, type PgCluster } from '../test/support/postgres.js';
import { ETCD_SUCCESS, etcdLockRequests, findEtcd, startEtcd } from './etcd.js';
import { lockRequests, measure, type HttpRow, type MeasureOptions, type Target } from './measure.js';
import { hostName, lockName, makePki } from './pki.js';
import { parentOf, startTsChild } from './proc.js';
import { fmt, printReport } from './report.js';
import type { CommitStats, ServeSpec } from './serve.js';
import { pgTransactions, sqliteCommits, type StorageResult } from './storage.js';

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got '${raw}'`);
  return n;
}

const MEASURE_MS = envNumber('BENCH_SECONDS', 3) * 1000;
const WARMUP_MS = envNumber('BENCH_WARMUP_SECONDS', 1) * 1000;
const ROUNDS = Math.round(envNumber('BENCH_ROUNDS', 2));
const CLIENTS = (process.env.BENCH_CLIENTS ?? '16,64').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_CLIENTS must list client counts, got '${s}'`);
  return n;
});
const PG_POOL = Math.round(envNumber('BENCH_PG_POOL', 16));
const PG_CONNECTIONS = Math.round(envNumber('BENCH_PG_CONNECTIONS', 16));
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const want = (part: string) => !ONLY || ONLY.includes(part);

interface Workload {
  name: string;
  target: Target;
  requests: (i: number, port: number) => string[];
  options: Partial<MeasureOptions>;
  stop(): Promise<void>;
}

async function startServe(name: string, spec: ServeSpec): Promise<Omit<Workload, 'requests' | 'options'>> {
  const nodeArgs = PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${PROFILE_DIR}`] : [];
  const child = startTsChild('./serve.ts', { BENCH_SERVE: JSON.stringify(spec) }, nodeArgs);
  try {
    const { port } = await child.next<{ type: 'ready'; port: number }>('ready');
    const commitStats = async () => {
      child.send({ type: 'stats' });
      return child.next<CommitStats>('stats', 10_000);
    };
    const target: Target = { port, pid: child.proc.pid };
    if (spec.mode === 'keyholder' && !spec.databaseUrl) target.commitStats = commitStats;
    return { name, target, stop: () => child.stop() };
  } catch (err) {
    await child.stop();
    throw err;
  }
}

/** The postmaster's pid, so that the CPU of PostgreSQL's backends counts as the bench's own. */
async function postmasterPid(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    return parentOf(rows[0]!.pid);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyholder-bench-'));
  const http: HttpRow[] = [];
  const storage: StorageResult[] = [];
  const notes: string[] = [];
  const workloads: Workload[] = [];
  let cluster: PgCluster | undefined;
  console.log(
    `keyholder bench: ${cpus().length} CPUs, node ${process.version}; ${ROUNDS} round(s) of ` +
      `${WARMUP_MS / 1000}s warm-up + ${MEASURE_MS / 1000}s per measurement; clients ${CLIENTS.join(', ')}`,
  );
  try {
    const pki = await makePki(dir, Math.max(...CLIENTS));
    const tls = { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath };
    const viaTls = { requests: lockRequests, options: { pki } };

    if (want('ceiling')) {
      workloads.push({
        ...(await startServe('ceiling (bare fastify)', { mode: 'ceiling', tls, dataDir: dir })),
        ...viaTls,
      });
    }
    if (want('sqlite')) {
      workloads.push({
        ...(await startServe('keyholder SQLite', { mode: 'keyholder', tls, dataDir: join(dir, 'sqlite') })),
        ...viaTls,
      });
    }
    if (want('postgres') || want('storage')) {
      try {
        cluster = await startPgCluster();
      } catch (err) {
        notes.push(`PostgreSQL: no cluster could be started (${(err as Error).message}); skipped`);
        console.log(notes.at(-1));
      }
    }
    if (cluster && want('postgres')) {
      cluster.psql('CREATE DATABASE keyholder_bench');
      const databaseUrl = cluster.url('keyholder_bench');
      const server = await startServe('keyholder PostgreSQL', {
        mode: 'keyholder',
        tls,
        dataDir: join(dir, 'pg'),
        databaseUrl,
        poolSize: PG_POOL,
      });
      const postmaster = await postmasterPid(databaseUrl);
      server.target.extraRoots = postmaster ? [postmaster] : [];
      workloads.push({ ...server, ...viaTls });
    }
    if (want('etcd')) {
      const bin = findEtcd();
      if (!bin) {
        notes.push('etcd: not installed, skipped');
        console.log(notes.at(-1));
      } else {
        mkdirSync(join(dir, 'etcd'));
        const etcd = await startEtcd(bin, join(dir, 'etcd'));
        workloads.push({
          name: 'etcd txn lock (plain HTTP)',
          target: { port: etcd.port, pid: etcd.pid },
          requests: (i, port) => etcdLockRequests(port, lockName(i), hostName(i)),
          options: { expectBody: ETCD_SUCCESS },
          stop: () => etcd.stop(),
        });
      }
    }

    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round}/${ROUNDS}`);
      for (const clients of CLIENTS) {
        for (const w of workloads) {
          http.push(
            await measure(w.name, w.target, clients, w.requests, {
              dir,
              warmupMs: WARMUP_MS,
              measureMs: MEASURE_MS,
              ...w.options,
            }),
          );
        }
      }
    }
    for (const w of workloads.splice(0)) await w.stop();

    if (want('storage')) {
      console.log('storage ceilings');
      storage.push(sqliteCommits(join(dir, 'raw.sqlite'), WARMUP_MS, MEASURE_MS));
      console.log(`  ${storage.at(-1)!.name}: ${fmt(storage.at(-1)!.opsPerSec)} tx/s`);
      if (cluster) {
        cluster.psql('CREATE DATABASE storage_bench');
        storage.push(
          await pgTransactions(cluster.url('storage_bench'), PG_CONNECTIONS, WARMUP_MS, MEASURE_MS),
        );
        console.log(`  ${storage.at(-1)!.name}: ${fmt(storage.at(-1)!.opsPerSec)} tx/s`);
      }
    }
    if (cluster) {
      notes.push(
        "the PostgreSQL cluster is test/support/postgres.ts's throwaway one: fsync=off, so its numbers " +
          '(keyholder on PostgreSQL and the PostgreSQL ceiling alike) are not durable commits',
      );
    }
  } finally {
    for (const w of workloads) await w.stop().catch(() => undefined);
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  printReport({ clients: CLIENTS, http, storage, notes });
}

await main();
