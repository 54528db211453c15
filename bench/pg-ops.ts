// The PostgreSQL lock path without HTTP (`npm run bench:pgops`): on the bench's durable
// throwaway cluster, `BENCH_PG_CONNECTIONS` connections (a list: each count in turn) each loop acquire + release of their own
// lock through `SELECT keyholder_host_rule(…)`, next to the raw one-UPDATE commit rate (as the
// bench's storage section measures it) in the same rounds. Besides ops/s it reports PostgreSQL's own CPU per operation (its backends'
// jiffies from /proc), which the machine's other load disturbs far less than a rate does.
// `BENCH_PGOPS_SYNC_COMMIT=off` with `BENCH_PG_CONNECTIONS=1` leaves out the fsync wait and the
// contention: what is left is each operation's statements. `BENCH_PGOPS_VARIANTS` (comma list of .sql files, each a `CREATE OR REPLACE FUNCTION
// keyholder_host_rule …`) measures rewrites of the function against the installed one.
// `BENCH_PGOPS_QUEUED=1` gives each lock a second place and a blocking waiter that stays queued
// (a live instance, a far deadline): every operation then takes the queue's path (migration
// 15), each release with its change note.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { HOST_RULE_FUNCTION } from '../src/store/migrations/host-rule.js';
import { PostgresStore } from '../src/store/postgres/index.js';
import { startPgCluster } from '../test/support/postgres.js';
import { parentOf, treeTicks } from './proc.js';
import { fmt } from './report.js';

const num = (name: string, fallback: number) => Number(process.env[name] || fallback);
const MEASURE_MS = num('BENCH_SECONDS', 3) * 1000;
const WARMUP_MS = num('BENCH_WARMUP_SECONDS', 1) * 1000;
const ROUNDS = num('BENCH_ROUNDS', 2);
/** connection counts, each measured in every round (e.g. `8,16,32`, to choose a pool size) */
const CONNECTIONS = (process.env.BENCH_PG_CONNECTIONS || '16').split(',').map(Number);
const MOST = Math.max(...CONNECTIONS);
/** `off`: commits without waiting for the WAL flush, to see the statements' CPU alone */
const SYNC_COMMIT = process.env.BENCH_PGOPS_SYNC_COMMIT ?? 'on';
const VARIANTS = (process.env.BENCH_PGOPS_VARIANTS ?? '').split(',').filter(Boolean);
const QUEUED = process.env.BENCH_PGOPS_QUEUED === '1';
/** jiffies per second on Linux (USER_HZ) */
const HZ = 100;

interface Row {
  name: string;
  opsPerSec: number;
  /** PostgreSQL's CPU (all its processes) per operation, in ms */
  pgCpuMs: number;
  errors: number;
}

/**
 * `connections` connections, each calling `step(client, i, n)` in a loop (n counts its calls):
 * the operations per second and PostgreSQL's CPU per operation over the measured window.
 */
async function loop(
  connections: number,
  url: string,
  postmaster: number | undefined,
  name: string,
  step: (c: pg.Client, i: number, n: number) => Promise<boolean>,
): Promise<Row> {
  const clients = Array.from({ length: connections }, () => new pg.Client({ connectionString: url }));
  await Promise.all(clients.map((c) => c.connect()));
  await Promise.all(clients.map((c) => c.query(`SET synchronous_commit = ${pg.escapeLiteral(SYNC_COMMIT)}`)));
  let measuring = false;
  let stopping = false;
  let ops = 0;
  let errors = 0;
  const loops = clients.map(async (c, i) => {
    for (let n = 0; !stopping; n++) {
      const ok = await step(c, i, n);
      if (measuring) {
        ops++;
        if (!ok) errors++;
      }
    }
  });
  await new Promise((r) => setTimeout(r, WARMUP_MS));
  const ticks0 = postmaster === undefined ? undefined : treeTicks([postmaster]);
  measuring = true;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, MEASURE_MS));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const ticks1 = postmaster === undefined ? undefined : treeTicks([postmaster]);
  stopping = true;
  await Promise.all(loops);
  await Promise.all(clients.map((c) => c.end()));
  const cpuMs = ticks0 === undefined || ticks1 === undefined ? NaN : ((ticks1 - ticks0) * 1000) / HZ;
  return { name, opsPerSec: ops / seconds, pgCpuMs: cpuMs / Math.max(ops, 1), errors };
}

/** autocommit: each UPDATE is its own transaction, with fsync on its own commit */
const rawUpdate = async (c: pg.Client, i: number) =>
  (await c.query({ name: 'raw', text: 'UPDATE bench_counter SET n = n + 1 WHERE id = $1', values: [i] }))
    .rowCount === 1;

