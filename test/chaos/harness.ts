// The chaos harness: real keyholder processes on loopback (one on SQLite, or two sharing a
// throwaway PostgreSQL), a mixed lock load from many host certificates, faults injected one
// after the other, and the checks of SPEC section 8 — continuously while it runs, and once
// more at the end. `npm run chaos` (main.ts) and test/chaos/chaos.test.ts both call runChaos.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { startPgCluster, type PgCluster } from '../support/postgres.js';
import { postgresReader, sqliteReader, type DbReader } from './db.js';
import { CUT_LOCK, FAULTS, PROBE_LOCK, runFaults, type FaultContext, type FaultKind } from './faults.js';
import { send } from './http.js';
import { ADMIN, Instance } from './instances.js';
import { Ledger, type Violation } from './ledger.js';
import { LOAD_LOCKS, runWorker, type Worker } from './load.js';
import { checkOnce, runMonitor } from './monitor.js';
import { makeRunPki, type RunPki } from './pki.js';
import { seeded, sleep } from './random.js';
import { connectTls, requestHead } from './sockets.js';

export type ChaosStore = 'sqlite' | 'postgres';

export interface ChaosOptions {
  store: ChaosStore;
  durationMs: number;
  seed: number;
  /** simulated hosts, one client certificate and one worker each */
  hosts?: number;
  /** pause between two faults, drawn from this range */
  faultGapMs?: [number, number];
  /** a fault's end to the first successful write through every instance it touched */
  recoveryLimitMs?: number;
  /** how long a dead instance's or a gone client's blocking waiter may stay queued */
  ghostLimitMs?: number;
  /** how long SIGTERM may take with idle and half-sent connections open */
  shutdownLimitMs?: number;
  /** extra KEYHOLDER_* settings for the server processes (e.g. a shorter instance timeout) */
  serverEnv?: Record<string, string>;
  /** tmpfs size under the SQLite directory (MiB) */
  tmpfsMiB?: number;
  log?: (line: string) => void;
}

export interface ChaosSummary {
  store: ChaosStore;
  seed: number;
  durationMs: number;
  instances: number;
  hosts: number;
  operations: number;
  statuses: Record<string, number>;
  transportErrors: number;
  unavailableOutsideFaults: number;
  faults: Record<string, number>;
  faultsSkipped: Record<string, string>;
  recoveryMs: Record<string, number>;
  maxRecoveryMs: number;
  recoveryLimitMs: number;
  acknowledgedAcquires: number;
  acknowledgedChecked: number;
  holderRowsChecked: number;
  monitorRounds: number;
  monitorReadFailures: number;
  ghostChecks: number;
  ghostClearedMsMax: number;
  cutWaiterChecks: number;
  idleConnectionsLeft: number;
  maxWarnLinesPerEpisode: number;
  shutdownMs: Array<number | null>;
  violations: Violation[];
}

