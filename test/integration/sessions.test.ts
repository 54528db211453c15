// The UI's session: login sets an HttpOnly/Secure/SameSite cookie, changes need the CSRF token,
// idle and absolute expiry end it, logout and a new password end it; failed logins are limited
// per user and per client address (429 + Retry-After), and the client address is taken from
// X-Forwarded-For only when a trusted proxy sends it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../src/identity/secrets.js';
import type { RequestOptions, TestResponse } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { addUser, execSql } from './access/fixtures.js';

function cookieOf(r: TestResponse): string {
  const set = [r.headers['set-cookie'] ?? []].flat();
  const line = set.find((c) => c.startsWith('keyholder_session='));
  expect(line, JSON.stringify(r.headers)).toBeDefined();
  return line!.split(';')[0]!;
}

describe.each(STORES)('sessions on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind, { auth: { sessionIdleSeconds: 600, sessionMaxSeconds: 3600 } });
    await addUser(s, 'olga', 'operator');
  });
  afterAll(() => s?.close());

  const login = (l = 'olga', password = 'olga-password', opts: RequestOptions = {}) =>
    s.request('POST', '/api/session', { ...opts, body: { login: l, password } });

  it('login sets a hardened cookie and answers who and the CSRF token, never the password', async () => {
    const r = await login();
    expect(r.status, r.text).toBe(200);
    const set = [r.headers['set-cookie']].flat().join('\n');
    expect(set).toMatch(/keyholder_session=[A-Za-z0-9_-]{43};/);
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/', 'Max-Age=3600'])
      expect(set).toContain(attr);
    expect(r.json).toMatchObject({ user: { login: 'olga', role: 'operator' }, authenticated_by: 'session' });
    expect(r.json.csrf_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(r.text).not.toContain('olga-password');
    const who = await s.request('GET', '/api/session', { headers: { cookie: cookieOf(r) } });
    expect(who.json).toMatchObject({ user: { login: 'olga' }, csrf_token: r.json.csrf_token });
    expect(who.json.expires_at).toBe(r.json.expires_at);
  });

  it('reads with the cookie alone, but changes only with the matching X-CSRF-Token', async () => {
    const r = await login();
    const cookie = cookieOf(r);
    expect((await s.request('GET', '/api/dlmlocks', { headers: { cookie } })).status).toBe(200);
    const bare = await s.request('POST', '/api/dlmlocks', { headers: { cookie }, body: { name: 'csrf-1' } });
    expect(bare.status).toBe(403);
    expect(bare.json.error.message).toMatch(/X-CSRF-Token/);
    const forged = await s.request('POST', '/api/dlmlocks', {
      headers: { cookie, 'x-csrf-token': (await login()).json.csrf_token },
      body: { name: 'csrf-1' },
    });
    expect(forged.status).toBe(403);
    expect((await s.asAdmin('GET', '/api/dlmlocks/csrf-1')).status).toBe(404);
    const ok = await s.request('POST', '/api/dlmlocks', {
      headers: { cookie, 'x-csrf-token': r.json.csrf_token },
      body: { name: 'csrf-1' },
    });
    expect(ok.status).toBe(201);
    const events = await s.asAdmin('GET', '/api/dlmlocks/csrf-1/dlmlock_events');
    expect(events.json.results[0].user).toEqual({ login: 'olga' });
  });

  it('logout needs the CSRF token, ends the session and clears the cookie', async () => {
    const r = await login();
    const cookie = cookieOf(r);
    expect((await s.request('DELETE', '/api/session', { headers: { cookie } })).status).toBe(403);
    const out = await s.request('DELETE', '/api/session', {
      headers: { cookie, 'x-csrf-token': r.json.csrf_token },
    });
    expect(out.status).toBe(204);
    expect([out.headers['set-cookie']].flat().join()).toMatch(
      /keyholder_session=;.*Expires=Thu, 01 Jan 1970/,
    );
    const after = await s.request('GET', '/api/session', { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(after.json.error.message).toMatch(/session has expired or ended/);
  });

  it('ends after the idle time and after the absolute lifetime, by the database clock', async () => {
    const idle = cookieOf(await login());
    const absolute = cookieOf(await login());
    const hashOf = (cookie: string) => hashSecret(cookie.split('=')[1]!);
    const now = Date.now();
    // idle: last seen 11 minutes ago (idle limit 10)
    await execSql(s.db, 'UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?', [
      now - 660_000,
      hashOf(idle),
    ]);
    // absolute: started 61 minutes ago (limit 60), though active a moment ago
    await execSql(s.db, 'UPDATE sessions SET created_at = ?, last_seen_at = ? WHERE id_hash = ?', [
      now - 3_660_000,
      now,
      hashOf(absolute),
    ]);
    for (const cookie of [idle, absolute]) {
      const r = await s.request('GET', '/api/dlmlocks', { headers: { cookie } });
      expect(r.status).toBe(401);
    }
    // a session used within the idle time stays
    expect(
      (await s.request('GET', '/api/dlmlocks', { headers: { cookie: cookieOf(await login()) } })).status,
    ).toBe(200);
  });

  it("a new password ends the user's sessions", async () => {
    await addUser(s, 'pete', 'viewer');
    const cookie = cookieOf(await login('pete', 'pete-password'));
    expect((await s.request('GET', '/api/session', { headers: { cookie } })).status).toBe(200);
    await s.asAdmin('PUT', '/api/users/pete', { body: { password: 'a-new-password' } });
    expect((await s.request('GET', '/api/session', { headers: { cookie } })).status).toBe(401);
  });

  it('a user changes their own password with the current one; it ends their sessions', async () => {
    await addUser(s, 'quinn', 'viewer');
    const r = await login('quinn', 'quinn-password');
    const headers = { cookie: cookieOf(r), 'x-csrf-token': r.json.csrf_token };
    const wrong = await s.request('PUT', '/api/session/password', {
      headers,
      body: { current_password: 'not-it-at-all', password: 'quinn-new-password' },
    });
    expect(wrong.status).toBe(422);
    expect(wrong.json.error.errors.current_password).toEqual(['is not correct']);
    const weak = await s.request('PUT', '/api/session/password', {
      headers,
      body: { current_password: 'quinn-password', password: 'short' },
    });
    expect(weak.status).toBe(422);
    const ok = await s.request('PUT', '/api/session/password', {
      headers,
      body: { current_password: 'quinn-password', password: 'quinn-new-password' },
    });
    expect(ok.status).toBe(204);
    expect((await s.request('GET', '/api/session', { headers })).status).toBe(401);
    expect((await login('quinn', 'quinn-password')).status).toBe(401);
    expect((await login('quinn', 'quinn-new-password')).status).toBe(200);
    const audit = await s.asAdmin('GET', '/api/audit?event_type=password_change&target=quinn');
    expect(audit.json.results[0].actor).toEqual({ login: 'quinn' });
  });

  it('refuses a wrong password and an unknown login alike, and records the failure', async () => {
    const wrong = await login('olga', 'not-her-password');
    const unknown = await login('nobody-here', 'whatever-password');
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.json).toEqual(unknown.json);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const audit = await s.asAdmin('GET', '/api/audit?event_type=login_failed');
    expect(audit.json.results.map((e: { target: string }) => e.target)).toEqual(
      expect.arrayContaining(['olga', 'nobody-here']),
    );
  });

  it('a header that is not Basic or Bearer, or a broken session cookie, is a 401', async () => {
    expect(
      (await s.request('GET', '/api/session', { headers: { cookie: 'keyholder_session=forged' } })).status,
    ).toBe(401);
    expect((await s.request('GET', '/api/session', { headers: { authorization: 'Digest x' } })).status).toBe(
      401,
    );
    // Authorization wins over the cookie
    const cookie = cookieOf(await login());
    const both = await s.request('GET', '/api/session', {
      headers: { cookie },
      user: ['admin', 'wrong-password'],
    });
    expect(both.status).toBe(401);
  });
});

