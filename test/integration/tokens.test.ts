// API tokens: shown once, stored hashed, usable as a bearer token with their user's role,
// last use recorded, expiry and revocation refuse them with a 401 that says why.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/identity/secrets.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { addUser, bearer, execSql } from './access/fixtures.js';

describe.each(STORES)('API tokens on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
    await addUser(s, 'ops', 'operator');
  });
  afterAll(() => s?.close());

  it('is shown once at creation and never again, and only its hash is stored', async () => {
    const created = await s.asAdmin('POST', '/api/tokens', {
      body: { token: { user: 'ops', name: 'deploy bot' } },
    });
    expect(created.status, created.text).toBe(201);
    const secret: string = created.json.token;
    expect(secret).toMatch(/^kh_[A-Za-z0-9_-]{43}$/);
    expect(created.json).toMatchObject({
      name: 'deploy bot',
      user: { login: 'ops' },
      state: 'active',
      created_by: 'admin',
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
    });
    expect(secret.startsWith(created.json.prefix)).toBe(true);
    const shown = await s.asAdmin('GET', `/api/tokens/${created.json.id}`);
    expect(shown.json.token).toBeUndefined();
    const listed = await s.asAdmin('GET', '/api/tokens?user=ops');
    expect(listed.json.total).toBe(1);
    expect(listed.text).not.toContain(secret);
    expect(listed.text).not.toContain(hashSecret(secret));
    const stored = await s.server.store.accounts.findToken(hashSecret(secret));
    expect(stored?.token.id).toBe(created.json.id);
  });

  it("acts with its user's role and records when it was last used", async () => {
    const { token, id } = (await s.asAdmin('POST', '/api/tokens', { body: { user: 'ops', name: 'ci' } }))
      .json;
    const auth = { headers: bearer(token) };
    expect((await s.request('POST', '/api/dlmlocks', { ...auth, body: { name: 'tok-lock' } })).status).toBe(
      201,
    );
    expect((await s.request('DELETE', '/api/dlmlocks/tok-lock', auth)).status).toBe(403);
    expect((await s.request('GET', '/api/users', auth)).status).toBe(403);
    // a token is a user credential: it does not make anyone a host
    expect((await s.request('PUT', '/api/dlmlocks/tok-lock/lock', auth)).status).toBe(403);
    const who = await s.request('GET', '/api/session', auth);
    expect(who.json).toMatchObject({
      user: { login: 'ops', role: 'operator' },
      authenticated_by: 'token',
      csrf_token: null,
    });
    const shown = await s.asAdmin('GET', `/api/tokens/${id}`);
    expect(shown.json.last_used_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    // the lock event names the token's user
    const events = await s.asAdmin('GET', '/api/dlmlocks/tok-lock/dlmlock_events');
    expect(events.json.results[0]).toMatchObject({ event_type: 'create', user: { login: 'ops' } });
  });

  it('stops working when revoked (401 saying so), and revoking twice keeps the first time', async () => {
    const { token, id } = (await s.asAdmin('POST', '/api/tokens', { body: { user: 'ops', name: 'temp' } }))
      .json;
    expect((await s.request('GET', '/api/dlmlocks', { headers: bearer(token) })).status).toBe(200);
    const revoked = await s.asAdmin('DELETE', `/api/tokens/${id}`);
    expect(revoked.json).toMatchObject({ state: 'revoked' });
    const refused = await s.request('GET', '/api/dlmlocks', { headers: bearer(token) });
    expect(refused.status).toBe(401);
    expect(refused.json.error.message).toMatch(/revoked/);
    const again = await s.asAdmin('DELETE', `/api/tokens/${id}`);
    expect(again.json.revoked_at).toBe(revoked.json.revoked_at);
    const audit = await s.asAdmin('GET', '/api/audit?event_type=token_revoke');
    expect(
      audit.json.results.filter((e: { detail: string }) => e.detail.startsWith(`token ${id} `)),
    ).toHaveLength(1);
  });

  it('expires at its expiry time, judged by the database clock', async () => {
    const { token, id, expires_at } = (
      await s.asAdmin('POST', '/api/tokens', { body: { user: 'ops', name: 'short', expires_in_days: 1 } })
    ).json;
    expect(expires_at).not.toBeNull();
    expect((await s.request('GET', '/api/dlmlocks', { headers: bearer(token) })).status).toBe(200);
    await execSql(s.db, 'UPDATE api_tokens SET expires_at = ? WHERE id = ?', [Date.now() - 1000, id]);
    const refused = await s.request('GET', '/api/dlmlocks', { headers: bearer(token) });
    expect(refused.status).toBe(401);
    expect(refused.json.error.message).toMatch(/expired/);
    expect((await s.asAdmin('GET', `/api/tokens/${id}`)).json.state).toBe('expired');
  });

  it("takes an absolute expiry in Foreman's or ISO form", async () => {
    const foreman = await s.asAdmin('POST', '/api/tokens', {
      body: { user: 'ops', name: 'a', expires_at: '2099-01-31 12:00:00 UTC' },
    });
    expect(foreman.json.expires_at).toBe('2099-01-31 12:00:00 UTC');
    const iso = await s.asAdmin('POST', '/api/tokens', {
      body: { user: 'ops', name: 'b', expires_at: '2099-01-31T13:00:00+01:00' },
    });
    expect(iso.json.expires_at).toBe('2099-01-31 12:00:00 UTC');
  });

  it.each([
    [{ user: 'ops' }, 'name'],
    [{ user: 'nobody-here', name: 'x' }, 'user'],
    [{ user: 'ops', name: 'x', expires_at: 'tomorrow' }, 'expires_at'],
    [{ user: 'ops', name: 'x', expires_at: '2001-01-01 00:00:00 UTC' }, 'expires_at'],
    [{ user: 'ops', name: 'x', expires_in_days: 0 }, 'expires_in_days'],
    [{ user: 'ops', name: 'x', expires_in_days: '3' }, 'expires_in_days'],
    [{ user: 'ops', name: 'x', expires_in_days: 3, expires_at: '2099-01-01 00:00:00 UTC' }, 'expires_at'],
    [{ user: 'ops', name: 'x', scopes: ['all'] }, 'scopes'],
  ])('refuses %o with a 422 naming %s', async (body, field) => {
    const r = await s.asAdmin('POST', '/api/tokens', { body });
    expect(r.status, r.text).toBe(422);
    expect(Object.keys(r.json.error.errors)).toContain(field);
  });

  it('answers 404 for unknown or malformed token ids', async () => {
    for (const id of ['999999', 'abc', '0', '-1', '1e3']) {
      expect((await s.asAdmin('GET', `/api/tokens/${id}`)).status, id).toBe(404);
      expect((await s.asAdmin('DELETE', `/api/tokens/${id}`)).status, id).toBe(404);
    }
  });
});
