// One HTTP measurement: a fresh load-client process against a running server, plus where the
// machine's CPU went during the measured window (server, load client, and anything else: this
// machine may be shared, and a busy neighbour makes a measurement worthless).
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import type { LoadResult, LoadSpec } from './load.js';
import { lockName, type BenchPki } from './pki.js';
import { machineTicks, processTicks, startTsChild, treeTicks } from './proc.js';
import type { CommitStats } from './serve.js';

let clockTicks = 100;
try {
  clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // assume the usual 100 Hz
}

export interface Target {
  port: number;
  /** the server process, for its CPU share */
  pid: number | undefined;
  /** processes whose CPU belongs to this workload besides ours (e.g. the postmaster) */
  extraRoots?: number[];
  /** keyholder on SQLite: its COMMIT counters so far (see serve.ts) */
  commitStats?: () => Promise<CommitStats>;
}

export interface CommitRates {
  commitsPerSec: number;
  requestsPerCommit: number;
  /** share of the window the event loop spent blocked inside COMMIT */
  blockedPercent: number;
  /** share of the window spent in BEGIN/SAVEPOINT/RELEASE */
  otherExecPercent: number;
}

export interface HttpRow {
  workload: string;
  /** what a commit means for this row: see run.ts */
  durability?: string;
  /** the workload this row's ratio is measured against (default: the bare-fastify ceiling) */
  baseline?: string;
  /** keep-alive (the main table) or new connections per request */
  newConnections?: boolean;
  clients: number;
  result: LoadResult;
  reqPerSec: number;
  /** percent of one CPU */
  serverCpu?: number;
  /** CPU used by processes that are not part of the bench, percent of one CPU */
  otherCpu?: number;
  commits?: CommitRates;
}

export interface MeasureOptions {
  dir: string;
  warmupMs: number;
  measureMs: number;
  pki?: BenchPki;
  expectBody?: string;
  newConnections?: { resume: boolean };
}

let specCounter = 0;

export function lockRequests(i: number, port: number): string[] {
  return ['PUT', 'DELETE'].map(
    (method) =>
      `${method} /api/dlmlocks/${lockName(i)}/lock HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 0\r\n\r\n',
  );
}

export async function measure(
  workload: string,
  target: Target,
  clients: number,
  requests: (i: number, port: number) => string[],
  opts: MeasureOptions,
): Promise<HttpRow> {
  const spec: LoadSpec = {
    host: '127.0.0.1',
    port: target.port,
    tls: opts.pki
      ? {
          ca: opts.pki.caPem,
          clients: opts.pki.clients.map((c) => ({ certPem: c.certPem, keyPem: c.keyPem })),
        }
      : undefined,
    requests: Array.from({ length: clients }, (_, i) => requests(i, target.port)),
    warmupMs: opts.warmupMs,
    measureMs: opts.measureMs,
    expectBody: opts.expectBody,
    newConnections: opts.newConnections,
  };
  const file = join(opts.dir, `load-${specCounter++}.json`);
  writeFileSync(file, JSON.stringify(spec), { mode: 0o600 });
  const roots = [process.pid, ...(target.extraRoots ?? [])];
  const load = startTsChild('./load.ts', { BENCH_LOAD: file });
  try {
    const result = load.next<LoadResult>('result', opts.warmupMs + opts.measureMs + 120_000);
    result.catch(() => undefined); // awaited below, where a failure shows
    await load.next('mark');
    const s0 = processTicks(target.pid);
    const t0 = treeTicks(roots);
    const m0 = machineTicks();
    const c0 = await target.commitStats?.();
    await load.next('mark');
    const s1 = processTicks(target.pid);
    const t1 = treeTicks(roots);
    const m1 = machineTicks();
    const c1 = await target.commitStats?.();
    const r = await result;
    const perCpu = (ticks: number) => (ticks / clockTicks / r.seconds) * 100;
    let otherCpu: number | undefined;
    if (m0 && m1 && t0 !== undefined && t1 !== undefined) {
      const machine = ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100 * cpus().length;
      otherCpu = Math.max(0, machine - perCpu(t1 - t0));
    }
    const row: HttpRow = {
      workload,
      clients,
      result: r,
      reqPerSec: r.ok / r.seconds,
      serverCpu: s0 !== undefined && s1 !== undefined ? perCpu(s1 - s0) : undefined,
      otherCpu,
    };
    if (c0 && c1 && c1.commits > c0.commits) {
      const commits = c1.commits - c0.commits;
      row.commits = {
        commitsPerSec: commits / r.seconds,
        // every request (acquire or release) is one write job
        requestsPerCommit: (r.ok + r.errors) / commits,
        blockedPercent: ((c1.commitMs - c0.commitMs) / 1000 / r.seconds) * 100,
        otherExecPercent: ((c1.otherExecMs - c0.otherExecMs) / 1000 / r.seconds) * 100,
      };
    }
    console.log(`  ${describe(row)}`);
    return row;
  } finally {
    await load.stop();
  }
}

export function describe(row: HttpRow): string {
  const r = row.result;
  const errors = r.errors + r.socketErrors;
  const cpu = (n: number | undefined) => (n === undefined ? '?' : `${Math.round(n)}%`);
  return (
    `${row.workload} @${row.clients}: ${Math.round(row.reqPerSec).toLocaleString('en-US')} req/s, ` +
    `p50 ${r.p50Ms.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, errors ${errors}, CPU server ` +
    `${cpu(row.serverCpu)} load ${cpu(r.clientCpuPercent)} other ${cpu(row.otherCpu)}` +
    (r.handshakes ? `; ${r.handshakes} handshakes, ${r.resumed} resumed` : '') +
    (row.commits
      ? `; ${Math.round(row.commits.commitsPerSec)} commits/s, ${row.commits.requestsPerCommit.toFixed(1)} ` +
        `req/commit, loop blocked in COMMIT ${Math.round(row.commits.blockedPercent)}%, ` +
        `in BEGIN/SAVEPOINT/RELEASE ${Math.round(row.commits.otherExecPercent)}%`
      : '') +
    (errors ? ` (statuses ${JSON.stringify(r.statuses)}; first: ${r.firstError ?? '?'})` : '')
  );
}
