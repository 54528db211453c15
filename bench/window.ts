// A closer look at one keep-alive workload, for finding where a server's CPU goes per request:
// the ceiling or keyholder on SQLite, one client count, measured windows interleaved
// (`--modes ceiling,keyholder,ceiling,…`; mode `built` is keyholder from dist/, `base` keyholder
// from another checkout). Per window it prints req/s, the server's CPU per request, and, when
// asked, a CPU or allocation profile of that window alone (`--profile DIR`, `--heap`) and the
// server's system calls per request (`--syscalls`, through `perf stat`: Linux, perf installed).
// Diagnostics: nothing here is a test, and `npm run bench` stays the figure of record.
//
//   npx tsx --conditions=keyholder-source bench/window.ts --modes ceiling,keyholder --clients 16
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { LoadResult, LoadSpec } from './load.js';
import { lockRequests } from './measure.js';
import { makePki } from './pki.js';
import { processTicks, startTsChild, type Child } from './proc.js';
import type { ServeSpec } from './serve.js';

const { values } = parseArgs({
  options: {
    modes: { type: 'string', default: 'ceiling,keyholder' },
    clients: { type: 'string', default: '16' },
    seconds: { type: 'string', default: '5' },
    warmup: { type: 'string', default: '2' },
    profile: { type: 'string' },
    /** with --profile: sample allocations (a .heapprofile) instead of CPU time */
    heap: { type: 'boolean', default: false },
    syscalls: { type: 'boolean', default: false },
    /** node options for the servers, e.g. `--max-semi-space-size=16` */
    'node-args': { type: 'string', default: '' },
    /**
     * another checkout of keyholder (with its node_modules): mode `base` runs keyholder from
     * there, for before/after figures measured in one run, interleaved
     */
    base: { type: 'string' },
    /** run the list of modes this many times over (interleaved A/B/A/B…) */
    repeat: { type: 'string', default: '1' },
    /**
     * each round measures every mode at the same time, each with its own load client: on a
     * shared machine they then share the same neighbours, and CPU per request compares fairly
     */
    parallel: { type: 'boolean', default: false },
  },
});

