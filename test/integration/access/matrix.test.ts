// Every route the app registers × every kind of caller → the expected status, generated from
// one table of access rules, on every store. The routes come from the app itself (fastify's
// onRoute, collected by the access gate): a route missing from the table, a table row
// without a route, or a rule that differs from the route's declared access fails the suite.
import type https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Access } from '../../../src/identity/access.js';
import { accessOf } from '../../../src/identity/gate.js';
import { issueToken } from '../../../src/identity/tokens.js';
import { uiBuilt } from '../../../src/http/ui.js';
import { DEFAULT_LOCK_TYPE } from '../../../src/lock/types.js';
import type { RequestOptions } from '../../support/http.js';
import { ADMIN, startTestServer, type TestServer } from '../../support/server.js';
import { STORES } from '../../support/stores.js';
import { addUser, bearer, CLI_ACTOR, keepAliveAgent, passwordOf, tokenFor } from './fixtures.js';

const CALLERS = ['nobody', 'host', 'viewer', 'operator', 'admin', 'revoked_token', 'expired_token'] as const;
type Caller = (typeof CALLERS)[number];

type Rule = 'public' | 'host' | 'host_or_viewer' | 'viewer' | 'operator' | 'admin';

interface Call {
  /** values for the route's `:params` (and `*`) */
  params?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
  /** the answer is an endless event stream: only its status is awaited */
  eventStream?: boolean;
}

interface Row {
  rule: Rule;
  /** the status of an allowed call */
  ok: number;
  /** a fresh, valid call: destructive routes get their own victim each time */
  call?: (ctx: Ctx) => Promise<Call> | Call;
}

interface Ctx {
  s: TestServer;
  unique: string;
  caller: Caller;
}

const lockRef = { params: { id: 'L' } };
const freshLock = async ({ s, unique }: Ctx) => {
  await s.asAdmin('POST', '/api/dlmlocks', { body: { name: unique } });
  return { params: { id: unique } };
};
const freshUser = async ({ s, unique }: Ctx) => {
  await addUser(s, unique, 'viewer');
  return { params: { login: unique } };
};
const freshToken = async ({ s }: Ctx) => {
  const { token } = await issueToken(
    s.server.store,
    { login: 'viewer', name: 'matrix', expiresAt: null },
    CLI_ACTOR,
  );
  return { params: { id: String(token.id) } };
};
const freshHost = async ({ s, unique }: Ctx) => {
  await s.server.store.hostDirectory.create(unique, true, CLI_ACTOR);
  return { params: { name: unique } };
};
// an undeclared group works once an operator created its lock (SPEC §4)
const fleetlock = async ({ s, unique }: Ctx) => {
  const group = unique.replace(/[^a-zA-Z0-9.-]/g, '-');
  const lock = { type: DEFAULT_LOCK_TYPE, enabled: true, maxHolders: 1, leaseSeconds: null, windows: [] };
  await s.server.store.createLock({ ...lock, name: `fleetlock-${group}` }, {});
  return { headers: { 'fleet-lock-protocol': 'true' }, body: { client_params: { id: unique, group } } };
};