/** acquire, then release, of the connection's own lock as its own host: one call per operation */
const hostRule = async (c: pg.Client, i: number, n: number) => {
  const rule = n % 2 === 0 ? 'acquire' : 'release';
  const { rows } = await c.query<{ out: { outcome: string | null } | null }>({
    name: 'host_rule',
    text: 'SELECT keyholder_host_rule($1, $2, NULL, $3) AS out',
    values: [rule, `bench-lock-${i}`, `bench-host-${i}`],
  });
  return rows[0]?.out?.outcome === (rule === 'acquire' ? 'acquired' : 'released');
};

async function main(): Promise<void> {
  const cluster = await startPgCluster({ durable: true });
  try {
    cluster.psql('CREATE DATABASE pgops');
    const url = cluster.url('pgops');
    const store = new PostgresStore({ url });
    await store.migrate();
    await store.close();
    cluster.psql(
      `INSERT INTO hosts (name, created_at) SELECT 'bench-host-' || g, 0 FROM generate_series(0, ${MOST - 1}) g;
       INSERT INTO locks (name, type, created_at, updated_at)
       SELECT 'bench-lock-' || g, 'ForemanDlm::Dlmlock::Update', 0, 0 FROM generate_series(0, ${MOST - 1}) g;
       ${
         QUEUED
           ? `UPDATE locks SET max_holders = 2;
       INSERT INTO hosts (name, created_at) VALUES ('bench-waiter', 0);
       INSERT INTO instances (id, started_at, heartbeat_at, expires_at) VALUES ('bench', 0, 0, 9000000000000);
       INSERT INTO lock_waiters (lock_id, host_id, created_at, deadline, instance_id)
       SELECT l.id, h.id, 0, 9000000000000, 'bench' FROM locks l, hosts h WHERE h.name = 'bench-waiter';`
           : ''
       }
       CREATE TABLE bench_counter (id integer PRIMARY KEY, n bigint NOT NULL);
       INSERT INTO bench_counter (id, n) SELECT g, 0 FROM generate_series(0, ${MOST - 1}) g`,
      'pgops',
    );
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const { rows } = await admin.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const postmaster = parentOf(rows[0]!.pid);
    const functions = [
      { name: 'keyholder_host_rule (installed)', sql: HOST_RULE_FUNCTION },
      ...VARIANTS.map((file) => ({ name: basename(file), sql: readFileSync(file, 'utf8') })),
    ];
    const results: Row[] = [];
    /** the raw rate of the round each result was measured in */
    const raws: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      for (const connections of CONNECTIONS) {
        const at = CONNECTIONS.length > 1 ? ` ×${connections}` : '';
        const raw = await loop(connections, url, postmaster, `raw 1-UPDATE transactions${at}`, rawUpdate);
        results.push(raw);
        raws.push(raw.opsPerSec);
        console.log(
          `round ${round}: ${raw.name}: ${fmt(raw.opsPerSec)} tx/s, PostgreSQL CPU ${raw.pgCpuMs.toFixed(3)} ms/tx`,
        );
        for (const f of functions) {
          await admin.query(f.sql);
          const row = await loop(connections, url, postmaster, `${f.name}${at}`, hostRule);
          results.push(row);
          raws.push(raw.opsPerSec);
          console.log(
            `round ${round}: ${row.name}: ${fmt(row.opsPerSec)} ops/s = ${(row.opsPerSec / raw.opsPerSec).toFixed(2)}× raw, ` +
              `PostgreSQL CPU ${row.pgCpuMs.toFixed(3)} ms/op${row.errors ? `, ${row.errors} errors` : ''}`,
          );
        }
      }
    }
    await admin.end();
    // the machine is shared: each row's best round is the one least disturbed
    console.log('\nbest round of each (ops/s over the raw rate of that round; PostgreSQL CPU per op):');
    for (const name of [...new Set(results.map((r) => r.name))]) {
      const rows = results.filter((r) => r.name === name);
      const best = rows.reduce((a, b) => (b.pgCpuMs < a.pgCpuMs ? b : a));
      const ratios = rows.map((r) => r.opsPerSec / raws[results.indexOf(r)]!);
      console.log(
        `  ${name.padEnd(40)} ${fmt(Math.max(...rows.map((r) => r.opsPerSec))).padStart(7)} ops/s  ` +
          `${Math.max(...ratios).toFixed(2)}× raw  ${best.pgCpuMs.toFixed(3)} ms CPU/op`,
      );
    }
    if (results.some((r) => r.errors > 0)) process.exitCode = 1;
  } finally {
    cluster.stop();
  }
}

await main();