/** Mounts a small tmpfs on `dir` (root only); false when that is not possible here. */
function mountTmpfs(dir: string, mib: number): boolean {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mib}m`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Stage {
  instances: Instance[];
  reader: DbReader;
  cluster?: PgCluster;
  databaseUrl?: string;
  fillableDir?: string;
  skipped: Map<FaultKind, string>;
  cleanup: Array<() => Promise<void> | void>;
}

async function stage(opts: ChaosOptions, root: string, pki: RunPki, ledger: Ledger): Promise<Stage> {
  const cleanup: Stage['cleanup'] = [];
  const skipped = new Map<FaultKind, string>();
  const restarting = new Set<Instance>();
  const onUnexpectedExit = (instance: Instance, detail: string) => {
    ledger.violation('process exit', `${instance.name}: ${detail}`);
    if (restarting.has(instance)) return;
    restarting.add(instance);
    // keep the run going: the exit is recorded, the instance comes back
    void sleep(500)
      .then(() => instance.start())
      .catch((err: Error) => ledger.violation('restart failed', `${instance.name}: ${err.message}`))
      .finally(() => restarting.delete(instance));
  };
  if (opts.store === 'sqlite') {
    const dataDir = join(root, 'sqlite-data');
    mkdirSync(dataDir);
    const mounted = mountTmpfs(dataDir, opts.tmpfsMiB ?? 64);
    if (mounted)
      cleanup.push(() => {
        execFileSync('umount', ['-l', dataDir], { stdio: 'ignore' });
      });
    else skipped.set('disk full', 'needs root to mount a tmpfs');
    const instance = Instance.forDatabase(
      'sqlite-1',
      { dataDir },
      pki,
      opts.serverEnv ?? {},
      onUnexpectedExit,
    );
    await instance.start();
    return {
      instances: [instance],
      reader: sqliteReader(dataDir),
      fillableDir: mounted ? dataDir : undefined,
      skipped,
      cleanup,
    };
  }
  const cluster = await startPgCluster();
  cleanup.push(() => cluster.stop());
  cluster.psql('CREATE DATABASE keyholder');
  const databaseUrl = cluster.url('keyholder');
  const instances = ['pg-1', 'pg-2'].map((name) => {
    const dataDir = join(root, name);
    mkdirSync(dataDir);
    return Instance.forDatabase(
      name,
      { url: databaseUrl, dataDir },
      pki,
      opts.serverEnv ?? {},
      onUnexpectedExit,
    );
  });
  // both at once: migrations and the bootstrap admin must not collide (test/e2e/multi-instance)
  await Promise.all(instances.map((i) => i.start()));
  return { instances, reader: postgresReader(databaseUrl), cluster, databaseUrl, skipped, cleanup };
}

async function createLocks(instance: Instance, pki: RunPki): Promise<void> {
  for (const lock of [
    ...LOAD_LOCKS,
    { name: PROBE_LOCK, maxHolders: 1 },
    { name: CUT_LOCK, maxHolders: 1 },
  ]) {
    const r = await send(instance.url, pki.caPem, 'POST', '/api/dlmlocks', {
      user: ADMIN,
      body: { name: lock.name, max_holders: lock.maxHolders },
    });
    if (!r.ok || r.answer.status !== 201)
      throw new Error(`creating ${lock.name}: ${r.ok ? r.answer.text : r.error}`);
  }
  // the cut blocking acquires queue behind this holder
  const held = await send(instance.url, pki.caPem, 'PUT', `/api/dlmlocks/${CUT_LOCK}/lock`, {
    cert: await pki.host('chaos-cut-holder'),
  });
  if (!held.ok || held.answer.status !== 200) throw new Error(`holding ${CUT_LOCK} failed`);
}

/** After the load: every acknowledged acquire still there, and no blocking waiter left behind. */
async function finalChecks(ledger: Ledger, reader: DbReader, opts: ChaosOptions): Promise<void> {
  const end = Date.now() + 30_000;
  while (!(await checkOnce(ledger, reader, true))) {
    if (Date.now() > end) {
      ledger.violation('final check', 'the database could not be read for 30 s after the run');
      return;
    }
    await sleep(500);
  }
  const limit = Date.now() + (opts.ghostLimitMs ?? 30_000);
  for (;;) {
    const n = await reader.waiters();
    if (n === 0) return;
    if (Date.now() > limit) {
      ledger.violation('waiters left behind', `${n} blocking acquires still queued after the load ended`);
      return;
    }
    await sleep(250);
  }
}

/** SIGTERM with idle and half-sent connections open must still end within the bound. */
async function shutdownCheck(stageInfo: Stage, pki: RunPki, ledger: Ledger, limitMs: number) {
  const extra: TLSSocket[] = [];
  for (const instance of stageInfo.instances.filter((i) => i.running)) {
    for (let i = 0; i < 3; i++) {
      const s = await connectTls(instance.url, pki.caPem).catch(() => undefined);
      if (!s) continue;
      if (i === 2) s.write(requestHead('POST', '/api/session', { 'Content-Length': '50' }) + '{"lo');
      extra.push(s);
    }
  }
  const took = await Promise.all(stageInfo.instances.map((i) => i.terminate(limitMs)));
  took.forEach((ms, i) => {
    if (ms === undefined) {
      ledger.violation(
        'shutdown hangs',
        `${stageInfo.instances[i]!.name}: SIGTERM did not finish within ${limitMs} ms with idle connections open (killed)`,
      );
    }
  });
  for (const s of extra) s.destroy();
  return took.map((ms) => ms ?? null);
}

export async function runChaos(opts: ChaosOptions): Promise<ChaosSummary> {
  const log = opts.log ?? (() => undefined);
  const rand = seeded(opts.seed);
  const root = mkdtempSync(join(tmpdir(), `keyholder-chaos-${opts.store}-`));
  const ledger = new Ledger();
  const pki = await makeRunPki(root);
  const hostCount = opts.hosts ?? 24;
  const recoveryLimitMs = opts.recoveryLimitMs ?? 20_000;
  const openSockets: TLSSocket[] = [];
  const agents: https.Agent[] = [];
  let st: Stage | undefined;
  try {
    const t0 = Date.now();
    st = await stage(opts, root, pki, ledger);
    log(`staged in ${Date.now() - t0} ms`);
    log(`${opts.store}: ${st.instances.length} instance(s) up, seed ${opts.seed}`);
    await createLocks(st.instances[0]!, pki);
    const workers: Worker[] = await Promise.all(
      Array.from({ length: hostCount }, async (_, i) => {
        const agent = new https.Agent({ keepAlive: true, maxSockets: 2 });
        agents.push(agent);
        return { host: `chaos-h${i}`, cert: await pki.host(`chaos-h${i}`), agent };
      }),
    );
    const kinds = FAULTS[opts.store].filter((k) => !st!.skipped.has(k));
    const fctx: FaultContext = {
      ledger,
      pki,
      instances: st.instances,
      reader: st.reader,
      rand,
      cluster: st.cluster,
      databaseUrl: st.databaseUrl,
      fillableDir: st.fillableDir,
      recoveryLimitMs,
      ghostLimitMs: opts.ghostLimitMs ?? 30_000,
      log,
      openSockets,
      figures: {
        injected: new Map(),
        skipped: st.skipped,
        recoveryMs: new Map(),
        errorLogLinesMax: 0,
        ghostChecks: 0,
        ghostClearedMsMax: 0,
        cutWaiterChecks: 0,
      },
    };
    const endAt = Date.now() + opts.durationMs;
    let stopped = false;
    const stopping = () => stopped;
    // the run ends when its time is up and every kind of fault has happened at least once
    const faultsDone = () => Date.now() >= endAt && kinds.every((k) => fctx.figures.injected.has(k));
    const loadCtx = { ledger, caPem: pki.caPem, instances: st.instances, rand, stopping };
    const running = [
      ...workers.map((w) => runWorker(loadCtx, w)),
      runMonitor(ledger, st.reader, stopping),
      runFaults(fctx, kinds, opts.faultGapMs ?? [1000, 3000], faultsDone).finally(() => (stopped = true)),
    ];
    const progress = setInterval(
      () =>
        log(`${opts.store}: ${ledger.counts.operations} operations, ${ledger.violations.length} violations`),
      15_000,
    );
    try {
      await Promise.all(running);
    } finally {
      stopped = true;
      clearInterval(progress);
    }
    await finalChecks(ledger, st.reader, opts);
    const shutdownMs = await shutdownCheck(st, pki, ledger, opts.shutdownLimitMs ?? 15_000);
    const recovery = Object.fromEntries(fctx.figures.recoveryMs);
    return {
      store: opts.store,
      seed: opts.seed,
      durationMs: opts.durationMs,
      instances: st.instances.length,
      hosts: hostCount,
      operations: ledger.counts.operations,
      statuses: Object.fromEntries(
        [...ledger.statuses].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v]),
      ),
      transportErrors: ledger.counts.transportErrors,
      unavailableOutsideFaults: ledger.counts.unavailableOutsideFaults,
      faults: Object.fromEntries(fctx.figures.injected),
      faultsSkipped: Object.fromEntries(st.skipped),
      recoveryMs: recovery,
      maxRecoveryMs: Math.max(0, ...Object.values(recovery)),
      recoveryLimitMs,
      acknowledgedAcquires: ledger.counts.acknowledgedAcquires,
      acknowledgedChecked: ledger.counts.acknowledgedChecked,
      holderRowsChecked: ledger.counts.holderRowsChecked,
      monitorRounds: ledger.counts.monitorRounds,
      monitorReadFailures: ledger.counts.monitorReadFailures,
      ghostChecks: fctx.figures.ghostChecks,
      ghostClearedMsMax: fctx.figures.ghostClearedMsMax,
      cutWaiterChecks: fctx.figures.cutWaiterChecks,
      idleConnectionsLeft: openSockets.length,
      maxWarnLinesPerEpisode: fctx.figures.errorLogLinesMax,
      shutdownMs,
      violations: ledger.violations,
    };
  } finally {
    for (const s of openSockets) s.destroy();
    for (const a of agents) a.destroy();
    if (st) {
      for (const i of st.instances) if (i.running) await i.kill9();
      await st.reader.close();
      for (const c of st.cleanup.reverse()) {
        try {
          await c();
        } catch {
          // best effort: the temp folder goes anyway
        }
      }
    }
    rmSync(root, { recursive: true, force: true });
  }
}

/** A human summary, one figure a line; violations grouped by kind with a few examples. */
export function formatSummary(s: ChaosSummary): string {
  const byKind = new Map<string, Violation[]>();
  for (const v of s.violations) byKind.set(v.kind, [...(byKind.get(v.kind) ?? []), v]);
  const lines = [
    `== chaos ${s.store}: ${s.instances} instance(s), ${s.hosts} hosts, ${Math.round(s.durationMs / 1000)} s, seed ${s.seed}`,
    `operations: ${s.operations} (statuses ${JSON.stringify(s.statuses)}, transport errors ${s.transportErrors}, 503 outside faults ${s.unavailableOutsideFaults})`,
    `faults injected: ${
      Object.entries(s.faults)
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ') || 'none'
    }`,
    ...(Object.keys(s.faultsSkipped).length
      ? [
          `faults skipped: ${Object.entries(s.faultsSkipped)
            .map(([k, v]) => `${k} (${v})`)
            .join(', ')}`,
        ]
      : []),
    `recovery (max per kind, ms): ${JSON.stringify(s.recoveryMs)}; max ${s.maxRecoveryMs} ms (limit ${s.recoveryLimitMs} ms)`,
    `acknowledged acquires: ${s.acknowledgedAcquires}, checked ${s.acknowledgedChecked}; holder rows checked ${s.holderRowsChecked} in ${s.monitorRounds} monitor rounds (${s.monitorReadFailures} unreadable, database down)`,
    `ghost-waiter checks: ${s.ghostChecks} (a free lock blocked by a dead instance's waiter for at most ${s.ghostClearedMsMax} ms); cut-waiter checks: ${s.cutWaiterChecks}; idle/half-open connections left: ${s.idleConnectionsLeft}`,
    `max warn/error log lines per fault episode: ${s.maxWarnLinesPerEpisode}; SIGTERM took (ms): ${JSON.stringify(s.shutdownMs)}`,
    `violations: ${s.violations.length}`,
  ];
  for (const [kind, list] of byKind) {
    lines.push(`  ${kind}: ${list.length}`);
    for (const v of list.slice(0, 3))
      lines.push(`    at ${(v.at / 1000).toFixed(1)} s: ${v.detail.slice(0, 400)}`);
  }
  return lines.join('\n');
}
