// The server under test, in its own process: either the bare-fastify ceiling or keyholder
// itself (SQLite or PostgreSQL), on the same certificates and TLS options. Spec in
// BENCH_SERVE (JSON); tells the parent its port over IPC and stops on {type:'stop'}.
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { Session } from 'node:inspector';
import { performance } from 'node:perf_hooks';
import { startServer as startFromSource } from '../src/server.js';
import { loadConfig as loadConfigFromSource } from '../src/config/load.js';
import { buildBareTls, buildCeiling } from './ceiling.js';

export interface ServeSpec {
  /** bare-tls: TLS handshakes and one fixed HTTP answer per connection, nothing else */
  mode: 'ceiling' | 'keyholder' | 'bare-tls';
  tls: { cert: string; key: string; ca: string };
  dataDir: string;
  databaseUrl?: string;
  poolSize?: number;
  /**
   * keyholder as `npm start` runs it, from dist/ (tsc's output; `npm run build` first) rather
   * than from src/ through tsx, whose transform adds a `__name()` call to every function made
   */
  built?: boolean;
}

export interface CommitStats {
  type: 'stats';
  /** COMMITs the SQLite writer ran */
  commits: number;
  /** wall time spent inside those COMMITs (the fsync), during which the event loop is blocked */
  commitMs: number;
  /** wall time in the writer's other `exec` calls: BEGIN, SAVEPOINT, RELEASE, ROLLBACK TO */
  otherExecMs: number;
}

const stats: CommitStats = { type: 'stats', commits: 0, commitMs: 0, otherExecMs: 0 };

/** BEGIN, SAVEPOINT, RELEASE, ROLLBACK TO and COMMIT: the writer's transaction control. */
const CONTROL = /^(BEGIN|SAVEPOINT|RELEASE|ROLLBACK|COMMIT)\b/;

function timed(sql: string, run: () => unknown): unknown {
  const t0 = performance.now();
  try {
    return run();
  } finally {
    const ms = performance.now() - t0;
    if (sql === 'COMMIT') {
      stats.commits++;
      stats.commitMs += ms;
    } else {
      stats.otherExecMs += ms;
    }
  }
}

/**
 * Diagnostics only, not a change of behaviour: counts the COMMITs that keyholder's SQLite
 * writer runs, and the time they block, by wrapping better-sqlite3's `exec` and the `run` of
 * prepared transaction-control statements (the group commit prepares its own). With group
 * commit, requests per COMMIT is the batch size.
 */
function countCommits(): void {
  type Db = { exec(this: unknown, sql: string): unknown; prepare(this: unknown, sql: string): unknown };
  const proto = Database.prototype as unknown as Db;
  const exec = proto.exec;
  proto.exec = function (this: unknown, sql: string) {
    return timed(sql, () => exec.call(this, sql));
  };
  const prepare = proto.prepare;
  proto.prepare = function (this: unknown, sql: string) {
    const statement = prepare.call(this, sql) as { run(...params: unknown[]): unknown };
    if (CONTROL.test(sql)) {
      const run = statement.run;
      statement.run = (...params: unknown[]) => timed(sql, () => run.apply(statement, params));
    }
    return statement;
  };
}

async function start(spec: ServeSpec): Promise<{ port: number; close(): Promise<void> }> {
  if (spec.mode === 'bare-tls') {
    const server = buildBareTls({
      cert: readFileSync(spec.tls.cert),
      key: readFileSync(spec.tls.key),
      ca: readFileSync(spec.tls.ca),
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      port: (server.address() as AddressInfo).port,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
  if (spec.mode === 'ceiling') {
    // the same options keyholder's startServer passes to fastify
    const app = buildCeiling({
      cert: readFileSync(spec.tls.cert),
      key: readFileSync(spec.tls.key),
      ca: readFileSync(spec.tls.ca),
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    return { port: (app.server.address() as AddressInfo).port, close: () => app.close() };
  }
  if (!spec.databaseUrl) countCommits();
  // dist/ is imported only when asked for: its absence must not fail the usual run
  const { loadConfig, startServer } = spec.built
    ? {
        loadConfig: (await import('../dist/config/load.js' as string))
          .loadConfig as typeof loadConfigFromSource,
        startServer: (await import('../dist/server.js' as string)).startServer as typeof startFromSource,
      }
    : { loadConfig: loadConfigFromSource, startServer: startFromSource };
  const config = loadConfig({
    env: {},
    flags: {
      dataDir: spec.dataDir,
      host: '127.0.0.1',
      port: 0,
      database: { url: spec.databaseUrl, ...(spec.poolSize ? { poolSize: spec.poolSize } : {}) },
      tls: spec.tls,
      adminPassword: 'bench-admin-password',
      log: { level: 'silent' },
    },
  });
  const server = await startServer(config);
  return { port: server.port, close: () => server.close() };
}

const spec = JSON.parse(process.env.BENCH_SERVE ?? '{}') as ServeSpec;
const running = await start(spec);
process.send?.({ type: 'ready', port: running.port });
const stop = () => {
  running.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
/**
 * A CPU profile of the measured window only (`--cpu-prof` covers the whole life of the process:
 * start-up, warm-up, idle time between workloads). Diagnostics for bench/window.ts.
 */
const profiler = new Session();
function profileStart(heap: boolean): void {
  profiler.connect();
  const started = () => process.send?.({ type: 'profiling' });
  if (heap) {
    // allocations (bytes by call stack) rather than CPU time
    profiler.post('HeapProfiler.enable', () =>
      profiler.post(
        'HeapProfiler.startSampling',
        {
          samplingInterval: 4096,
          includeObjectsCollectedByMajorGC: true,
          includeObjectsCollectedByMinorGC: true,
        },
        started,
      ),
    );
    return;
  }
  profiler.post('Profiler.enable', () => profiler.post('Profiler.start', started));
}
function profileStop(file: string, heap: boolean): void {
  const write = (err: Error | null, profile: unknown) => {
    if (!err) writeFileSync(file, JSON.stringify(profile));
    profiler.disconnect();
    process.send?.({ type: 'profiled', error: err?.message });
  };
  if (heap) profiler.post('HeapProfiler.stopSampling', (err, result) => write(err, result?.profile));
  else profiler.post('Profiler.stop', (err, result) => write(err, result?.profile));
}

process.on('message', (m: { type?: string; file?: string; heap?: boolean }) => {
  if (m.type === 'stop') stop();
  if (m.type === 'stats') process.send?.({ ...stats });
  if (m.type === 'profile-start') profileStart(m.heap === true);
  if (m.type === 'profile-stop' && m.file) profileStop(m.file, m.heap === true);
});
process.once('disconnect', stop);
