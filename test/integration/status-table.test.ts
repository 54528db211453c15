// Every row of SPEC's status table, for every endpoint, on every store: who gets which status.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../../src/identity/passwords.js';
import type { RequestOptions } from '../support/http.js';
import { STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';

type Caller = 'nobody' | 'host' | 'viewer' | 'operator' | 'admin' | 'wrong_password';

interface Row {
  method: string;
  path: string;
  body?: unknown;
  expect: Record<Caller, number>;
}

// `L` is a lock that exists (held by host web01), `NEW` a name each request makes fresh.
const ROWS: Row[] = [
  {
    method: 'GET',
    path: '/api/dlmlocks/L/lock',
    expect: { nobody: 401, host: 200, viewer: 200, operator: 200, admin: 200, wrong_password: 401 },
  },
  {
    method: 'PUT',
    path: '/api/dlmlocks/NEW/lock',
    expect: { nobody: 401, host: 200, viewer: 403, operator: 403, admin: 403, wrong_password: 401 },
  },
  {
    method: 'DELETE',
    path: '/api/dlmlocks/NEW/lock',
    expect: { nobody: 401, host: 200, viewer: 403, operator: 403, admin: 403, wrong_password: 401 },
  },
  {
    method: 'GET',
    path: '/api/dlmlocks',
    expect: { nobody: 401, host: 401, viewer: 200, operator: 200, admin: 200, wrong_password: 401 },
  },
  {
    method: 'GET',
    path: '/api/dlmlocks/L',
    expect: { nobody: 401, host: 401, viewer: 200, operator: 200, admin: 200, wrong_password: 401 },
  },
  {
    method: 'POST',
    path: '/api/dlmlocks',
    body: { dlmlock: { name: 'NEW' } },
    expect: { nobody: 401, host: 401, viewer: 403, operator: 201, admin: 201, wrong_password: 401 },
  },
  {
    method: 'PUT',
    path: '/api/dlmlocks/L',
    body: { dlmlock: { enabled: true } },
    expect: { nobody: 401, host: 401, viewer: 403, operator: 200, admin: 200, wrong_password: 401 },
  },
  {
    method: 'GET',
    path: '/api/dlmlocks/L/dlmlock_events',
    expect: { nobody: 401, host: 401, viewer: 200, operator: 200, admin: 200, wrong_password: 401 },
  },
  {
    method: 'DELETE',
    path: '/api/dlmlocks/NEW',
    expect: { nobody: 401, host: 401, viewer: 403, operator: 403, admin: 200, wrong_password: 401 },
  },
];

const CALLERS: Caller[] = ['nobody', 'host', 'viewer', 'operator', 'admin', 'wrong_password'];

describe.each(STORES)('status table on %s', (kind) => {
  let s: TestServer;
  let n = 0;
  beforeAll(async () => {
    s = await startTestServer(kind);
    for (const role of ['viewer', 'operator'] as const) {
      await s.server.store.accounts.createUser(
        { login: role, passwordHash: await hashPassword(`${role}-password`), role },
        null,
      );
    }
    expect((await s.asHost('web01', 'PUT', '/api/dlmlocks/L/lock')).status).toBe(200);
  });
  afterAll(() => s?.close());

  async function call(caller: Caller, row: Row) {
    const name = `new-${kind}-${++n}`;
    const path = row.path.replace('NEW', name);
    // DELETE /api/dlmlocks/NEW needs an existing lock to delete
    if (row.method === 'DELETE' && row.path === '/api/dlmlocks/NEW') {
      await s.asAdmin('POST', '/api/dlmlocks', { body: { name } });
    }
    const body =
      row.body === undefined ? undefined : JSON.parse(JSON.stringify(row.body).replace('NEW', name));
    const opts: RequestOptions = { body, headers: { 'content-type': 'application/json' } };
    switch (caller) {
      case 'nobody':
        return s.request(row.method, path, opts);
      case 'host':
        return s.asHost('web02', row.method, path, opts);
      case 'viewer':
      case 'operator':
        return s.request(row.method, path, { ...opts, user: [caller, `${caller}-password`] });
      case 'admin':
        return s.asAdmin(row.method, path, opts);
      case 'wrong_password':
        return s.request(row.method, path, { ...opts, user: ['admin', 'not-the-password'] });
    }
  }

  for (const row of ROWS) {
    for (const caller of CALLERS) {
      it(`${row.method} ${row.path} as ${caller} → ${row.expect[caller]}`, async () => {
        const r = await call(caller, row);
        expect(r.status, r.text).toBe(row.expect[caller]);
        if (r.status >= 400) expect(typeof r.json.error.message).toBe('string');
      });
    }
  }

  it('says what is missing in each refusal', async () => {
    const user = await s.request('PUT', '/api/dlmlocks/x/lock', { user: ['viewer', 'viewer-password'] });
    expect(user.json.error.message).toMatch(/valid client cert.*known host/);
    const host = await s.asHost('web02', 'GET', '/api/dlmlocks');
    expect(host.json.error.message).toMatch(/user credentials, not a host certificate/);
    const role = await s.request('DELETE', '/api/dlmlocks/L', { user: ['viewer', 'viewer-password'] });
    expect(role.json.error.message).toMatch(/role/);
  });

  it('404 for unknown locks on show, update, destroy, events and GET .../lock', async () => {
    for (const [method, path] of [
      ['GET', '/api/dlmlocks/nope'],
      ['PUT', '/api/dlmlocks/nope'],
      ['DELETE', '/api/dlmlocks/nope'],
      ['GET', '/api/dlmlocks/nope/dlmlock_events'],
      ['GET', '/api/dlmlocks/424242'],
    ] as const) {
      const r = await s.asAdmin(method, path, { body: method === 'PUT' ? { enabled: false } : undefined });
      expect(r.status, `${method} ${path}`).toBe(404);
      expect(r.json.error.message).toMatch(/not found/);
    }
    expect((await s.asHost('web01', 'GET', '/api/dlmlocks/nope/lock')).status).toBe(404);
  });

  it('a host with an admin password acts as the user on user endpoints and as the host on acquire', async () => {
    const cert = await s.host('web03');
    const list = await s.request('GET', '/api/dlmlocks', { cert, user: ['viewer', 'viewer-password'] });
    expect(list.status).toBe(200);
    const acq = await s.request('PUT', `/api/dlmlocks/both-${kind}/lock`, {
      cert,
      user: ['viewer', 'viewer-password'],
    });
    expect(acq.status).toBe(200);
    expect(acq.json.host.name).toBe('web03');
  });
});
