// The fuzzer: seeded requests over every route of the OpenAPI document, through fastify's
// inject (fast) and a share over real HTTPS with client certificates, against a server on the
// given database. Checks: no 5xx, the process never fails (no uncaught error), API errors keep
// the API's error body, and a refused request (4xx other than the lock semantics' 412, whose
// `fail` event is the contract) leaves the database exactly as it was.
import fc from 'fast-check';
import https from 'node:https';
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import type { KeyedCert } from '../../src/pki/x509.js';
import { makeRunPki } from '../chaos/pki.js';
import {
  badCredentialHeaders,
  bodyBytes,
  contentType,
  credentialKind,
  encodeSegment,
  fromSchema,
  pathSegment,
  proxiedDn,
  query,
  type CredentialKind,
} from './inputs.js';
import { operationsOf, type Operation } from './routes.js';
import { difference, stateOf } from './snapshot.js';

export interface FuzzOptions {
  store: 'sqlite' | 'postgres';
  /** a postgres:// URL, or none for SQLite in `dataDir` */
  databaseUrl?: string;
  dataDir: string;
  seed: number;
  requests: number;
  /** the share of requests sent over real HTTPS instead of inject (0..1) */
  httpsShare?: number;
  log?: (line: string) => void;
}

export interface FuzzFailure {
  kind: string;
  index: number;
  request: string;
  status?: number;
  detail: string;
}

export interface FuzzSummary {
  store: string;
  seed: number;
  requests: number;
  viaInject: number;
  viaHttps: number;
  unsendable: number;
  statusClasses: Record<string, number>;
  operations: number;
  operationsReached: number;
  operationsWith2xx: number;
  refusedChecked: number;
  failures: FuzzFailure[];
}

const ADMIN: [string, string] = ['admin', 'fuzz-admin-password'];
const VIEWER: [string, string] = ['fuzz-viewer', 'fuzz-viewer-password'];
const OPERATOR: [string, string] = ['fuzz-operator', 'fuzz-operator-password'];
/** host identities through inject come from a trusted proxy at this address */
const PROXY_ADDRESS = '127.0.0.2';

const FLEETLOCK_BODY = {
  type: 'object',
  properties: {
    client_params: {
      type: 'object',
      properties: { id: { type: 'string' }, node_uuid: { type: 'string' }, group: { type: 'string' } },
    },
  },
};

interface Planned {
  op: number;
  method?: string;
  segments: string[];
  query: Array<[string, string]>;
  credential: CredentialKind;
  badHeaders: Record<string, string>;
  dn: string;
  spoof: boolean;
  hugeHeader: boolean;
  contentType?: string;
  body?: Buffer;
  overHttps: number;
}

interface Wire {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: Buffer;
  /** inject only: the trusted proxy's address for a proxied host identity */
  remoteAddress?: string;
  cert?: KeyedCert;
}

/** bearer tokens: Basic checks a password hash on every request, tokens are cheap */
interface Tokens {
  admin: string;
  operator: string;
}

const basic = ([u, p]: [string, string]) => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;

/** One request per route first (so a short run reaches every one), then routes at random. */
function planAll(ops: Operation[], seed: number, requests: number): Planned[] {
  const first = ops.map((_, op) => fc.sample(plan(ops, op), { seed: seed + op, numRuns: 1 })[0]!);
  return [...first, ...fc.sample(plan(ops), { seed, numRuns: Math.max(0, requests - ops.length) })].slice(
    0,
    requests,
  );
}

