// `npm run bench:fleet`: a simulated fleet (up to 20,000 hosts by default) runs the update
// workflow against a lock with max_holders 1 and one with max_holders 10, on SQLite and on
// PostgreSQL, and the report gives requests/s, the server's memory (RSS), wait fairness
// (median, p99 and max wait per lock and acquire mode) and the invariant checked throughout.
// Hosts are impersonated through the trusted-proxy header (see bench/fleet-sim.ts).
//
//   npm run bench:fleet -- --hosts 20000 --seconds 60 [--stores sqlite,postgres]
//     [--connections 256]
//     [--wait-connections HOSTS] [--wait-share 0.5] [--wait 25] [--hold-ms 50-250]
//     [--idle-ms 1000-5000] [--retry-ms 2000-8000] [--ramp-ms 5000] [--cycles 0] [--json]
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startPgCluster, type PgCluster } from '../test/support/postgres.js';
import { makePki } from './pki.js';
import { processTicks, startTsChild } from './proc.js';
import { fmt } from './report.js';
import { runFleet, type FleetResult } from './fleet-sim.js';
import type { FleetServeSpec } from './fleet-serve.js';

const ADMIN_PASSWORD = 'fleet-bench-admin-password';
const LOCKS = [
  { name: 'fleet-one', maxHolders: 1 },
  { name: 'fleet-ten', maxHolders: 10 },
];

const { values: flags } = parseArgs({
  options: {
    hosts: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '60' },
    stores: { type: 'string', default: 'sqlite,postgres' },
    connections: { type: 'string', default: '256' },
    'wait-connections': { type: 'string', default: '' },
    'wait-share': { type: 'string', default: '0.5' },
    wait: { type: 'string', default: '25' },
    'hold-ms': { type: 'string', default: '50-250' },
    'idle-ms': { type: 'string', default: '1000-5000' },
    'retry-ms': { type: 'string', default: '2000-8000' },
    'ramp-ms': { type: 'string', default: '5000' },
    cycles: { type: 'string', default: '0' },
    json: { type: 'boolean', default: false },
  },
  strict: true,
});

function number(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`--${name} must be a number from ${min} to ${max}`);
  return n;
}

function range(name: string, raw: string): [number, number] {
  const [lo, hi = lo] = raw.split('-').map((p) => number(name, p, 0, 3_600_000));
  if (lo! > hi!) throw new Error(`--${name}: give LOW-HIGH in milliseconds`);
  return [lo!, hi!];
}

const hosts = Math.round(number('hosts', flags.hosts, 1, 1_000_000));
const seconds = number('seconds', flags.seconds, 1, 86_400);
const connections = Math.round(number('connections', flags.connections, 1, 100_000));
/** this process's open-file limit (`ulimit -n`), from /proc (Linux); undefined elsewhere */
function openFilesLimit(): number | undefined {
  try {
    const soft = /Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1];
    return soft === undefined ? undefined : Number(soft);
  } catch {
    return undefined;
  }
}

/**
 * By default every blocked host has its own connection, as a real one would — as many as the
 * open-file limit allows: each socket is a descriptor here and another in the server process
 * (same limit), and the shared pool, the observer and the libraries need some too.
 */
const fdLimit = openFilesLimit();
const waitConnections = flags['wait-connections']
  ? Math.round(number('wait-connections', flags['wait-connections'], 1, 1_000_000))
  : Math.max(1, Math.min(hosts, fdLimit === undefined ? hosts : fdLimit - connections - 1000));
const stores = flags.stores.split(',').map((s) => s.trim());
for (const s of stores)
  if (s !== 'sqlite' && s !== 'postgres') throw new Error(`--stores: unknown store '${s}'`);

/** resident memory of a process, from /proc (Linux); undefined elsewhere */
function rssMb(pid: number | undefined): number | undefined {
  try {
    const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) / 1024;
  } catch {
    return undefined;
  }
}

interface Row {
  store: string;
  result: FleetResult;
  rssStartMb?: number;
  rssMaxMb?: number;
  serverCpuPct?: number;
}

