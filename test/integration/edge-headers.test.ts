// Response headers and error shapes at the edge (SPEC §8): HSTS and nosniff on every response,
// no caching of answers that carry secrets, and the API's error body also for what node's HTTP
// parser refuses (400, 431) and for unknown API paths in any letter case.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN, startTestServer, type TestServer } from '../support/server.js';
import { openTls, type RawResponse } from '../support/raw-tls.js';
import type { TestResponse } from '../support/http.js';

const secured = (r: TestResponse | RawResponse) => {
  expect(r.headers['strict-transport-security']).toMatch(/^max-age=\d{8,}/);
  expect(r.headers['x-content-type-options']).toBe('nosniff');
};

/** Sends raw bytes on a fresh TLS connection and reads the one response. */
async function raw(
  s: TestServer,
  text: string,
): Promise<RawResponse & { json: { error: { message: string } } }> {
  const c = await openTls(s.server.port, s.pki.ca.certPem);
  const chunks: Buffer[] = [];
  c.socket.on('data', (d: Buffer) => chunks.push(d));
  c.socket.write(text);
  await c.closed;
  const all = Buffer.concat(chunks).toString('utf8');
  const [head, body] = [all.slice(0, all.indexOf('\r\n\r\n')), all.slice(all.indexOf('\r\n\r\n') + 4)];
  const lines = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
  );
  return { status: Number(lines[0]!.split(' ')[1]), headers, body, json: JSON.parse(body) };
}

describe('edge headers and error shapes', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(() => s?.close());

  it('every response has HSTS and nosniff: success, 401, 404, 400, FleetLock', async () => {
    secured(await s.request('GET', '/healthz'));
    secured(await s.request('GET', '/api/dlmlocks'));
    secured(await s.asAdmin('GET', '/api/dlmlocks'));
    secured(await s.asAdmin('GET', '/api/nothing-here'));
    secured(await s.asAdmin('GET', '/api/dlmlocks/a%ZZ'));
    secured(await s.request('POST', '/v1/pre-reboot', { body: '{}' }));
  });

  it('answers with a token or a session are never cached', async () => {
    const token = await s.asAdmin('POST', '/api/tokens', { body: { token: { name: 'ci', user: 'admin' } } });
    expect(token.status, token.text).toBe(201);
    expect(token.headers['cache-control']).toBe('no-store');
    const login = await s.request('POST', '/api/session', { body: { login: ADMIN[0], password: ADMIN[1] } });
    expect(login.status, login.text).toBe(200);
    expect(login.headers['cache-control']).toBe('no-store');
  });

  it('headers too large: 431 in the API error body', async () => {
    const r = await raw(
      s,
      `GET /healthz HTTP/1.1\r\nhost: localhost\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`,
    );
    expect(r.status).toBe(431);
    expect(r.json.error.message).toMatch(/headers are too large/);
    secured(r);
  });

  it('a malformed request: 400 in the API error body', async () => {
    const r = await raw(s, 'GET /healthz HTTP/1.1\r\nhost: localhost\r\nbad header\r\n\r\n');
    expect(r.status).toBe(400);
    expect(typeof r.json.error.message).toBe('string');
    secured(r);
  });

  it('bad JSON and a too large body: 400 and 413 in the API error body', async () => {
    const bad = await s.asAdmin('POST', '/api/dlmlocks', { body: '{"dlmlock":' });
    expect([bad.status, typeof bad.json.error.message]).toEqual([400, 'string']);
    const big = await s.asAdmin('POST', '/api/dlmlocks', {
      body: JSON.stringify({ x: 'y'.repeat(100_000) }),
    });
    expect([big.status, typeof big.json.error.message]).toEqual([413, 'string']);
  });

  it('an API path in the wrong case or without a route is a JSON 404, not the UI', async () => {
    for (const path of ['/API/USERS', '/api/nothing', '/Api/dlmlocks']) {
      const r = await s.asAdmin('GET', path);
      expect(r.status, path).toBe(404);
      expect(r.headers['content-type'], path).toMatch(/application\/json/);
      expect(r.json.error.message, path).toMatch(/Route not found/);
    }
  });
});