function plan(ops: Operation[], fixedOp?: number): fc.Arbitrary<Planned> {
  const schemaOf = (o: Operation) => (o.path.startsWith('/v1/') ? FLEETLOCK_BODY : o.bodySchema);
  const bodies = ops.map((o) => bodyBytes(fromSchema(schemaOf(o))));
  const wellFormed = ops.map((o) => fromSchema(schemaOf(o), true).map((v) => Buffer.from(JSON.stringify(v))));
  // noBias: fast-check favours small numbers, which would favour the first route and the extremes
  const uniform = fc.noBias(fc.integer({ min: 0, max: 9999 })).map((n) => n / 10_000);
  const hostile = (op: number) =>
    fc.record({
      op: fc.constant(op),
      method: fc
        .option(
          fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'PROPFIND', 'TRACE'),
          { freq: 8 },
        )
        .map((m) => m ?? undefined),
      segments: fc.array(pathSegment, { minLength: 2, maxLength: 2 }),
      query,
      credential: credentialKind,
      badHeaders: badCredentialHeaders,
      dn: proxiedDn,
      spoof: fc.boolean(),
      hugeHeader: uniform.map((x) => x < 0.02),
      contentType,
      body: bodies[op]!,
      overHttps: uniform,
    });
  // a third of the requests are well formed, so they reach the store and change things
  const plausible = (op: number) =>
    fc.record({
      op: fc.constant(op),
      method: fc.constant(undefined),
      segments: fc.array(
        fc.constantFrom(
          'fuzz-lock',
          'fuzz-semaphore',
          'fuzz-new-lock',
          'fuzz-host',
          'fuzz-operator',
          '1',
          '2',
        ),
        {
          minLength: 2,
          maxLength: 2,
        },
      ),
      query: fc.constant([] as Array<[string, string]>),
      credential: fc.constantFrom<CredentialKind>(ops[op]!.path.endsWith('/lock') ? 'host' : 'adminToken'),
      badHeaders: fc.constant({}),
      dn: fc.constant('CN=fuzz-host,O=Fuzz'),
      spoof: fc.constant(false),
      hugeHeader: fc.constant(false),
      contentType: fc.constant('application/json'),
      body: fc.option(wellFormed[op]!, { freq: 6 }).map((b) => b ?? undefined),
      overHttps: uniform,
    });
  return fc
    .tuple(fixedOp === undefined ? fc.noBias(fc.nat(ops.length - 1)) : fc.constant(fixedOp), uniform)
    .chain(([op, share]) => (share < 0.33 ? plausible(op) : hostile(op)));
}

function toWire(p: Planned, ops: Operation[], tokens: Tokens, hostCert: KeyedCert, overHttps: boolean): Wire {
  const op = ops[p.op]!;
  let path = op.path;
  op.params.forEach((name, i) => (path = path.replace(`{${name}}`, p.segments[i] ?? 'x')));
  const qs = p.query.map(([k, v]) => `${encodeSegment(k)}=${encodeSegment(v)}`).join('&');
  const headers: Record<string, string> = {};
  if (p.body !== undefined || p.contentType !== 'application/json') {
    if (p.contentType !== undefined) headers['content-type'] = p.contentType;
  }
  if (op.path.startsWith('/v1/')) headers['fleet-lock-protocol'] = p.spoof ? 'false' : 'true';
  let remoteAddress: string | undefined;
  let cert: KeyedCert | undefined;
  switch (p.credential) {
    case 'admin':
      headers.authorization = basic(ADMIN);
      break;
    case 'viewer':
      headers.authorization = basic(VIEWER);
      break;
    case 'operator':
      headers.authorization = basic(OPERATOR);
      break;
    case 'token':
      headers.authorization = `Bearer ${tokens.operator}`;
      break;
    case 'adminToken':
      headers.authorization = `Bearer ${tokens.admin}`;
      break;
    case 'host':
      if (overHttps) cert = hostCert;
      else {
        headers.ssl_client_s_dn = p.dn;
        headers.ssl_client_verify = 'SUCCESS';
        remoteAddress = PROXY_ADDRESS;
      }
      break;
    case 'bad':
      Object.assign(headers, p.badHeaders);
      break;
    case 'none':
      break;
  }
  // proxy headers from an address that is not a trusted proxy must count for nothing
  if (p.spoof && p.credential !== 'host') {
    headers.ssl_client_s_dn = 'CN=fuzz-host';
    headers.ssl_client_verify = 'SUCCESS';
  }
  if (p.hugeHeader) headers['x-fuzz-padding'] = 'p'.repeat(20_000);
  const method = p.method ?? op.method;
  // a HEAD request's body would be read as the next request on the connection (client-side noise)
  const body = method === 'HEAD' ? undefined : p.body;
  return { method, url: qs ? `${path}?${qs}` : path, headers, body, remoteAddress, cert };
}

interface Reply {
  status: number;
  contentType: string;
  text: string;
}

async function viaInject(server: RunningServer, w: Wire): Promise<Reply> {
  const r = await server.app.inject({
    method: w.method as 'GET',
    url: w.url,
    headers: w.headers,
    payload: w.body,
    remoteAddress: w.remoteAddress ?? '127.0.0.1',
  });
  return { status: r.statusCode, contentType: String(r.headers['content-type'] ?? ''), text: r.body };
}

function viaHttps(server: RunningServer, caPem: string, w: Wire): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: server.port,
        method: w.method,
        path: w.url,
        headers: { ...w.headers, ...(w.body ? { 'content-length': String(w.body.length) } : {}) },
        ca: caPem,
        cert: w.cert?.certPem,
        key: w.cert?.keyPem,
        servername: 'localhost',
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: String(res.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          }),
        );
      },
    );
    req.setTimeout(20_000, () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end(w.body);
  });
}

