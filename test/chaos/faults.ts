// The faults, one at a time, each followed by a recovery measurement: the time from the end of
// the fault to the first successful write through every instance it touched.
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import pg from 'pg';
import type { PgCluster } from '../support/postgres.js';
import type { DbReader } from './db.js';
import { send } from './http.js';
import { ADMIN, type Instance } from './instances.js';
import type { Ledger } from './ledger.js';
import { judgeStatus } from './load.js';
import type { RunPki } from './pki.js';
import { between, pick, sleep, type Random } from './random.js';
import { connectTls, requestHead } from './sockets.js';

export type FaultKind =
  | 'kill -9'
  | 'pg_terminate_backend'
  | 'pg_ctl restart fast'
  | 'pg_ctl restart immediate'
  | 'disk full'
  | 'cut body'
  | 'cut blocking acquire'
  | 'idle connections';

export const FAULTS: Record<'sqlite' | 'postgres', FaultKind[]> = {
  sqlite: ['kill -9', 'disk full', 'cut body', 'cut blocking acquire', 'idle connections'],
  postgres: [
    'kill -9',
    'pg_terminate_backend',
    'pg_ctl restart fast',
    'pg_ctl restart immediate',
    'cut body',
    'cut blocking acquire',
    'idle connections',
  ],
};

export const PROBE_LOCK = 'chaos-probe';
export const CUT_LOCK = 'chaos-cut';

export interface FaultContext {
  ledger: Ledger;
  pki: RunPki;
  instances: Instance[];
  reader: DbReader;
  rand: Random;
  cluster?: PgCluster;
  databaseUrl?: string;
  /** the SQLite data directory when it is a tmpfs the harness may fill */
  fillableDir?: string;
  recoveryLimitMs: number;
  /** how long a dead instance's blocking waiter may keep a free lock from others */
  ghostLimitMs: number;
  log: (line: string) => void;
  /** connections the harness leaves open until the end */
  openSockets: TLSSocket[];
  figures: {
    injected: Map<FaultKind, number>;
    skipped: Map<FaultKind, string>;
    recoveryMs: Map<FaultKind, number>;
    errorLogLinesMax: number;
    ghostChecks: number;
    /** the longest a free lock stayed blocked by a dead instance's waiter */
    ghostClearedMsMax: number;
    cutWaiterChecks: number;
  };
}

const live = (ctx: FaultContext) => ctx.instances.filter((i) => i.running);

/** A running instance, waiting for one while an instance that exited on its own restarts. */
async function someLive(ctx: FaultContext): Promise<Instance> {
  const end = Date.now() + ctx.recoveryLimitMs;
  for (;;) {
    const instances = live(ctx);
    if (instances.length) return pick(ctx.rand, instances);
    if (Date.now() > end) throw new Error('no instance running');
    await sleep(100);
  }
}
// warn and above: the spec wants a database episode said once, not once per request
const errorLines = (text: string) => (text.match(/"level":(40|50|60)/g) ?? []).length;

/** The first 200 of a write (the probe host re-acquiring its own lock) through `instance`. */
async function recoveredAfter(ctx: FaultContext, instance: Instance, endedAt: number, kind: FaultKind) {
  const cert = await ctx.pki.host('chaos-probe');
  for (;;) {
    if (instance.running) {
      const outcome = await send(instance.url, ctx.pki.caPem, 'PUT', `/api/dlmlocks/${PROBE_LOCK}/lock`, {
        cert,
        timeoutMs: 3000,
      });
      const status = judgeStatus(ctx.ledger, outcome, `recovery probe after ${kind} via ${instance.name}`);
      if (status === 200) return Date.now() - endedAt;
    }
    if (Date.now() - endedAt > ctx.recoveryLimitMs) {
      ctx.ledger.violation(
        'no recovery',
        `${instance.name} not serving writes ${ctx.recoveryLimitMs} ms after ${kind} ended`,
      );
      return Date.now() - endedAt;
    }
    await sleep(100);
  }
}

