// /api/users and `keyholder user …`: roles take effect at once, passwords never come back,
// the last admin cannot be removed or demoted, bad input is a 422 naming the field.
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUserCommands } from '../../src/cli/user.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { bearer } from './access/fixtures.js';

describe.each(STORES)('users API on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  it('creates a user who can then sign in with their role, and lists without secrets', async () => {
    const created = await s.asAdmin('POST', '/api/users', {
      body: { user: { login: 'carol', password: 'carol-password', role: 'operator' } },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ login: 'carol', role: 'operator' });
    expect(Object.keys(created.json).sort()).toEqual(['created_at', 'id', 'login', 'role', 'updated_at']);
    const carol: [string, string] = ['carol', 'carol-password'];
    expect(
      (await s.request('POST', '/api/dlmlocks', { user: carol, body: { name: 'by-carol' } })).status,
    ).toBe(201);
    expect((await s.request('DELETE', '/api/dlmlocks/by-carol', { user: carol })).status).toBe(403);

    const list = await s.asAdmin('GET', '/api/users');
    expect(list.json).toMatchObject({ total: 2, page: 1, per_page: 20 });
    expect(list.json.results.map((u: { login: string }) => u.login)).toEqual(['admin', 'carol']);
    expect(list.text).not.toMatch(/password|scrypt/);
    expect((await s.asAdmin('GET', '/api/users/carol')).json.role).toBe('operator');
  });

  it("a role change applies to the next request, also for the user's tokens", async () => {
    await s.asAdmin('POST', '/api/users', {
      body: { login: 'dave', password: 'dave-password', role: 'admin' },
    });
    const token = (await s.asAdmin('POST', '/api/tokens', { body: { user: 'dave', name: 'ci' } })).json.token;
    expect((await s.request('GET', '/api/users', { headers: bearer(token) })).status).toBe(200);
    const demoted = await s.asAdmin('PUT', '/api/users/dave', { body: { role: 'viewer' } });
    expect(demoted.json.role).toBe('viewer');
    expect((await s.request('GET', '/api/users', { headers: bearer(token) })).status).toBe(403);
    expect((await s.request('GET', '/api/users', { user: ['dave', 'dave-password'] })).status).toBe(403);
    expect((await s.request('GET', '/api/dlmlocks', { headers: bearer(token) })).status).toBe(200);
  });

  it('a new password replaces the old one at once', async () => {
    await s.asAdmin('POST', '/api/users', { body: { login: 'erin', password: 'erin-password-1' } });
    expect((await s.request('GET', '/api/dlmlocks', { user: ['erin', 'erin-password-1'] })).status).toBe(200);
    expect(
      (await s.asAdmin('PUT', '/api/users/erin', { body: { password: 'erin-password-2' } })).status,
    ).toBe(200);
    expect((await s.request('GET', '/api/dlmlocks', { user: ['erin', 'erin-password-1'] })).status).toBe(401);
    expect((await s.request('GET', '/api/dlmlocks', { user: ['erin', 'erin-password-2'] })).status).toBe(200);
  });

  it('deleting a user deletes their tokens', async () => {
    await s.asAdmin('POST', '/api/users', { body: { login: 'frank', password: 'frank-password' } });
    const token = (await s.asAdmin('POST', '/api/tokens', { body: { user: 'frank', name: 'x' } })).json.token;
    expect((await s.request('GET', '/api/dlmlocks', { headers: bearer(token) })).status).toBe(200);
    expect((await s.asAdmin('DELETE', '/api/users/frank')).json.login).toBe('frank');
    expect((await s.request('GET', '/api/dlmlocks', { headers: bearer(token) })).status).toBe(401);
    expect((await s.asAdmin('GET', '/api/users/frank')).status).toBe(404);
    expect((await s.asAdmin('DELETE', '/api/users/frank')).status).toBe(404);
  });

  it('keeps at least one admin', async () => {
    const demote = await s.asAdmin('PUT', '/api/users/admin', { body: { role: 'operator' } });
    // dave was demoted above, so `admin` is the only admin left
    expect(demote.status).toBe(422);
    expect(demote.json.error.errors.role[0]).toMatch(/last admin/);
    const remove = await s.asAdmin('DELETE', '/api/users/admin');
    expect(remove.status).toBe(422);
    expect(remove.json.error.full_messages[0]).toMatch(/last admin/);
    // with a second admin, the first may go
    await s.asAdmin('POST', '/api/users', {
      body: { login: 'root2', password: 'root2-password', role: 'admin' },
    });
    const root2: [string, string] = ['root2', 'root2-password'];
    expect(
      (await s.request('PUT', '/api/users/admin', { user: root2, body: { role: 'operator' } })).status,
    ).toBe(200);
    expect((await s.asAdmin('GET', '/api/users')).status).toBe(403);
    expect(
      (await s.request('PUT', '/api/users/admin', { user: root2, body: { role: 'admin' } })).status,
    ).toBe(200);
  });

  it.each([
    [{ login: 'x y', password: 'long-enough' }, 'login'],
    [{ login: '', password: 'long-enough' }, 'login'],
    [{ login: 'a'.repeat(65), password: 'long-enough' }, 'login'],
    [{ login: 'short', password: 'short' }, 'password'],
    [{ login: 'typed', password: 12345678 }, 'password'],
    [{ login: 'roled', password: 'long-enough', role: 'root' }, 'role'],
    [{ login: 'extra', password: 'long-enough', is_admin: true }, 'is_admin'],
    [{ login: 'admin', password: 'long-enough' }, 'login'],
  ])('refuses %o with a 422 naming %s', async (body, field) => {
    const r = await s.asAdmin('POST', '/api/users', { body });
    expect(r.status, r.text).toBe(422);
    expect(Object.keys(r.json.error.errors)).toContain(field);
  });

  it('refuses bodies that are not objects, and unknown users, without a 500', async () => {
    for (const body of ['[]', '"x"', 'null', '{']) {
      const r = await s.asAdmin('POST', '/api/users', { body });
      expect([400, 422], `${body}: ${r.text}`).toContain(r.status);
    }
    expect((await s.asAdmin('PUT', '/api/users/nobody-here', { body: { role: 'viewer' } })).status).toBe(404);
    expect((await s.asAdmin('PUT', '/api/users/admin', { body: { role: 'god' } })).status).toBe(422);
    expect((await s.asAdmin('GET', '/api/users?per_page=0')).status).toBe(422);
  });

  it('keyholder user add / role / list / token / revoke-token / remove work on the same database', async () => {
    const out: string[] = [];
    const run = async (args: string[], stdin = '') => {
      const program = new Command('keyholder').exitOverride();
      registerUserCommands(program, { out: (l) => out.push(l), readStdin: async () => stdin });
      const db = s.db.url ? ['--database-url', s.db.url] : ['--data-dir', s.db.dataDir];
      await program.parseAsync(['node', 'keyholder', 'user', ...args, ...db]);
      return out.splice(0).join('\n');
    };
    expect(await run(['add', 'grace', '--role', 'operator', '--password-stdin'], 'grace-password\n')).toMatch(
      /created user grace \(operator\)$/,
    );
    expect(
      (await s.request('POST', '/api/dlmlocks', { user: ['grace', 'grace-password'], body: { name: 'g' } }))
        .status,
    ).toBe(201);
    const generated = /password: (\S+)/.exec(await run(['add', 'heidi']))![1]!;
    expect((await s.request('GET', '/api/dlmlocks', { user: ['heidi', generated] })).status).toBe(200);
    expect(await run(['role', 'heidi', 'admin'])).toMatch(/heidi is now admin/);
    expect(await run(['list'])).toMatch(/heidi\tadmin/);
    const tokenOut = await run(['token', 'heidi', '--name', 'deploy', '--expires-in-days', '7']);
    const secret = /^(kh_\S+)$/m.exec(tokenOut)![1]!;
    expect((await s.request('GET', '/api/users', { headers: bearer(secret) })).status).toBe(200);
    const id = /^token (\d+)/.exec(tokenOut)![1]!;
    expect(await run(['tokens', 'heidi'])).toMatch(
      new RegExp(`^${id}\\theidi\\tdeploy\\tkh_\\S+\\tactive`, 'm'),
    );
    await run(['revoke-token', id]);
    expect((await s.request('GET', '/api/users', { headers: bearer(secret) })).status).toBe(401);
    expect(await run(['remove', 'heidi'])).toMatch(/removed user heidi/);
    await expect(run(['add', 'grace'])).rejects.toThrow(/Login has already been taken/);
    await expect(run(['add', 'bad login'])).rejects.toThrow(/login must be/);
    await expect(run(['add', 'ivan', '--password-stdin'], 'short\n')).rejects.toThrow(/at least 8/);
    await expect(run(['role', 'grace', 'boss'])).rejects.toThrow(/must be one of/);
    await expect(run(['passwd', 'nobody-here'])).rejects.toThrow(/no user/);

    const audit = await s.asAdmin('GET', '/api/audit?actor=(cli)');
    const types = audit.json.results.map((e: { event_type: string }) => e.event_type);
    expect(types).toEqual(
      expect.arrayContaining(['user_create', 'role_change', 'token_create', 'token_revoke', 'user_delete']),
    );
  });
});