// The access rules. Keys are `METHOD path` with the /api/v1 and /api/v2 aliases folded into
// /api; HEAD follows GET. A new route needs a row here, or this suite fails.
const TABLE: Record<string, Row> = {
  'GET /api/dlmlocks/:id/lock': { rule: 'host_or_viewer', ok: 200, call: () => lockRef },
  'PUT /api/dlmlocks/:id/lock': { rule: 'host', ok: 200, call: ({ unique }) => ({ params: { id: unique } }) },
  'DELETE /api/dlmlocks/:id/lock': {
    rule: 'host',
    ok: 200,
    call: ({ unique }) => ({ params: { id: unique } }),
  },
  'GET /api/dlmlocks': { rule: 'viewer', ok: 200 },
  'GET /api/dlmlocks/:id': { rule: 'viewer', ok: 200, call: () => lockRef },
  'POST /api/dlmlocks': {
    rule: 'operator',
    ok: 201,
    call: ({ unique }) => ({ body: { dlmlock: { name: unique } } }),
  },
  'PUT /api/dlmlocks/:id': {
    rule: 'operator',
    ok: 200,
    call: () => ({ ...lockRef, body: { enabled: true } }),
  },
  'DELETE /api/dlmlocks/:id': { rule: 'admin', ok: 200, call: freshLock },
  'GET /api/dlmlocks/:id/dlmlock_events': { rule: 'viewer', ok: 200, call: () => lockRef },
  'POST /api/dlmlocks/:id/release': {
    rule: 'operator',
    ok: 200,
    call: async (ctx) => ({ ...(await freshLock(ctx)), body: { reason: 'access matrix' } }),
  },
  'GET /api/dlmlocks/:id/members': { rule: 'viewer', ok: 200, call: () => lockRef },
  'PUT /api/dlmlocks/:id/members/:host': {
    rule: 'operator',
    ok: 200,
    call: () => ({ params: { id: 'L', host: 'web01' } }),
  },
  'DELETE /api/dlmlocks/:id/members/:host': {
    rule: 'operator',
    ok: 200,
    // each call removes an operator membership of its own lock
    call: async (ctx) => {
      const { params } = await freshLock(ctx);
      await ctx.s.server.store.lockMembers.add(params.id, 'web01', CLI_ACTOR);
      return { params: { ...params, host: 'web01' } };
    },
  },
  'GET /api/events': { rule: 'viewer', ok: 200 },
  'GET /api/pause': { rule: 'viewer', ok: 200 },
  // a time already past: stored, audited, but pausing nothing while the matrix still acquires
  'PUT /api/pause': {
    rule: 'operator',
    ok: 200,
    call: () => ({ body: { paused_until: '2001-01-01T00:00:00Z', pause_reason: 'access matrix' } }),
  },
  'DELETE /api/pause': { rule: 'operator', ok: 200 },

  'GET /api/users': { rule: 'admin', ok: 200 },
  'POST /api/users': {
    rule: 'admin',
    ok: 201,
    call: ({ unique }) => ({ body: { login: unique, password: 'a-good-password', role: 'viewer' } }),
  },
  'GET /api/users/:login': { rule: 'admin', ok: 200, call: () => ({ params: { login: 'viewer' } }) },
  'PUT /api/users/:login': {
    rule: 'admin',
    ok: 200,
    call: async (ctx) => ({ ...(await freshUser(ctx)), body: { role: 'operator' } }),
  },
  'DELETE /api/users/:login': { rule: 'admin', ok: 200, call: freshUser },

  'GET /api/tokens': { rule: 'admin', ok: 200 },
  'POST /api/tokens': { rule: 'admin', ok: 201, call: () => ({ body: { user: 'viewer', name: 'matrix' } }) },
  'GET /api/tokens/:id': { rule: 'admin', ok: 200, call: freshToken },
  'DELETE /api/tokens/:id': { rule: 'admin', ok: 200, call: freshToken },

  'POST /api/session': {
    rule: 'public',
    ok: 200,
    call: () => ({ body: { login: 'viewer', password: passwordOf('viewer') } }),
  },
  'GET /api/session': { rule: 'viewer', ok: 200 },
  'DELETE /api/session': { rule: 'viewer', ok: 204 },
  'PUT /api/session/password': {
    rule: 'viewer',
    ok: 204,
    // the caller's own password, set to itself: later calls keep working
    call: ({ caller }) => {
      const pw = caller === 'admin' ? ADMIN[1] : passwordOf(caller);
      return { body: { current_password: pw, password: pw } };
    },
  },

  'GET /api/hosts': { rule: 'viewer', ok: 200 },
  'POST /api/hosts': { rule: 'admin', ok: 201, call: ({ unique }) => ({ body: { name: unique } }) },
  'GET /api/hosts/:name': { rule: 'viewer', ok: 200, call: () => ({ params: { name: 'web01' } }) },
  'PUT /api/hosts/:name': {
    rule: 'operator',
    ok: 200,
    call: async (ctx) => ({ ...(await freshHost(ctx)), body: { can_acquire_locks: false } }),
  },
  'DELETE /api/hosts/:name': { rule: 'admin', ok: 200, call: freshHost },

  'GET /api/audit': { rule: 'admin', ok: 200 },
  'GET /api/overview': { rule: 'viewer', ok: 200 },
  'GET /api/hosts/:name/events': { rule: 'viewer', ok: 200, call: () => ({ params: { name: 'web01' } }) },
  'GET /api/events/stream': { rule: 'viewer', ok: 200, call: () => ({ eventStream: true }) },

  'GET /api/openapi.json': { rule: 'public', ok: 200 },
  'GET /api/docs': { rule: 'public', ok: 200 },
  'GET /api/docs/json': { rule: 'public', ok: 200 },
  'GET /api/docs/yaml': { rule: 'public', ok: 200 },
  // Swagger UI's own redirect to /api/docs
  'GET /api/docs/static/index.html': { rule: 'public', ok: 302 },
  'GET /api/docs/static/swagger-initializer.js': { rule: 'public', ok: 200 },
  'GET /api/docs/static/*': { rule: 'public', ok: 200, call: () => ({ params: { '*': 'swagger-ui.css' } }) },

  'GET /healthz': { rule: 'public', ok: 200 },
  'GET /readyz': { rule: 'public', ok: 200 },
  'GET /metrics': { rule: 'public', ok: 200 },

  // the web UI's files and its client-side routes; 404 with a message when it was not built
  'GET /*': { rule: 'public', ok: uiBuilt() ? 200 : 404, call: () => ({ params: { '*': 'locks' } }) },

  // FleetLock answers in its own protocol; who may use it is its own config (allowedNetworks)
  'POST /v1/pre-reboot': { rule: 'public', ok: 200, call: fleetlock },
  'POST /v1/steady-state': { rule: 'public', ok: 200, call: fleetlock },
  ...Object.fromEntries(
    ['GET', 'PUT', 'DELETE', 'PATCH'].flatMap((m) =>
      ['/v1/pre-reboot', '/v1/steady-state'].map((p) => [`${m} ${p}`, { rule: 'public', ok: 405 } as Row]),
    ),
  ),
};

