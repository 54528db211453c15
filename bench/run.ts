// `npm run bench`: keyholder's acquire/release round trips side by side with the bare-fastify
// ceiling, the storage ceilings and (when installed) etcd, all measured in this one run on this
// machine and printed as ratios; acquires over new connections next to a bare TLS server's
// handshake rate; list and search latency at 1k–100k locks. Every server runs in its own
// process; the rounds interleave the workloads so that slow drift of the machine hits them
// alike. See bench/README.md.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startPgCluster, type PgCluster } from '../test/support/postgres.js';
import { ETCD_SUCCESS, etcdLockRequests, findEtcd, startEtcd } from './etcd.js';
import { lockRequests, measure, type HttpRow, type MeasureOptions, type Target } from './measure.js';
import { addServerCert, hostName, lockName, makePki } from './pki.js';
import { postmasterPid, startTsChild } from './proc.js';
import { fmt, printReport, printScale } from './report.js';
import { ApiClient, rssMiB, scaleSearches, seed, timeRequests, type ScaleRow } from './scale.js';
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
/** one keyholder server per pool size, measured side by side (e.g. `BENCH_PG_POOL=4,8,16,32`) */
const PG_POOLS = (process.env.BENCH_PG_POOL || '16').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_PG_POOL must list pool sizes, got '${s}'`);
  return n;
});
const PG_CONNECTIONS = Math.round(envNumber('BENCH_PG_CONNECTIONS', 16));
const SCALE_SIZES = (process.env.BENCH_SCALE_SIZES ?? '1000,10000,100000').split(',').map((s) => {
  const n = Number(s.trim());
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_SCALE_SIZES must list sizes, got '${s}'`);
  return n;
});
const SCALE_REQUESTS = Math.round(envNumber('BENCH_SCALE_REQUESTS', 30));
const SCALE_STORES = (process.env.BENCH_SCALE_STORES ?? 'sqlite,postgres').split(',').map((s) => s.trim());
/** RSA-4096 client certificates for the new-connection section (each takes seconds to make) */
const RSA_CLIENT_CERTS = 2;
/** every section; `handshake` and `scale` are the slow ones */
const SECTIONS = ['ceiling', 'sqlite', 'postgres', 'storage', 'etcd', 'handshake', 'scale'];
const ONLY = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
for (const part of ONLY ?? []) {
  if (!SECTIONS.includes(part)) throw new Error(`BENCH_ONLY: '${part}' is none of ${SECTIONS.join(', ')}`);
}
const PROFILE_DIR = process.env.BENCH_CPU_PROF;
const want = (part: string) => !ONLY || ONLY.includes(part);

/** What a commit means in each row: the table states it next to the figure. */
const DURABILITY = {
  none: 'no storage',
  sqlite: 'fdatasync per group commit (WAL, synchronous=FULL)',
  postgres: 'fsync=on, synchronous_commit=on',
  etcd: 'fsync per commit (etcd default WAL)',
};

interface Workload {
  name: string;
  durability: string;
  baseline?: string;
  newConnections?: { resume: boolean };
  target: Target;
  requests: (i: number, port: number) => string[];
  options: Partial<MeasureOptions>;
  stop(): Promise<void>;
}

type Served = Omit<Workload, 'requests' | 'options' | 'durability'>;

async function startServe(name: string, spec: ServeSpec): Promise<Served> {
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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyholder-bench-'));
  const http: HttpRow[] = [];
  const storage: StorageResult[] = [];
  const scale: ScaleRow[] = [];
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
        durability: DURABILITY.none,
        ...viaTls,
      });
    }
    if (want('sqlite')) {
      workloads.push({
        ...(await startServe('keyholder SQLite', { mode: 'keyholder', tls, dataDir: join(dir, 'sqlite') })),
        durability: DURABILITY.sqlite,
        ...viaTls,
      });
    }
    const scaleOnPg = want('scale') && SCALE_STORES.includes('postgres');
    if (want('postgres') || want('storage') || scaleOnPg) {
      try {
        // durable, as users run it: the bench measures what a commit costs for real
        cluster = await startPgCluster({ durable: true });
      } catch (err) {
        notes.push(`PostgreSQL: no cluster could be started (${(err as Error).message}); skipped`);
        console.log(notes.at(-1));
      }
    }
    for (const poolSize of cluster && want('postgres') ? PG_POOLS : []) {
      const several = PG_POOLS.length > 1;
      const database = several ? `keyholder_bench_${poolSize}` : 'keyholder_bench';
      cluster!.psql(`CREATE DATABASE ${database}`);
      const databaseUrl = cluster!.url(database);
      const server = await startServe(
        several ? `keyholder PostgreSQL pool=${poolSize}` : 'keyholder PostgreSQL',
        {
          mode: 'keyholder',
          tls,
          dataDir: join(dir, `pg-${poolSize}`),
          databaseUrl,
          poolSize,
        },
      );
      const postmaster = await postmasterPid(databaseUrl);
      server.target.extraRoots = postmaster ? [postmaster] : [];
      workloads.push({ ...server, durability: DURABILITY.postgres, ...viaTls });
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
          durability: DURABILITY.etcd,
          target: { port: etcd.port, pid: etcd.pid },
          requests: (i, port) => etcdLockRequests(port, lockName(i), hostName(i)),
          options: { expectBody: ETCD_SUCCESS },
          stop: () => etcd.stop(),
        });
      }
    }

    if (want('handshake')) workloads.push(...(await handshakeWorkloads(dir)));

    for (let round = 1; round <= ROUNDS; round++) {
      console.log(`round ${round}/${ROUNDS}`);
      for (const clients of CLIENTS) {
        for (const w of workloads) {
          const row = await measure(w.name, w.target, clients, w.requests, {
            dir,
            warmupMs: WARMUP_MS,
            measureMs: MEASURE_MS,
            newConnections: w.newConnections,
            ...w.options,
          });
          http.push({
            ...row,
            durability: w.durability,
            baseline: w.baseline,
            newConnections: !!w.newConnections,
          });
        }
      }
    }
    for (const w of workloads.splice(0)) await w.stop();

    if (want('scale')) {
      console.log('scale: list and search latency and memory by number of locks and hosts');
      scale.push(...(await scaleRows(dir, pki, cluster)));
    }

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
        'PostgreSQL runs durable (fsync=on, synchronous_commit=on, full_page_writes=on), for ' +
          'keyholder and for its storage ceiling alike',
      );
    }
  } finally {
    for (const w of workloads) await w.stop().catch(() => undefined);
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (http.length || storage.length) printReport({ clients: CLIENTS, http, storage, notes });
  if (scale.length) printScale(scale);
}