const SYSCALLS = [
  'writev',
  'write',
  'read',
  'readv',
  'epoll_wait',
  'epoll_pwait',
  'futex',
  'fdatasync',
  'pwrite64',
  'pread64',
];
const CLOCK_TICKS = 100;

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/** Counts the server's system calls (all threads) until the returned function is called. */
function countSyscalls(pid: number): () => Promise<Record<string, number>> {
  const events = ['raw_syscalls:sys_enter', ...SYSCALLS.map((s) => `syscalls:sys_enter_${s}`)];
  const perf = spawn('perf', ['stat', '-x', ',', '-e', events.join(','), '-p', String(pid)], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let out = '';
  perf.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return () =>
    new Promise((resolve) => {
      perf.once('exit', () => {
        const counts: Record<string, number> = {};
        for (const line of out.split('\n')) {
          const [value, , event] = line.split(',');
          if (event && /^\d+$/.test(value ?? ''))
            counts[event.replace(/^.*:sys_enter_?/, '') || 'all'] = Number(value);
        }
        resolve(counts);
      });
      perf.kill('SIGINT');
    });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'keyholder-window-'));
  const clients = Number(values.clients);
  const pki = await makePki(dir, clients);
  const tls = { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath };
  const servers = new Map<string, Child>();
  const serverOf = async (mode: string): Promise<Child> => {
    let child = servers.get(mode);
    if (!child) {
      const spec: ServeSpec = {
        mode: mode === 'ceiling' ? 'ceiling' : 'keyholder',
        built: mode === 'built',
        tls,
        dataDir: join(dir, mode),
      };
      const nodeArgs = values['node-args']!.split(' ').filter(Boolean);
      if (mode === 'base' && !values.base) throw new Error('mode base needs --base DIR');
      const script =
        mode === 'base' ? pathToFileURL(join(values.base!, 'bench/serve.ts')).href : './serve.ts';
      child = startTsChild(script, { BENCH_SERVE: JSON.stringify(spec) }, nodeArgs);
      servers.set(mode, child);
    }
    return child;
  };
  const ports = new Map<string, number>();
  const figures = new Map<string, { perSecond: number[]; cpuPerRequest: number[] }>();
  try {
    let windows = 0;
    const modes = values.modes!.split(',');
    for (const mode of new Set(modes)) {
      const server = await serverOf(mode);
      ports.set(mode, (await server.next<{ type: 'ready'; port: number }>('ready')).port);
    }
    const measureWindow = async (mode: string) => {
      const n = windows++;
      const server = await serverOf(mode);
      const port = ports.get(mode)!;
      const spec: LoadSpec = {
        host: '127.0.0.1',
        port,
        tls: { ca: pki.caPem, clients: pki.clients.map((c) => ({ certPem: c.certPem, keyPem: c.keyPem })) },
        requests: Array.from({ length: clients }, (_, i) => lockRequests(i, port)),
        warmupMs: Number(values.warmup) * 1000,
        measureMs: Number(values.seconds) * 1000,
      };
      const file = join(dir, `load-${n}.json`);
      writeFileSync(file, JSON.stringify(spec));
      const load = startTsChild('./load.ts', { BENCH_LOAD: file });
      const result = load.next<LoadResult>('result', 300_000);
      await load.next('mark');
      const pid = server.proc.pid!;
      if (values.profile) {
        server.send({ type: 'profile-start', heap: values.heap });
        await server.next('profiling');
      }
      const syscalls = values.syscalls ? countSyscalls(pid) : undefined;
      const t0 = processTicks(pid)!;
      await load.next('mark');
      const t1 = processTicks(pid)!;
      const counts = await syscalls?.();
      const kind = values.heap ? 'heapprofile' : 'cpuprofile';
      const profileFile = values.profile ? join(values.profile, `${n}-${mode}.${kind}`) : undefined;
      if (profileFile) {
        server.send({ type: 'profile-stop', file: profileFile, heap: values.heap });
        await server.next('profiled');
      }
      const r = await result;
      await load.stop();
      const cpuSeconds = (t1 - t0) / CLOCK_TICKS;
      const f = figures.get(mode) ?? { perSecond: [], cpuPerRequest: [] };
      figures.set(mode, f);
      f.perSecond.push(r.ok / r.seconds);
      f.cpuPerRequest.push((cpuSeconds / r.ok) * 1e6);
      const perRequest = (x: number) => (x / r.ok).toFixed(2);
      console.log(
        `${mode.padEnd(10)} @${clients}: ${Math.round(r.ok / r.seconds)} req/s, errors ${r.errors + r.socketErrors}, ` +
          `server CPU ${Math.round((cpuSeconds / r.seconds) * 100)}% = ${Math.round((cpuSeconds / r.ok) * 1e6)} µs/req, ` +
          `load CPU ${Math.round(r.clientCpuPercent)}%, p50 ${r.p50Ms.toFixed(2)} ms` +
          (counts
            ? `\n           syscalls/req: ${Object.entries(counts)
                .filter(([, v]) => v > 0)
                .map(([k, v]) => `${k} ${perRequest(v)}`)
                .join(', ')}`
            : '') +
          (profileFile ? `\n           profile: ${profileFile}` : ''),
      );
    };
    for (let round = 0; round < Number(values.repeat); round++) {
      if (values.parallel) await Promise.all(modes.map(measureWindow));
      else for (const mode of modes) await measureWindow(mode);
    }
    // Each round's figures over the first mode's in the same round: the machine's state drifts
    // less within a round than over the whole run.
    const first = figures.get(modes[0]!)!;
    if (modes.length > 1 && Number(values.repeat) > 1) {
      console.log(`per round, over ${modes[0]} in the same round (median):`);
      for (const mode of modes.slice(1)) {
        const f = figures.get(mode)!;
        const ratio = (xs: number[], ys: number[]) => median(xs.map((x, i) => x / ys[i]!)).toFixed(3);
        console.log(
          `  ${mode.padEnd(10)} req/s ${ratio(f.perSecond, first.perSecond)}x, ` +
            `CPU/req ${ratio(f.cpuPerRequest, first.cpuPerRequest)}x`,
        );
      }
    }
    console.log('medians:');
    for (const [mode, f] of figures) {
      console.log(
        `  ${mode.padEnd(10)} ${Math.round(median(f.perSecond))} req/s, ${Math.round(median(f.cpuPerRequest))} µs CPU/req ` +
          `(${f.cpuPerRequest.map(Math.round).join(' ')})`,
      );
    }
  } finally {
    for (const child of servers.values()) await child.stop();
  }
}

await main();