async function measureRecovery(ctx: FaultContext, kind: FaultKind, affected: Instance[], endedAt: number) {
  const times = await Promise.all(affected.map((i) => recoveredAfter(ctx, i, endedAt, kind)));
  const worst = Math.max(0, ...times);
  ctx.figures.recoveryMs.set(kind, Math.max(ctx.figures.recoveryMs.get(kind) ?? 0, worst));
}

async function asHost(ctx: FaultContext, host: string, instance: Instance, method: string, path: string) {
  const outcome = await send(instance.url, ctx.pki.caPem, method, path, {
    cert: await ctx.pki.host(host),
    timeoutMs: 5000,
  });
  judgeStatus(ctx.ledger, outcome, `${method} ${path} as ${host} via ${instance.name}`);
  return outcome.ok ? outcome.answer.status : 0;
}

/** Retries a write until it is answered (not 503, not a lost connection) or `limitMs` passes. */
async function settle(ctx: FaultContext, host: string, method: string, path: string, limitMs: number) {
  const end = Date.now() + limitMs;
  for (;;) {
    const instances = live(ctx);
    if (instances.length) {
      const status = await asHost(ctx, host, pick(ctx.rand, instances), method, path);
      if (status !== 0 && status !== 503) return status;
    }
    if (Date.now() > end) return 0;
    await sleep(200);
  }
}

async function untilWaiters(ctx: FaultContext, lock: string, test: (n: number) => boolean, limitMs: number) {
  const end = Date.now() + limitMs;
  for (;;) {
    const n = await ctx.reader.waiters(lock);
    if (n !== undefined && test(n)) return true;
    if (Date.now() > end) return false;
    await sleep(100);
  }
}

interface Injected {
  /** the instances whose recovery is measured */
  affected: Instance[];
  endedAt: number;
  /** a check that runs once the instances have recovered */
  after?: () => Promise<void>;
}

/**
 * kill -9, with a blocking waiter queued on that instance first: after the restart, once the
 * lock's holder lets go, another host must get the lock (a dead instance's waiter is no one).
 */
async function killInstance(ctx: FaultContext, n: number): Promise<Injected> {
  const victim = await someLive(ctx);
  const lock = `chaos-ghost-${n}`;
  const path = `/api/dlmlocks/${lock}/lock`;
  const held = (await asHost(ctx, 'chaos-ghost-holder', victim, 'PUT', path)) === 200;
  let queued = false;
  if (held) {
    void send(victim.url, ctx.pki.caPem, 'PUT', `${path}?wait=120`, {
      cert: await ctx.pki.host('chaos-ghost-waiter'),
      timeoutMs: 130_000,
    });
    queued = await untilWaiters(ctx, lock, (w) => w >= 1, 5000);
  }
  await victim.kill9();
  await victim.start();
  const endedAt = Date.now();
  const after = async () => {
    if (!queued) return;
    ctx.figures.ghostChecks++;
    if ((await settle(ctx, 'chaos-ghost-holder', 'DELETE', path, ctx.recoveryLimitMs)) !== 200) {
      ctx.ledger.violation('ghost waiter check', `${lock}: its holder could not release it`);
      return;
    }
    const released = Date.now();
    const status = await (async () => {
      for (;;) {
        const s = await settle(ctx, 'chaos-ghost-taker', 'PUT', path, ctx.ghostLimitMs);
        if (s === 200 || Date.now() - released > ctx.ghostLimitMs) return s;
        await sleep(250);
      }
    })();
    if (status !== 200) {
      ctx.ledger.violation(
        'ghost waiter',
        `${lock}: free, but refused to another host (${status}) for ${ctx.ghostLimitMs} ms after ${victim.name} died with a blocking waiter queued`,
      );
    } else {
      ctx.figures.ghostClearedMsMax = Math.max(ctx.figures.ghostClearedMsMax, Date.now() - released);
      await settle(ctx, 'chaos-ghost-taker', 'DELETE', path, ctx.recoveryLimitMs);
    }
  };
  return { affected: live(ctx), endedAt, after };
}