/**
 * Acquires over new connections (no keep-alive), as a fleet of `curl` clients makes them:
 * RSA-4096 client certificates (what Puppet's CA issues), keyholder on SQLite next to a bare
 * TLS server on the same certificates, with full handshakes and with resumed sessions; once
 * with an RSA-4096 server certificate and once with an ECDSA P-256 one from the same CA.
 */
async function handshakeWorkloads(dir: string): Promise<Workload[]> {
  console.log(`making RSA-4096 keys for the new-connection section (CA, server, ${RSA_CLIENT_CERTS} hosts)`);
  const rsaPki = await makePki(dir, RSA_CLIENT_CERTS, { keyType: 'rsa' }, 'rsa-');
  const ecServer = await addServerCert(dir, rsaPki, { keyType: 'ecdsa' }, 'rsa-ec-');
  const out: Workload[] = [];
  for (const [label, cert, key] of [
    ['RSA-4096', rsaPki.serverCertPath, rsaPki.serverKeyPath],
    ['ECDSA P-256', ecServer.cert, ecServer.key],
  ] as const) {
    const tls = { cert, key, ca: rsaPki.caPath };
    const bare = await startServe(`bare TLS, ${label} server`, { mode: 'bare-tls', tls, dataDir: dir });
    const kh = await startServe(`keyholder SQLite, ${label} server`, {
      mode: 'keyholder',
      tls,
      dataDir: join(dir, `handshake-${label.replace(/\W/g, '')}`),
    });
    for (const resume of [false, true]) {
      const how = resume ? 'resumed' : 'full handshake';
      const options = { pki: rsaPki };
      const bareName = `${bare.name}, new conn, ${how}`;
      out.push({
        ...bare,
        name: bareName,
        durability: DURABILITY.none,
        newConnections: { resume },
        requests: lockRequests,
        options,
        // one stop per server: the resumed row's entry stops it
        stop: resume ? bare.stop : async () => {},
      });
      out.push({
        ...kh,
        name: `${kh.name}, new conn, ${how}`,
        durability: DURABILITY.sqlite,
        baseline: bareName,
        newConnections: { resume },
        requests: lockRequests,
        options,
        stop: resume ? kh.stop : async () => {},
      });
    }
  }
  return out;
}

/** List and search latency and server memory over 1k, 10k, 100k locks and hosts, per store. */
async function scaleRows(
  dir: string,
  pki: Awaited<ReturnType<typeof makePki>>,
  cluster: PgCluster | undefined,
): Promise<ScaleRow[]> {
  const rows: ScaleRow[] = [];
  const tls = { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath };
  const stores = [
    ...(SCALE_STORES.includes('sqlite') ? ['SQLite'] : []),
    ...(cluster && SCALE_STORES.includes('postgres') ? ['PostgreSQL'] : []),
  ];
  for (const store of stores) {
    for (const size of SCALE_SIZES) {
      const dataDir = join(dir, `scale-${store}-${size}`);
      mkdirSync(dataDir);
      let databaseUrl: string | undefined;
      if (store === 'PostgreSQL') {
        cluster!.psql(`CREATE DATABASE scale_${size}`);
        databaseUrl = cluster!.url(`scale_${size}`);
      }
      console.log(`  ${store} ${fmt(size)}: seeding`);
      const seedSeconds = await seed(dataDir, databaseUrl, size);
      const server = await startServe(`scale ${store} ${size}`, {
        mode: 'keyholder',
        tls,
        dataDir,
        databaseUrl,
      });
      const api = new ApiClient(
        server.target.port,
        pki.caPem,
        `Basic ${Buffer.from('admin:bench-admin-password').toString('base64')}`,
      );
      try {
        await api.useToken();
        const problems: { errors: number; firstError?: string } = { errors: 0 };
        const list = await timeRequests(api, ['/api/dlmlocks?per_page=20'], SCALE_REQUESTS, problems);
        const search = await timeRequests(
          api,
          scaleSearches(size).map((q) => `/api/dlmlocks?per_page=20&search=${encodeURIComponent(q)}`),
          Math.ceil(SCALE_REQUESTS / 2),
          problems,
        );
        const row: ScaleRow = {
          store,
          size,
          seedSeconds,
          list,
          search,
          rssMiB: rssMiB(server.target.pid),
          ...problems,
        };
        console.log(
          `  ${store} ${fmt(size)}: list p50 ${list.p50Ms.toFixed(1)} ms, search p50 ` +
            `${search.p50Ms.toFixed(1)} ms, RSS ${row.rssMiB?.toFixed(0) ?? '?'} MiB, errors ${row.errors}`,
        );
        rows.push(row);
      } finally {
        api.close();
        await server.stop();
      }
    }
  }
  return rows;
}

await main();