const RANK = { viewer: 1, operator: 2, admin: 3 } as const;

function expectedStatus(row: Row, caller: Caller): number {
  const isUser = caller === 'viewer' || caller === 'operator' || caller === 'admin';
  switch (row.rule) {
    case 'public':
      return row.ok;
    case 'host':
      return caller === 'host' ? row.ok : isUser ? 403 : 401;
    case 'host_or_viewer':
      return caller === 'host' || isUser ? row.ok : 401;
    default:
      if (!isUser) return 401; // nobody, a host certificate, a revoked or expired token
      return RANK[caller] >= RANK[row.rule] ? row.ok : 403;
  }
}

function ruleOf(access: Access | undefined): Rule | undefined {
  if (!access) return undefined;
  if (access.kind === 'public' || access.kind === 'host') return access.kind;
  if (access.kind === 'host_or_user') return access.role === 'viewer' ? 'host_or_viewer' : undefined;
  return access.role;
}

const tableKey = (method: string, url: string) =>
  `${method === 'HEAD' ? 'GET' : method} ${url.replace(/^\/api\/v\d(?=\/)/, '/api')}`;

describe.each(STORES)('access matrix on %s', (kind) => {
  let s: TestServer;
  let agent: https.Agent;
  let revoked: string;
  let expired: string;
  let n = 0;

  beforeAll(async () => {
    s = await startTestServer(kind);
    agent = keepAliveAgent();
    await addUser(s, 'viewer', 'viewer');
    await addUser(s, 'operator', 'operator');
    revoked = await tokenFor(s, 'admin', 'revoked');
    expired = await tokenFor(s, 'admin', 'expired');
    expect((await s.asHost('web01', 'PUT', '/api/dlmlocks/L/lock')).status).toBe(200);
  });
  afterAll(async () => {
    agent?.destroy();
    await s?.close();
  });

  it('has exactly one rule per route, and it is the access the route declares', () => {
    const entries = s.server.app.routeEntries;
    const keys = new Set(entries.map((e) => tableKey(e.method, e.url)));
    expect(
      [...keys].filter((k) => !(k in TABLE)),
      'routes without a row in TABLE',
    ).toEqual([]);
    expect(
      Object.keys(TABLE).filter((k) => !keys.has(k)),
      'rows without a route',
    ).toEqual([]);
    const mismatched = entries
      .filter((e) => ruleOf(accessOf(e.route)) !== TABLE[tableKey(e.method, e.url)]!.rule)
      .map((e) => `${e.method} ${e.url}: declares ${JSON.stringify(accessOf(e.route) ?? null)}`);
    expect(mismatched).toEqual([]);
  });

  async function call(caller: Caller, method: string, url: string, row: Row) {
    const unique = `m-${kind}-${++n}`;
    const c = (await row.call?.({ s, unique, caller })) ?? {};
    const path = url.replace(/:(\w+)|\*/g, (whole, name: string | undefined) =>
      encodeURIComponent(c.params?.[name ?? '*'] ?? whole),
    );
    const opts: RequestOptions = {
      body: c.body,
      headers: { ...c.headers },
      agent,
      eventStreamHeadersOnly: c.eventStream,
    };
    switch (caller) {
      case 'nobody':
        return s.request(method, path, opts);
      case 'host':
        return s.asHost('matrix-host', method, path, opts);
      case 'viewer':
      case 'operator':
        return s.request(method, path, { ...opts, user: [caller, passwordOf(caller)] });
      case 'admin':
        return s.request(method, path, { ...opts, user: ADMIN });
      case 'revoked_token':
        return s.request(method, path, { ...opts, headers: { ...opts.headers, ...bearer(revoked) } });
      case 'expired_token':
        return s.request(method, path, { ...opts, headers: { ...opts.headers, ...bearer(expired) } });
    }
  }

  it('answers every route × caller with the status the table gives', async () => {
    const wrong: string[] = [];
    let checked = 0;
    for (const entry of s.server.app.routeEntries) {
      const row = TABLE[tableKey(entry.method, entry.url)];
      if (!row) continue; // reported by the test above
      for (const caller of CALLERS) {
        const want = expectedStatus(row, caller);
        const r = await call(caller, entry.method, entry.url, row);
        checked++;
        if (r.status !== want)
          wrong.push(
            `${entry.method} ${entry.url} as ${caller}: ${r.status}, want ${want} ${r.text.slice(0, 160)}`,
          );
        else if (want >= 400 && entry.method !== 'HEAD' && !entry.url.startsWith('/v1/')) {
          if (typeof r.json?.error?.message !== 'string')
            wrong.push(`${entry.method} ${entry.url} as ${caller}: no error message`);
        }
      }
    }
    expect(wrong).toEqual([]);
    expect(checked).toBeGreaterThan(100 * CALLERS.length);
  }, 240_000);

  it('says why a token is refused', async () => {
    const r1 = await s.request('GET', '/api/dlmlocks', { headers: bearer(revoked) });
    expect(r1.json.error.message).toMatch(/revoked/);
    const r2 = await s.request('GET', '/api/dlmlocks', { headers: bearer(expired) });
    expect(r2.json.error.message).toMatch(/expired/);
    const r3 = await s.request('GET', '/api/dlmlocks', { headers: bearer('kh_not-a-token') });
    expect(r3.status).toBe(401);
    const r4 = await s.request('GET', '/api/dlmlocks', { headers: { authorization: 'Token abc' } });
    expect(r4.status).toBe(401);
  });
});