async function terminateBackends(ctx: FaultContext): Promise<Injected> {
  const client = new pg.Client({ connectionString: ctx.databaseUrl, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  await client.connect();
  // sometimes one backend (a single broken pool client), sometimes all of them
  const limit = ctx.rand() < 0.5 ? 'LIMIT 1' : '';
  try {
    await client.query(
      `SELECT pg_terminate_backend(pid) FROM (SELECT pid FROM pg_stat_activity
        WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'
        ORDER BY random() ${limit}) victims`,
    );
  } finally {
    await client.end().catch(() => undefined);
  }
  return { affected: live(ctx), endedAt: Date.now() };
}

async function restartPostgres(ctx: FaultContext, mode: 'fast' | 'immediate'): Promise<Injected> {
  await ctx.cluster!.restart(mode);
  return { affected: live(ctx), endedAt: Date.now() };
}

/** Fills the tmpfs under the SQLite directory for a few seconds; /readyz must say so. */
async function fillDisk(ctx: FaultContext): Promise<Injected> {
  const filler = join(ctx.fillableDir!, 'chaos-filler');
  const file = await open(filler, 'w');
  // big chunks, then page-sized ones: the last free pages too (a disk with a little room left
  // is a different fault, where some writes fail and others pass)
  for (const size of [1 << 20, 4096]) {
    const chunk = Buffer.alloc(size, 1);
    try {
      for (;;) await file.write(chunk);
    } catch {
      // ENOSPC: full at this granularity
    }
  }
  const refusedBefore = ctx.ledger.counts.unavailable503;
  let readyRefused = 0;
  const holdUntil = Date.now() + between(ctx.rand, 3000, 5000);
  while (Date.now() < holdUntil) {
    for (const instance of live(ctx)) {
      const outcome = await send(instance.url, ctx.pki.caPem, 'GET', '/readyz', { timeoutMs: 3000 });
      if (outcome.ok && outcome.answer.status === 503) readyRefused++;
    }
    await sleep(250);
  }
  const refusedDuring = ctx.ledger.counts.unavailable503 - refusedBefore;
  await file.close();
  await unlink(filler);
  if (refusedDuring > 0 && readyRefused === 0) {
    ctx.ledger.violation(
      'readyz stayed ready',
      `disk full: ${refusedDuring} requests got 503, /readyz said 200 throughout`,
    );
  }
  return { affected: live(ctx), endedAt: Date.now() };
}

/** Requests whose client goes away after half the body. */
async function cutBodies(ctx: FaultContext): Promise<Injected> {
  const cert = await ctx.pki.host('chaos-cutter');
  const basic = `Basic ${Buffer.from(ADMIN.join(':')).toString('base64')}`;
  await Promise.all(
    Array.from({ length: 8 }, async (_, i) => {
      const instance = await someLive(ctx);
      const socket = await connectTls(instance.url, ctx.pki.caPem, cert).catch(() => undefined);
      if (!socket) return;
      const body = JSON.stringify({ name: `chaos-cut-body-${i}`, max_holders: 2 });
      const [method, path, auth] =
        i % 2
          ? ['POST', '/api/dlmlocks', { Authorization: basic }]
          : ['PUT', '/api/dlmlocks/chaos-one-a/lock', {}];
      socket.write(
        requestHead(method, path, {
          ...auth,
          'Content-Type': 'application/json',
          'Content-Length': String(body.length),
        }),
      );
      socket.write(body.slice(0, body.length >> 1));
      await sleep(between(ctx.rand, 50, 300));
      socket.destroy();
    }),
  );
  return { affected: live(ctx), endedAt: Date.now() };
}

/** Blocking acquires whose client goes away: the queue must let go of them. */
async function cutWaiters(ctx: FaultContext): Promise<Injected> {
  const sockets: TLSSocket[] = [];
  for (let i = 0; i < 3; i++) {
    const instance = await someLive(ctx);
    const socket = await connectTls(
      instance.url,
      ctx.pki.caPem,
      await ctx.pki.host(`chaos-cut-waiter${i}`),
    ).catch(() => undefined);
    if (!socket) continue;
    socket.write(requestHead('PUT', `/api/dlmlocks/${CUT_LOCK}/lock?wait=60`, { 'Content-Length': '0' }));
    sockets.push(socket);
  }
  const queued = await untilWaiters(ctx, CUT_LOCK, (n) => n >= sockets.length, 5000);
  for (const s of sockets) s.destroy();
  const endedAt = Date.now();
  const after = async () => {
    if (!queued || sockets.length === 0) return;
    ctx.figures.cutWaiterChecks++;
    if (!(await untilWaiters(ctx, CUT_LOCK, (n) => n === 0, ctx.ghostLimitMs))) {
      ctx.ledger.violation(
        'cut waiter stayed queued',
        `${CUT_LOCK}: blocking acquires whose clients left were still queued ${ctx.ghostLimitMs} ms later`,
      );
    }
  };
  return { affected: live(ctx), endedAt, after };
}

/** Connections left open: idle after the handshake, half a request head, half a body. */
async function idleConnections(ctx: FaultContext): Promise<Injected> {
  const cert = await ctx.pki.host('chaos-idler');
  const opened = await Promise.all(
    live(ctx).flatMap((instance) =>
      Array.from({ length: 9 }, async (_, i) => {
        const socket = await connectTls(instance.url, ctx.pki.caPem, i % 3 ? cert : undefined).catch(
          () => undefined,
        );
        if (!socket) return undefined;
        if (i % 3 === 1) socket.write('GET /api/dlmlocks HTTP/1.1\r\nHost: local');
        if (i % 3 === 2) {
          socket.write(requestHead('PUT', '/api/dlmlocks/chaos-one-b/lock', { 'Content-Length': '100' }));
          socket.write('{"half":');
        }
        return socket;
      }),
    ),
  );
  for (const s of opened) if (s) ctx.openSockets.push(s);
  return { affected: live(ctx), endedAt: Date.now() };
}

function inject(ctx: FaultContext, kind: FaultKind, n: number): Promise<Injected> {
  switch (kind) {
    case 'kill -9':
      return killInstance(ctx, n);
    case 'pg_terminate_backend':
      return terminateBackends(ctx);
    case 'pg_ctl restart fast':
      return restartPostgres(ctx, 'fast');
    case 'pg_ctl restart immediate':
      return restartPostgres(ctx, 'immediate');
    case 'disk full':
      return fillDisk(ctx);
    case 'cut body':
      return cutBodies(ctx);
    case 'cut blocking acquire':
      return cutWaiters(ctx);
    case 'idle connections':
      return idleConnections(ctx);
  }
}

/** Faults one after the other, each kind in turn (shuffled per round), until `stopping`. */
export async function runFaults(
  ctx: FaultContext,
  kinds: FaultKind[],
  gapMs: [number, number],
  stopping: () => boolean,
): Promise<void> {
  let n = 0;
  while (!stopping()) {
    const round = [...kinds].sort(() => ctx.rand() - 0.5);
    for (const kind of round) {
      await sleep(between(ctx.rand, gapMs[0], gapMs[1]));
      if (stopping()) return;
      const linesBefore = ctx.instances.map((i) => errorLines(i.output()));
      ctx.ledger.faultActive = true;
      const started = Date.now();
      try {
        const injected = await inject(ctx, kind, n++);
        ctx.figures.injected.set(kind, (ctx.figures.injected.get(kind) ?? 0) + 1);
        await measureRecovery(ctx, kind, injected.affected, injected.endedAt);
        const recovered = Date.now() - injected.endedAt;
        await injected.after?.();
        ctx.log(
          `${kind}: recovered ${recovered} ms after it ended; ${Date.now() - started} ms with its checks`,
        );
      } catch (err) {
        ctx.ledger.violation('fault injection failed', `${kind}: ${(err as Error).message}`);
      } finally {
        // 503s right after the recovery probe are still this fault's
        await sleep(500);
        ctx.ledger.faultActive = false;
      }
      const lines = ctx.instances.map((inst, i) => errorLines(inst.output()) - linesBefore[i]!);
      const worst = Math.max(0, ...lines);
      ctx.figures.errorLogLinesMax = Math.max(ctx.figures.errorLogLinesMax, worst);
      if (worst > 20) {
        ctx.ledger.violation('log flood', `${kind}: ${worst} error lines from one instance in one episode`);
      }
    }
  }
}
