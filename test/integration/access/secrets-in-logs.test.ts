// Passwords, API tokens and session cookies never reach the log or any API answer other than
// the one that hands them out: a server at log level trace, its log captured and searched.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../../src/identity/secrets.js';
import type { TestResponse } from '../../support/http.js';
import { ADMIN, startTestServer, type TestServer } from '../../support/server.js';
import { STORES } from '../../support/stores.js';
import { bearer } from './fixtures.js';

describe.each(STORES)('secrets stay out of logs and answers on %s', (kind) => {
  let s: TestServer;
  const log: string[] = [];
  const answers: string[] = [];
  const fixed = {
    admin: ADMIN[1],
    // distinct from their first characters on, so a quoted fragment is found too
    first: 'Fz9kQ2-first-passw0rd',
    second: 'Hw4rT8-second-passw0rd',
    wrong: 'Jm6pV1-wrong-passw0rd',
    tooLong: `Lc3sN5-long-${'x'.repeat(1100)}`,
  };
  /** the fixed ones plus those the server hands out during the test */
  const secrets: Record<string, string> = { ...fixed };

  beforeAll(async () => {
    s = await startTestServer(
      kind,
      { log: { level: 'trace' } },
      { logStream: { write: (line) => void log.push(line) } },
    );
  });
  afterAll(() => s?.close());

  /** every answer is kept for the search, except those whose job is to hand a secret out */
  const keep = (r: TestResponse) => {
    answers.push(JSON.stringify(r.headers), r.text);
    return r;
  };

  it('through users, sessions, tokens and bad input', async () => {
    const sam = (password: string): [string, string] => ['sam', password];
    keep(
      await s.asAdmin('POST', '/api/users', {
        body: { login: 'sam', password: fixed.first, role: 'admin' },
      }),
    );
    const login = await s.request('POST', '/api/session', {
      body: { login: 'sam', password: fixed.first },
    });
    expect(login.status).toBe(200);
    const cookie = [login.headers['set-cookie']].flat()[0]!.split(';')[0]!;
    secrets.cookie = cookie.split('=')[1]!;
    secrets.csrf = login.json.csrf_token;
    keep(await s.request('GET', '/api/dlmlocks', { headers: { cookie } }));
    keep(await s.request('POST', '/api/dlmlocks', { headers: { cookie }, body: { name: 'no-csrf' } }));
    keep(await s.request('POST', '/api/session', { body: { login: 'sam', password: fixed.wrong } }));
    keep(await s.request('GET', '/api/dlmlocks', { user: sam(fixed.wrong) }));
    // malformed JSON: the parser's message must not quote the password back
    const broken = keep(
      await s.request('POST', '/api/session', { body: `{"login":"sam","password": ${fixed.first}}` }),
    );
    expect(broken.status).toBe(400);
    keep(await s.request('POST', '/api/session', { body: `${fixed.first}` }));
    keep(await s.asAdmin('POST', '/api/users', { body: { login: 'tim', password: fixed.tooLong } }));
    keep(
      await s.asAdmin('POST', '/api/users', {
        body: { login: 'tim', password: 12345678, token: fixed.first },
      }),
    );

    const created = await s.request('POST', '/api/tokens', {
      user: sam(fixed.first),
      body: { user: 'sam', name: 'ci' },
    });
    expect(created.status).toBe(201);
    secrets.token = created.json.token;
    keep(await s.request('GET', '/api/users', { headers: bearer(secrets.token!) }));
    keep(
      await s.request('GET', `/api/dlmlocks?search=${encodeURIComponent('name = x')}`, {
        headers: bearer(secrets.token!),
      }),
    );
    keep(await s.asAdmin('DELETE', `/api/tokens/${created.json.id}`));
    keep(await s.request('GET', '/api/users', { headers: bearer(secrets.token!) }));
    keep(
      await s.request('PUT', '/api/users/sam', {
        user: sam(fixed.first),
        body: { password: fixed.second },
      }),
    );
    keep(await s.request('GET', '/api/session', { user: sam(fixed.second) }));
    keep(await s.request('GET', '/api/session', { headers: { cookie } }));
    keep(await s.request('DELETE', '/api/session', { headers: { cookie, 'x-csrf-token': secrets.csrf! } }));
    for (const path of [
      '/api/users',
      '/api/users/sam',
      '/api/tokens',
      `/api/tokens/${created.json.id}`,
      '/api/audit?per_page=1000',
    ]) {
      keep(await s.asAdmin('GET', path));
    }

    // the log has the requests (so the search below searched something)…
    const text = log.join('');
    expect(log.length).toBeGreaterThan(40);
    expect(text).toContain('"url":"/api/session"');
    expect(text).toContain('/api/tokens');
    // …and none of the secrets, in plain or as their stored hash
    const output = answers.join('\n');
    for (const [what, secret] of Object.entries(secrets)) {
      for (const form of [secret, hashSecret(secret), secret.slice(0, 10)]) {
        expect(text.includes(form), `${what} in the log`).toBe(false);
        expect(output.includes(form), `${what} in an API answer`).toBe(false);
      }
    }
    expect(output).not.toMatch(/scrypt\$|password_hash|token_hash/);
  });
});
