// A fleet of hosts running the update workflow's request pattern against one keyholder:
// look at the lock (GET …/lock), take it (PUT …/lock, either retrying after a 412 like a cron
// job or blocking with ?wait= like the update runner), hold it for a random update time,
// release it (DELETE …/lock), idle, again. Used by `npm run bench:fleet` (bench/fleet.ts) and,
// short and small, by a test.
//
// Host identity: a host is the CN of its client certificate. Making 20,000 certificates (and
// 20,000 TLS sessions) would measure the handshakes, not the lock path, so the simulator
// speaks as a trusted reverse proxy does (SPEC section 2): from 127.0.0.1, configured as a
// trusted proxy, with `ssl_client_s_dn: CN=<host>` and `ssl_client_verify: SUCCESS`, over a
// bounded pool of keep-alive connections.
//
// The invariant (never more holders than max_holders) is checked three ways: in every granted
// answer, by an observer sampling each lock every 200 ms, and afterwards by replaying each
// lock's event log (acquire, release, expire, force_release) in order.
import { setMaxListeners } from 'node:events';
import https from 'node:https';
import { performance } from 'node:perf_hooks';

export interface FleetLock {
  name: string;
  maxHolders: number;
}

export interface FleetOptions {
  port: number;
  /** the CA that issued the server's certificate */
  caPem: string;
  /** an admin login, to create the locks and read them and their events */
  admin: [string, string];
  hosts: number;
  /** the run ends after this long, or when every host has had `cycles` grants */
  seconds: number;
  /** hosts are spread over the locks round-robin */
  locks: FleetLock[];
  /** grants per host after which it stops; 0: no limit (until `seconds`) */
  cycles: number;
  /** share of hosts that block with ?wait= (the others retry after a 412) */
  waitShare: number;
  waitSeconds: number;
  /** hosts start within this long of the beginning */
  rampMs: number;
  holdMs: [number, number];
  idleMs: [number, number];
  retryMs: [number, number];
  /**
   * the keep-alive sockets the short requests (status, retried acquire, release) share; beyond
   * them they queue in the client.
   */
  connections: number;
  /**
   * sockets for blocked ?wait= requests, each held for the whole wait (a host of its own has
   * one; fewer save TLS handshakes, and the rest wait their turn in the client, in order)
   */
  waitConnections: number;
  /** host names: `${hostPrefix}${i}` */
  hostPrefix?: string;
}

export interface WaitStats {
  grants: number;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
}

export interface Grant {
  host: number;
  lock: string;
  mode: 'wait' | 'retry';
  askedMs: number;
  grantedMs: number;
}

export interface FleetResult {
  seconds: number;
  requests: number;
  requestsPerSec: number;
  /** grants and waits (first acquire attempt to grant) per lock and acquire mode */
  waits: { lock: string; mode: 'wait' | 'retry'; stats: WaitStats }[];
  /** every grant: when its host first asked and when it got the lock (ms from the start) */
  grants: Grant[];
  /** hosts granted at least once */
  served: number;
  /** hosts that asked for a lock */
  started: number;
  /** most holders seen at once per lock, by the answers, the observer and the event replay */
  mostHolders: Record<string, { answers: number; observed: number; replayed: number }>;
  /** anything that broke the rules or the protocol */
  violations: string[];
  /** answers other than 200/412 while running (5xx, connection errors), by kind */
  errors: Record<string, number>;
}

const rand = ([lo, hi]: [number, number]) => lo + Math.random() * (hi - lo);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function stats(ms: number[]): WaitStats {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { grants: s.length, medianMs: at(0.5), p99Ms: at(0.99), maxMs: s.at(-1) ?? 0 };
}

interface Answer {
  status: number;
  body: unknown;
}

type Pool = 'short' | 'wait' | 'holder';

class Client {
  private readonly agent: https.Agent;
  /** a blocked request holds its connection, as a host's would; short ones share a pool */
  private readonly blockingAgent: https.Agent;
  /**
   * a release never waits behind the fleet's other requests in the client (a real holder has
   * its own connection): holders are few, at most the locks' max_holders together
   */
  private readonly holderAgent: https.Agent;
  /** cuts off everything still in flight or queued in the agents at the end of the run */
  private readonly ending = new AbortController();
  requests = 0;

  constructor(
    private readonly options: FleetOptions,
    sockets: number,
  ) {
    // every request in flight listens for the end of the run
    setMaxListeners(0, this.ending.signal);
    this.agent = new https.Agent({ keepAlive: true, maxSockets: sockets, ca: options.caPem });
    this.holderAgent = new https.Agent({ keepAlive: true, ca: options.caPem });
    this.blockingAgent = new https.Agent({
      keepAlive: true,
      maxSockets: options.waitConnections,
      ca: options.caPem,
    });
  }

