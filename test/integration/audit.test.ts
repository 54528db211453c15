// The audit trail: logins (and failed ones), logouts, token creation and revocation, user and
// role changes, host changes — each with who, from where and when, for admins to list.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

interface AuditEntry {
  event_type: string;
  actor: { login: string } | null;
  target: string | null;
  detail: string | null;
  address: string | null;
  created_at: string;
}

describe.each(STORES)('audit trail on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  it('records account events newest first, with actor, target and address', async () => {
    await s.asAdmin('POST', '/api/users', {
      body: { login: 'kim', password: 'kim-password', role: 'viewer' },
    });
    await s.asAdmin('PUT', '/api/users/kim', { body: { role: 'operator' } });
    await s.asAdmin('PUT', '/api/users/kim', { body: { password: 'kim-password-2' } });
    const token = (await s.asAdmin('POST', '/api/tokens', { body: { user: 'kim', name: 'ci' } })).json;
    await s.asAdmin('DELETE', `/api/tokens/${token.id}`);
    await s.request('POST', '/api/session', { body: { login: 'kim', password: 'wrong-password' } });
    const login = await s.request('POST', '/api/session', {
      body: { login: 'kim', password: 'kim-password-2' },
    });
    const cookie = [login.headers['set-cookie']].flat()[0]!.split(';')[0]!;
    await s.request('DELETE', '/api/session', { headers: { cookie, 'x-csrf-token': login.json.csrf_token } });
    await s.asAdmin('DELETE', '/api/users/kim');

    const r = await s.asAdmin('GET', '/api/audit');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({
      total: 9,
      subtotal: 9,
      search: null,
      sort: { by: 'created_at', order: 'DESC' },
    });
    const rows = (r.json.results as AuditEntry[]).map((e) => [
      e.event_type,
      e.actor?.login ?? null,
      e.target,
      e.detail,
    ]);
    expect(rows).toEqual([
      ['user_delete', 'admin', 'kim', null],
      ['logout', 'kim', 'kim', null],
      ['login', 'kim', 'kim', 'session'],
      ['login_failed', null, 'kim', null],
      ['token_revoke', 'admin', 'kim', `token ${token.id} "ci"`],
      ['token_create', 'admin', 'kim', `token ${token.id} "ci"`],
      ['password_change', 'admin', 'kim', null],
      ['role_change', 'admin', 'kim', 'viewer -> operator'],
      ['user_create', 'admin', 'kim', 'role viewer'],
    ]);
    for (const e of r.json.results as AuditEntry[]) {
      expect(e.address).toBe('127.0.0.1');
      expect(e.created_at).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    }
  });

  it('filters by event type, actor and target, and pages', async () => {
    const q = async (query: string) => (await s.asAdmin('GET', `/api/audit?${query}`)).json;
    const logins = await q('event_type=login');
    expect(logins).toMatchObject({ total: 9, subtotal: 1, search: 'event_type = login' });
    expect((await q('actor=kim')).subtotal).toBe(2);
    expect((await q('target=kim&event_type=token_create')).results).toHaveLength(1);
    const page = await q('per_page=2&page=2');
    expect(page.results.map((e: AuditEntry) => e.event_type)).toEqual(['login', 'login_failed']);
    expect((await s.asAdmin('GET', '/api/audit?actor=a&actor=b')).status).toBe(422);
    expect((await s.asAdmin('GET', '/api/audit?page=x')).status).toBe(422);
  });
});