function describe(w: Wire): string {
  const body = w.body
    ? ` body ${JSON.stringify(w.body.subarray(0, 160).toString('latin1'))}${w.body.length > 160 ? `… (${w.body.length} bytes)` : ''}`
    : '';
  const headers = Object.entries(w.headers)
    .map(([k, v]) => `${k}: ${JSON.stringify(v.slice(0, 80))}`)
    .join(', ');
  return `${w.method} ${w.url.slice(0, 300)}${w.cert ? ' [host cert]' : ''}${w.remoteAddress ? ` [from ${w.remoteAddress}]` : ''} {${headers}}${body}`;
}

/** An API error keeps the API's error body: {"error":{"message"}} (FleetLock: {"kind","value"}). */
function errorBodyProblem(w: Wire, r: Reply): string | undefined {
  const path = w.url.split('?')[0]!.toLowerCase();
  if (
    !(path.startsWith('/api/') || path.startsWith('/v1/')) ||
    path.startsWith('/api/docs') ||
    w.method === 'HEAD'
  )
    return undefined;
  if (r.status === 200 && r.contentType.includes('text/html')) return 'an API path answered with the web UI';
  if (r.status < 400) return undefined;
  try {
    const j = JSON.parse(r.text);
    if (
      typeof j?.error?.message === 'string' ||
      (typeof j?.kind === 'string' && typeof j?.value === 'string')
    )
      return undefined;
  } catch {
    // not JSON
  }
  return `error body is not the API's: ${r.text.slice(0, 200)}`;
}

async function seedData(server: RunningServer, hostCert: KeyedCert, caPem: string): Promise<Tokens> {
  const admin = (method: string, url: string, payload?: unknown) =>
    server.app.inject({
      method: method as 'GET',
      url,
      payload: payload as object,
      headers: { authorization: basic(ADMIN) },
    });
  for (const [[login, password], role] of [
    [VIEWER, 'viewer'],
    [OPERATOR, 'operator'],
  ] as const) {
    const r = await admin('POST', '/api/users', { login, password, role });
    if (r.statusCode !== 201) throw new Error(`creating ${login}: ${r.statusCode} ${r.body}`);
  }
  for (const body of [{ name: 'fuzz-lock' }, { name: 'fuzz-semaphore', max_holders: 3 }]) {
    const r = await admin('POST', '/api/dlmlocks', body);
    if (r.statusCode !== 201) throw new Error(`creating ${body.name}: ${r.statusCode} ${r.body}`);
  }
  const tokens: Record<string, string> = {};
  for (const user of ['admin', 'fuzz-operator']) {
    const token = await admin('POST', '/api/tokens', { user, name: 'fuzz' });
    if (token.statusCode !== 201) throw new Error(`creating a token: ${token.statusCode} ${token.body}`);
    tokens[user] = token.json().token as string;
  }
  // the host exists and holds a lock, over real TLS with its certificate
  const held = await viaHttps(server, caPem, {
    method: 'PUT',
    url: '/api/dlmlocks/fuzz-lock/lock',
    headers: {},
    cert: hostCert,
  });
  if (held.status !== 200) throw new Error(`fuzz-host acquiring fuzz-lock: ${held.status} ${held.text}`);
  return { admin: tokens.admin!, operator: tokens['fuzz-operator']! };
}