  request(
    method: string,
    path: string,
    headers: Record<string, string>,
    pool: Pool = 'short',
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const agent = pool === 'wait' ? this.blockingAgent : pool === 'holder' ? this.holderAgent : this.agent;
      const req = https.request(
        {
          host: '127.0.0.1',
          port: this.options.port,
          method,
          path,
          headers,
          agent,
          signal: this.ending.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            this.requests++;
            const text = Buffer.concat(chunks).toString();
            let body: unknown = text;
            try {
              body = JSON.parse(text);
            } catch {
              // not JSON: kept as text for the report
            }
            resolve({ status: res.statusCode ?? 0, body });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end();
    });
  }

  asHost(host: string, method: string, path: string, pool: Pool = 'short'): Promise<Answer> {
    const headers = { ssl_client_s_dn: `CN=${host}`, ssl_client_verify: 'SUCCESS' };
    return this.request(method, path, headers, pool);
  }

  /** an API token: a password would cost a scrypt per request (on purpose) */
  bearer: string | undefined;

  asAdmin(method: string, path: string, body?: unknown): Promise<Answer> {
    const auth = this.bearer
      ? `Bearer ${this.bearer}`
      : `Basic ${Buffer.from(this.options.admin.join(':')).toString('base64')}`;
    if (body === undefined) return this.request(method, path, { authorization: auth });
    return new Promise((resolve, reject) => {
      const text = JSON.stringify(body);
      const req = https.request(
        {
          host: '127.0.0.1',
          port: this.options.port,
          method,
          path,
          agent: this.agent,
          headers: { authorization: auth, 'content-type': 'application/json' },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            resolve({ status: res.statusCode ?? 0, body: res.statusCode === 201 ? JSON.parse(text) : text });
          });
        },
      );
      req.on('error', reject);
      req.end(text);
    });
  }

  close(): void {
    this.ending.abort();
    this.agent.destroy();
    this.blockingAgent.destroy();
    this.holderAgent.destroy();
  }
}

const holdersOf = (body: unknown): string[] =>
  ((body as { holders?: { name: string }[] }).holders ?? []).map((h) => h.name);

/** Most holders at once by the lock's event log, oldest first; breaks name what went wrong. */
export function replayHolders(
  events: { event_type: string; host: { name: string } | null }[],
  maxHolders: number,
): { most: number; breaks: string[] } {
  const holding = new Set<string>();
  const breaks: string[] = [];
  let most = 0;
  for (const e of events) {
    const host = e.host?.name;
    if (e.event_type === 'acquire' && host) {
      if (holding.has(host)) breaks.push(`${host} acquired while holding`);
      holding.add(host);
      most = Math.max(most, holding.size);
      if (holding.size > maxHolders) breaks.push(`${holding.size} holders at once (max ${maxHolders})`);
    } else if ((e.event_type === 'release' || e.event_type === 'expire') && host) {
      holding.delete(host);
    } else if (e.event_type === 'force_release') {
      if (host) holding.delete(host);
      else holding.clear();
    }
  }
  return { most, breaks };
}