async function runOn(store: string, spec: FleetServeSpec): Promise<Row> {
  const child = startTsChild('./fleet-serve.ts', { FLEET_SERVE: JSON.stringify(spec) });
  try {
    const { port } = await child.next<{ type: 'ready'; port: number }>('ready');
    const pid = child.proc.pid;
    const rssStartMb = rssMb(pid);
    let rssMaxMb = rssStartMb;
    const sampler = setInterval(() => {
      const now = rssMb(pid);
      if (now !== undefined) rssMaxMb = Math.max(rssMaxMb ?? 0, now);
    }, 500);
    const ticks0 = processTicks(pid);
    const result = await runFleet({
      port,
      caPem: readFileSync(spec.tls.ca, 'utf8'),
      admin: ['admin', ADMIN_PASSWORD],
      hosts,
      seconds,
      locks: LOCKS,
      cycles: Math.round(number('cycles', flags.cycles, 0, 1_000_000)),
      waitShare: number('wait-share', flags['wait-share'], 0, 1),
      waitSeconds: Math.round(number('wait', flags.wait, 1, 300)),
      rampMs: number('ramp-ms', flags['ramp-ms'], 0, 3_600_000),
      holdMs: range('hold-ms', flags['hold-ms']),
      idleMs: range('idle-ms', flags['idle-ms']),
      retryMs: range('retry-ms', flags['retry-ms']),
      connections,
      waitConnections,
    });
    clearInterval(sampler);
    const ticks1 = processTicks(pid);
    const serverCpuPct =
      ticks0 === undefined || ticks1 === undefined
        ? undefined
        : ((ticks1 - ticks0) / 100 / result.seconds) * 100;
    return { store, result, rssStartMb, rssMaxMb, serverCpuPct };
  } finally {
    await child.stop();
  }
}

function print(rows: Row[]): void {
  console.log(
    `\nfleet: ${hosts} hosts (impersonated through the trusted-proxy header ssl_client_s_dn from ` +
      `127.0.0.1, not one certificate each); short requests share ${connections} keep-alive sockets, ` +
      `blocked ?wait= requests ${waitConnections}${fdLimit === undefined ? '' : ` (ulimit -n ${fdLimit})`}; ${seconds}s, ` +
      `${cpus().length} CPUs, node ${process.version}`,
  );
  for (const { store, result: r, rssStartMb, rssMaxMb, serverCpuPct } of rows) {
    const mem = rssMaxMb === undefined ? 'n/a' : `${fmt(rssStartMb ?? 0)} → max ${fmt(rssMaxMb)} MB`;
    const cpu = serverCpuPct === undefined ? '' : `, server CPU ${fmt(serverCpuPct)}%`;
    console.log(
      `\n${store}: ${fmt(r.requestsPerSec)} requests/s (${r.requests} in ${fmt(r.seconds)}s), server RSS ${mem}${cpu}; ` +
        `${r.served}/${r.started} hosts granted at least once`,
    );
    console.log('  lock        mode   grants  median ms  p99 ms   max ms   max/median');
    for (const w of r.waits) {
      const s = w.stats;
      const ratio = s.medianMs > 0 ? fmt(s.maxMs / s.medianMs) : 'n/a';
      console.log(
        `  ${w.lock.padEnd(11)} ${w.mode.padEnd(6)} ${String(s.grants).padStart(6)} ${fmt(s.medianMs).padStart(10)} ` +
          `${fmt(s.p99Ms).padStart(7)} ${fmt(s.maxMs).padStart(8)} ${ratio.padStart(12)}`,
      );
    }
    for (const lock of LOCKS) {
      const m = r.mostHolders[lock.name]!;
      console.log(
        `  invariant ${lock.name} (max ${lock.maxHolders}): most holders seen in answers ${m.answers}, ` +
          `by the observer ${m.observed}, in the event log ${m.replayed}`,
      );
    }
    const errors = Object.entries(r.errors);
    if (errors.length) console.log(`  errors: ${errors.map(([k, n]) => `${k} ×${n}`).join(', ')}`);
    console.log(
      r.violations.length
        ? `  VIOLATIONS:\n    ${r.violations.slice(0, 20).join('\n    ')}`
        : '  no violations',
    );
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyholder-fleet-'));
  const rows: Row[] = [];
  let cluster: PgCluster | undefined;
  try {
    const pki = await makePki(dir, 0);
    const base = {
      tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath },
      adminPassword: ADMIN_PASSWORD,
      // a connection per blocked host, the shared pool, and room for the observer
      maxConnections: Math.min(1_000_000, waitConnections + connections + 100),
    };
    for (const store of stores) {
      const dataDir = join(dir, store);
      mkdirSync(dataDir);
      let databaseUrl: string | undefined;
      if (store === 'postgres') {
        cluster ??= await startPgCluster();
        cluster.psql('CREATE DATABASE keyholder_fleet');
        databaseUrl = cluster.url('keyholder_fleet');
      }
      console.log(`${store}: ${hosts} hosts for ${seconds}s …`);
      try {
        rows.push(await runOn(store, { ...base, dataDir, databaseUrl }));
      } catch (err) {
        // one store's failure (the server hanging up on the setup, say) still reports the other
        console.log(`${store}: the run failed: ${(err as Error).message}`);
        process.exitCode = 1;
      }
    }
  } finally {
    cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  if (flags.json) console.log(JSON.stringify(rows, null, 2));
  else print(rows);
  if (cluster) {
    console.log(
      "\nPostgreSQL: test/support/postgres.ts's throwaway cluster (fsync=off), as `npm run bench` uses",
    );
  }
  if (rows.some((r) => r.result.violations.length > 0)) process.exitCode = 1;
}

await main();