export async function runFuzz(opts: FuzzOptions): Promise<FuzzSummary> {
  const log = opts.log ?? (() => undefined);
  const pkiDir = join(opts.dataDir, 'fuzz-pki');
  mkdirSync(pkiDir, { recursive: true });
  const pki = await makeRunPki(pkiDir);
  const hostCert = await pki.host('fuzz-host');
  const config = loadConfig({
    env: {},
    flags: {
      dataDir: opts.dataDir,
      host: '127.0.0.1',
      port: 0,
      database: { url: opts.databaseUrl },
      tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath },
      adminPassword: ADMIN[1],
      trustedProxies: [PROXY_ADDRESS],
      // wrong passwords are part of the input; a lockout would only hide the routes behind it
      auth: { maxFailuresPerUser: 10_000, maxFailuresPerAddress: 100_000 },
      log: { level: 'silent' },
    },
  });
  const failures: FuzzFailure[] = [];
  const processFailure = (err: unknown) =>
    failures.push({
      kind: 'uncaught error',
      index: -1,
      request: '',
      detail: String((err as Error)?.stack ?? err).slice(0, 500),
    });
  process.on('uncaughtException', processFailure);
  process.on('unhandledRejection', processFailure);
  const server = await startServer(config);
  try {
    const tokens = await seedData(server, hostCert, pki.caPem);
    const ops = await operationsOf(server.app);
    const planned = planAll(ops, opts.seed, opts.requests);
    const statusClasses: Record<string, number> = {};
    const reached = new Set<number>();
    const with2xx = new Set<number>();
    let viaInjectCount = 0;
    let viaHttpsCount = 0;
    let unsendable = 0;
    let refusedChecked = 0;
    let before = await stateOf(server.store);
    for (const [index, p] of planned.entries()) {
      const overHttps = p.overHttps < (opts.httpsShare ?? 0.1);
      const w = toWire(p, ops, tokens, hostCert, overHttps);
      let r: Reply;
      try {
        r = overHttps ? await viaHttps(server, pki.caPem, w) : await viaInject(server, w);
      } catch (err) {
        const message = (err as Error).message;
        // a request Node's own client will not send (bad characters in the path or a header)
        if (
          /Invalid character|unescaped characters|ERR_INVALID|Invalid header|Invalid HTTP token/i.test(
            message + String((err as { code?: string }).code),
          )
        ) {
          unsendable++;
          continue;
        }
        failures.push({ kind: 'no answer', index, request: describe(w), detail: message });
        continue;
      }
      if (overHttps) viaHttpsCount++;
      else viaInjectCount++;
      reached.add(p.op);
      if (r.status < 300) with2xx.add(p.op);
      const cls = `${Math.floor(r.status / 100)}xx`;
      statusClasses[cls] = (statusClasses[cls] ?? 0) + 1;
      if (r.status >= 500)
        failures.push({
          kind: `http ${r.status}`,
          index,
          request: describe(w),
          status: r.status,
          detail: r.text.slice(0, 300),
        });
      const shape = errorBodyProblem(w, r);
      if (shape)
        failures.push({ kind: 'error body', index, request: describe(w), status: r.status, detail: shape });
      const after = await stateOf(server.store);
      if (r.status >= 400 && r.status < 500 && r.status !== 412) {
        refusedChecked++;
        const hostOnDlmlocks = p.credential === 'host' && w.url.toLowerCase().startsWith('/api/');
        const fleetlockNotGranted = r.status === 409 && w.url.startsWith('/v1/');
        const changed = difference(before, after, hostOnDlmlocks, fleetlockNotGranted);
        if (changed)
          failures.push({
            kind: 'refused request changed state',
            index,
            request: describe(w),
            status: r.status,
            detail: changed,
          });
      }
      before = after;
      if (index % 250 === 249) {
        const health = await viaHttps(server, pki.caPem, {
          method: 'GET',
          url: '/healthz',
          headers: {},
        }).catch(() => undefined);
        if (health?.status !== 200)
          failures.push({ kind: 'server gone', index, request: '', detail: `healthz: ${health?.status}` });
        log(`${opts.store}: ${index + 1}/${opts.requests} requests, ${failures.length} failures`);
      }
    }
    return {
      store: opts.store,
      seed: opts.seed,
      requests: opts.requests,
      viaInject: viaInjectCount,
      viaHttps: viaHttpsCount,
      unsendable,
      statusClasses,
      operations: ops.length,
      operationsReached: reached.size,
      operationsWith2xx: with2xx.size,
      refusedChecked,
      failures,
    };
  } finally {
    await server.close();
    process.off('uncaughtException', processFailure);
    process.off('unhandledRejection', processFailure);
  }
}

export function formatFuzzSummary(s: FuzzSummary): string {
  const byKind = new Map<string, FuzzFailure[]>();
  for (const f of s.failures) byKind.set(f.kind, [...(byKind.get(f.kind) ?? []), f]);
  const lines = [
    `== fuzz ${s.store}: seed ${s.seed}, ${s.requests} requests (${s.viaInject} inject, ${s.viaHttps} HTTPS, ${s.unsendable} unsendable by Node's client)`,
    `statuses: ${JSON.stringify(s.statusClasses)}; operations: ${s.operationsReached}/${s.operations} reached, ${s.operationsWith2xx} with a 2xx`,
    `refused requests checked against the database: ${s.refusedChecked}`,
    `failures: ${s.failures.length}`,
  ];
  for (const [kind, list] of byKind) {
    lines.push(`  ${kind}: ${list.length}`);
    for (const f of list.slice(0, 4))
      lines.push(
        `    #${f.index} → ${f.status ?? '-'}: ${f.request.slice(0, 400)}\n      ${f.detail.slice(0, 300)}`,
      );
  }
  return lines.join('\n');
}
