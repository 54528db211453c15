// The fast tier of the route semantics: foreman_dlm's lock routes through `app.inject` (no
// sockets, no TLS), a table of steps on every store, each answered with the status, the
// X-Lock-Reason and the fencing token foreman_dlm's contract and keyholder's extensions give.
// Hosts are named the way a TLS-terminating proxy names them (ssl_client_s_dn from a trusted
// proxy address); dlmlocks-semantics.test.ts checks the same routes over real mTLS, with the
// full JSON shapes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

const PROXY = '127.0.0.2';
const GENERIC_412 = 'Precondition failed. Lock is in invalid state for this operation.';

type Who = `host:${string}` | 'admin' | 'nobody';
interface Step {
  who: Who;
  method: 'GET' | 'PUT' | 'DELETE' | 'POST';
  /** below /api/dlmlocks/<the case's lock> ('' for the lock itself) */
  path: string;
  body?: unknown;
  status: number;
  reason?: string;
  /** the fencing token the answer names (X-Fencing-Token) */
  token?: number;
  holders?: string[];
}

const CASES: { name: string; lock?: Record<string, unknown>; steps: Step[] }[] = [
  {
    name: 'acquire creates, refresh keeps the token, another host is refused, release frees',
    steps: [
      { who: 'host:a', method: 'PUT', path: '/lock', status: 200, token: 1, holders: ['a'] },
      { who: 'host:a', method: 'PUT', path: '/lock', status: 200, token: 1, holders: ['a'] },
      { who: 'host:b', method: 'PUT', path: '/lock', status: 412, reason: 'held', holders: ['a'] },
      { who: 'host:b', method: 'DELETE', path: '/lock', status: 412, reason: 'held' },
      { who: 'host:a', method: 'DELETE', path: '/lock', status: 200, holders: [] },
      { who: 'host:a', method: 'DELETE', path: '/lock', status: 200, holders: [] },
      { who: 'host:b', method: 'PUT', path: '/lock', status: 200, token: 2, holders: ['b'] },
      { who: 'host:b', method: 'GET', path: '/lock', status: 200, holders: ['b'] },
    ],
  },
  {
    name: 'a semaphore of 2: full, then a freed place',
    lock: { max_holders: 2 },
    steps: [
      { who: 'host:a', method: 'PUT', path: '/lock', status: 200, token: 1 },
      { who: 'host:b', method: 'PUT', path: '/lock', status: 200, token: 2, holders: ['a', 'b'] },
      { who: 'host:c', method: 'PUT', path: '/lock', status: 412, reason: 'full' },
      { who: 'host:a', method: 'DELETE', path: '/lock', status: 200, holders: ['b'] },
      { who: 'host:c', method: 'PUT', path: '/lock', status: 200, token: 3, holders: ['b', 'c'] },
    ],
  },
  {
    name: 'a disabled lock refuses new holders and releases',
    lock: { enabled: false },
    steps: [
      { who: 'host:a', method: 'PUT', path: '/lock', status: 412, reason: 'disabled' },
      { who: 'admin', method: 'PUT', path: '', body: { dlmlock: { enabled: true } }, status: 200 },
      { who: 'host:a', method: 'PUT', path: '/lock', status: 200, token: 1 },
      { who: 'admin', method: 'PUT', path: '', body: { dlmlock: { enabled: false } }, status: 200 },
      { who: 'host:a', method: 'DELETE', path: '/lock', status: 412, reason: 'disabled' },
    ],
  },
  {
    name: 'an operator frees a holder; the next host gets the next token',
    steps: [
      { who: 'host:a', method: 'PUT', path: '/lock', status: 200, token: 1 },
      { who: 'admin', method: 'POST', path: '/release', body: { reason: 'stuck' }, status: 200, holders: [] },
      { who: 'host:b', method: 'PUT', path: '/lock', status: 200, token: 2 },
      { who: 'admin', method: 'POST', path: '/release', body: { host: 'a', reason: 'typo' }, status: 422 },
    ],
  },
  {
    name: 'who may call what: no identity, and an operator on a host route',
    steps: [
      { who: 'nobody', method: 'PUT', path: '/lock', status: 401 },
      { who: 'host:a', method: 'PUT', path: '/lock', status: 200, token: 1 },
      { who: 'nobody', method: 'GET', path: '', status: 401 },
      { who: 'admin', method: 'GET', path: '', status: 200, holders: ['a'] },
    ],
  },
];

describe.each(STORES)('route semantics through inject on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind, { trustedProxies: [PROXY] });
  });
  afterAll(() => s?.close());

  const send = (step: Step, lock: string) => {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    let remoteAddress = '127.0.0.1';
    if (step.who.startsWith('host:')) {
      headers.ssl_client_s_dn = `CN=${step.who.slice(5)}-${lock}.example.com`;
      headers.ssl_client_verify = 'SUCCESS';
      remoteAddress = PROXY;
    } else if (step.who === 'admin') {
      headers.authorization = `Basic ${Buffer.from(ADMIN.join(':')).toString('base64')}`;
    }
    return s.server.app.inject({
      method: step.method,
      url: `/api/dlmlocks/${lock}${step.path}`,
      headers,
      payload: step.body === undefined ? undefined : JSON.stringify(step.body),
      remoteAddress,
    });
  };

  it.each(CASES.map((c, i) => ({ ...c, i })))('$name', async ({ i, lock: attrs, steps }) => {
    const lock = `inject-${kind}-${i}`;
    if (attrs) {
      const created = await send(
        { who: 'admin', method: 'POST', path: '', body: { dlmlock: { name: lock, ...attrs } }, status: 201 },
        '',
      );
      expect(created.statusCode, created.body).toBe(201);
    }
    const hostName = (h: string) => `${h}-${lock}.example.com`;
    for (const [n, step] of steps.entries()) {
      const r = await send(step, lock);
      const where = `step ${n}: ${step.who} ${step.method} ${step.path} → ${r.body.slice(0, 200)}`;
      expect(r.statusCode, where).toBe(step.status);
      expect(r.headers['x-lock-reason'], where).toBe(step.reason);
      if (step.status === 412) {
        expect(JSON.parse(r.body).error.message, where).toBe(GENERIC_412);
      }
      if (step.token !== undefined) expect(r.headers['x-fencing-token'], where).toBe(String(step.token));
      if (step.holders !== undefined) {
        const names =
          r.statusCode === 412
            ? String(r.headers['x-lock-holders'] ?? '')
                .split(',')
                .filter(Boolean)
                .map(decodeURIComponent)
            : (JSON.parse(r.body) as { holders: { name: string }[] }).holders.map((h) => h.name);
        expect(names, where).toEqual(step.holders.map(hostName));
      }
    }
  });
});