describe('login rate limits and the client address', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite', {
      trustedProxies: ['127.0.0.1'],
      auth: { maxFailuresPerUser: 3, maxFailuresPerAddress: 5, loginWindowSeconds: 600 },
    });
    for (const u of ['victim', 'bystander', 'poller', 'fresh1', 'fresh2']) await addUser(s, u, 'viewer');
  });
  afterAll(() => s?.close());

  // 127.0.0.1 is a trusted proxy: each test forwards its own client address
  const from = (xff: string, localAddress?: string) => ({
    headers: { 'x-forwarded-for': xff },
    localAddress,
  });
  const attempt = (loginName: string, password: string, opts: RequestOptions) =>
    s.request('POST', '/api/session', {
      ...opts,
      headers: { ...opts.headers },
      body: { login: loginName, password },
    });

  it('limits failures per user and address: there even the right password gets 429, elsewhere it works', async () => {
    const client = from('10.0.0.1');
    for (let i = 0; i < 3; i++) expect((await attempt('victim', `guess-${i}-xxxx`, client)).status).toBe(401);
    const blocked = await attempt('victim', 'victim-password', client);
    expect(blocked.status).toBe(429);
    const retry = Number(blocked.headers['retry-after']);
    expect(retry).toBeGreaterThan(0);
    expect(retry).toBeLessThanOrEqual(600);
    expect(blocked.json.error.retry_after).toBe(retry);
    // HTTP Basic shares the limit
    const basicThere = await s.request('GET', '/api/dlmlocks', {
      ...client,
      user: ['victim', 'victim-password'],
    });
    expect(basicThere.status).toBe(429);
    // nobody can lock a user out from elsewhere (SPEC §8): the owner's own address still logs in
    expect((await attempt('victim', 'victim-password', from('10.0.0.2'))).status).toBe(200);
    // other users are not affected
    expect((await attempt('bystander', 'bystander-password', client)).status).toBe(200);
  });

  it('audits failed HTTP Basic logins, with the address, as login_failed (detail basic)', async () => {
    const r = await s.request('GET', '/api/dlmlocks', {
      ...from('10.0.0.7'),
      user: ['bystander', 'wrong-pw'],
    });
    expect(r.status).toBe(401);
    const audit = await s.asAdmin('GET', '/api/audit?event_type=login_failed&per_page=100');
    expect(audit.json.results).toContainEqual(
      expect.objectContaining({ target: 'bystander', detail: 'basic', address: '10.0.0.7', actor: null }),
    );
  });

  it('a password verified moments ago keeps working through an attack on its user', async () => {
    expect((await s.request('GET', '/api/dlmlocks', { user: ['poller', 'poller-password'] })).status).toBe(
      200,
    );
    for (let i = 0; i < 4; i++) await attempt('poller', `guess-${i}-xxxx`, from('10.0.0.3'));
    expect((await attempt('poller', 'guess-x-xxxx', from('10.0.0.3'))).status).toBe(429);
    const fromThere = { ...from('10.0.0.3'), user: ['poller', 'poller-password'] as [string, string] };
    expect((await s.request('GET', '/api/dlmlocks', fromThere)).status).toBe(200);
  });

  it('limits failures per forwarded address, and only a trusted proxy may forward one', async () => {
    for (let i = 0; i < 5; i++) await attempt(`nobody-${i}`, 'wrong-password', from('10.0.0.5'));
    // (users who have not logged in yet: a recently verified password would pass, see above)
    expect((await attempt('fresh1', 'fresh1-password', from('10.0.0.5'))).status).toBe(429);
    expect((await attempt('fresh1', 'fresh1-password', from('10.0.0.6'))).status).toBe(200);
    // 127.0.0.2 is no proxy: X-Forwarded-For from it is ignored, so rotating it does not help
    for (let i = 0; i < 5; i++) await attempt(`x-${i}`, 'wrong-password', from(`10.1.0.${i}`, '127.0.0.2'));
    expect((await attempt('fresh2', 'fresh2-password', from('10.1.0.99', '127.0.0.2'))).status).toBe(429);
    const audit = await s.asAdmin('GET', '/api/audit?event_type=login_failed&per_page=100');
    const addresses = new Set(audit.json.results.map((e: { address: string }) => e.address));
    expect(addresses.has('10.0.0.5')).toBe(true);
    expect(addresses.has('127.0.0.2')).toBe(true);
    expect([...addresses].some((a) => String(a).startsWith('10.1.'))).toBe(false);
  });
});