export async function runFleet(options: FleetOptions): Promise<FleetResult> {
  const prefix = options.hostPrefix ?? 'fleet-host-';
  const hostClient = new Client(options, options.connections);
  // The observer and the setup have their own sockets, so a busy pool does not hide them.
  const admin = new Client(options, 4);
  const violations: string[] = [];
  const errors: Record<string, number> = {};
  const waits = new Map<string, number[]>();
  const mostHolders: FleetResult['mostHolders'] = {};
  const served = new Set<number>();
  const grantLog: Grant[] = [];
  let started = 0;

  const token = await admin.asAdmin('POST', '/api/tokens', {
    user: options.admin[0],
    name: `fleet ${Date.now()}`,
  });
  if (token.status !== 201) throw new Error(`creating an API token: ${token.status} ${String(token.body)}`);
  admin.bearer = (token.body as { token: string }).token;
  for (const lock of options.locks) {
    mostHolders[lock.name] = { answers: 0, observed: 0, replayed: 0 };
    const created = await admin.asAdmin('POST', '/api/dlmlocks', {
      name: lock.name,
      max_holders: lock.maxHolders,
    });
    if (created.status !== 201) {
      throw new Error(`creating ${lock.name}: ${created.status} ${JSON.stringify(created.body)}`);
    }
  }

  const t0 = performance.now();
  const deadline = t0 + options.seconds * 1000;
  let stopped = false;
  const left = () => deadline - performance.now();
  const count = (kind: string) => (errors[kind] = (errors[kind] ?? 0) + 1);

  const observer = (async () => {
    while (!stopped) {
      for (const lock of options.locks) {
        const r = await admin.asAdmin('GET', `/api/dlmlocks/${lock.name}`).catch(() => undefined);
        if (!r || r.status !== 200) continue;
        const n = holdersOf(r.body).length;
        const seen = mostHolders[lock.name]!;
        seen.observed = Math.max(seen.observed, n);
        if (n > lock.maxHolders)
          violations.push(`observer: ${lock.name} had ${n} holders (max ${lock.maxHolders})`);
      }
      await sleep(200);
    }
  })();

  async function host(i: number): Promise<void> {
    const name = `${prefix}${i}`;
    const lock = options.locks[i % options.locks.length]!;
    const path = `/api/dlmlocks/${lock.name}/lock`;
    // Spread evenly per lock, so each lock has both kinds of host.
    const blocking = (Math.floor(i / options.locks.length) % 100) / 100 < options.waitShare;
    const mode = blocking ? 'wait' : 'retry';
    await sleep(Math.random() * options.rampMs);
    let grants = 0;
    let counted = false;
    while (!stopped && (options.cycles === 0 || grants < options.cycles)) {
      const status = await hostClient.asHost(name, 'GET', path);
      if (status.status !== 200 && status.status !== 404) count(`GET ${status.status}`);
      if (!counted) {
        counted = true;
        started++;
      }
      const asked = performance.now();
      let granted: Answer | undefined;
      while (!stopped && !granted) {
        const wait = blocking ? Math.min(options.waitSeconds, Math.ceil(left() / 1000)) : 0;
        if (wait <= 0 && blocking) break;
        const r = await hostClient.asHost(
          name,
          'PUT',
          wait > 0 ? `${path}?wait=${wait}` : path,
          wait > 0 ? 'wait' : 'short',
        );
        if (r.status === 200) granted = r;
        else if (r.status !== 412) {
          count(`PUT ${r.status}`);
          await sleep(rand(options.retryMs));
        } else if (!blocking) await sleep(rand(options.retryMs));
      }
      if (!granted) break;
      grants++;
      served.add(i);
      const key = `${lock.name}\u0000${mode}`;
      const grantedAt = performance.now();
      (waits.get(key) ?? waits.set(key, []).get(key)!).push(grantedAt - asked);
      grantLog.push({ host: i, lock: lock.name, mode, askedMs: asked - t0, grantedMs: grantedAt - t0 });
      const holders = holdersOf(granted.body);
      const seen = mostHolders[lock.name]!;
      seen.answers = Math.max(seen.answers, holders.length);
      if (holders.length > lock.maxHolders || !holders.includes(name)) {
        violations.push(`answer to ${name}: holders ${holders.join(',')} (max ${lock.maxHolders})`);
      }
      await sleep(rand(options.holdMs));
      const released = await hostClient.asHost(name, 'DELETE', path, 'holder');
      if (released.status !== 200) violations.push(`release by ${name}: ${released.status}`);
      await sleep(rand(options.idleMs));
    }
  }

  const hosts = Array.from({ length: options.hosts }, (_, i) =>
    host(i).catch((err: unknown) => {
      // Cut off at the end of the run (the pool is destroyed): not an error of the server.
      if (!stopped) count(`error ${(err as Error).message}`);
    }),
  );
  const timer = setTimeout(() => (stopped = true), Math.max(0, left()));
  const allDone = Promise.all(hosts).then(() => (stopped = true));
  await Promise.race([allDone, new Promise<void>((r) => setTimeout(r, options.seconds * 1000))]);
  stopped = true;
  clearTimeout(timer);
  const seconds = (performance.now() - t0) / 1000;
  const requests = hostClient.requests;
  // Blocked requests are cut off: they leave the queue, as a host that goes away does.
  hostClient.close();
  await Promise.all(hosts);
  await observer;

  for (const lock of options.locks) {
    const events = await allEvents(admin, lock.name);
    const replay = replayHolders(events, lock.maxHolders);
    mostHolders[lock.name]!.replayed = replay.most;
    violations.push(...replay.breaks.map((b) => `events of ${lock.name}: ${b}`));
  }
  admin.close();

  return {
    seconds,
    requests,
    requestsPerSec: requests / seconds,
    waits: [...waits].map(([key, ms]) => {
      const [lock, mode] = key.split('\u0000') as [string, 'wait' | 'retry'];
      return { lock, mode, stats: stats(ms) };
    }),
    grants: grantLog,
    served: served.size,
    started,
    mostHolders,
    violations,
    errors,
  };
}

/** A lock's events, oldest first (the API pages them newest first). */
async function allEvents(
  admin: Client,
  lock: string,
): Promise<{ id: number; event_type: string; host: { name: string } | null }[]> {
  const out: { id: number; event_type: string; host: { name: string } | null }[] = [];
  for (let page = 1; ; page++) {
    const r = await admin.asAdmin('GET', `/api/dlmlocks/${lock}/dlmlock_events?per_page=1000&page=${page}`);
    if (r.status !== 200) throw new Error(`events of ${lock}: ${r.status}`);
    const results = (
      r.body as { results: { id: number; event_type: string; host: { name: string } | null }[] }
    ).results;
    out.push(...results);
    if (results.length < 1000) break;
  }
  return out.sort((a, b) => a.id - b.id);
}
