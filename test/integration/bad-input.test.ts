// Bad input of every kind gets a clear 4xx in Foreman's error shape and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';

describe.each(STORES)('bad input on %s', (kind) => {
  let s: TestServer;
  let snapshot: string;
  const state = async () => {
    const locks = await s.asAdmin('GET', '/api/dlmlocks?per_page=1000');
    const events = await s.asAdmin('GET', '/api/dlmlocks/guarded/dlmlock_events?per_page=1000');
    return JSON.stringify([locks.json, events.json]);
  };

  beforeAll(async () => {
    s = await startTestServer(kind);
    await s.asHost('web01', 'PUT', '/api/dlmlocks/guarded/lock');
    snapshot = await state();
  });
  afterAll(() => s?.close());

  const expectRefused = async (
    r: { status: number; json: { error?: { message?: string } }; text: string },
    status: number,
  ) => {
    expect(r.status, r.text).toBe(status);
    expect(typeof r.json?.error?.message, r.text).toBe('string');
    expect(await state()).toBe(snapshot);
  };

  it.each([
    ['{"dlmlock":', 400],
    ['{"dlmlock":{"enabled":false}', 400],
    ['nonsense', 400],
    ['[1,2,3]', 422],
    ['"a string"', 422],
    ['null', 422],
    ['{"dlmlock":"x"}', 422],
    ['{"dlmlock":{"enabled":"no"}}', 422],
    ['{"dlmlock":{"enabled":1}}', 422],
    ['{"dlmlock":{"name":123}}', 422],
    ['{"dlmlock":{"name":""}}', 422],
    ['{"dlmlock":{"name":"a/b"}}', 422],
    ['{"dlmlock":{"host_id":"web01"}}', 422],
    ['{"dlmlock":{"max_holders":0}}', 422],
    ['{"dlmlock":{"max_holders":1.5}}', 422],
    ['{"dlmlock":{"lease_seconds":-1}}', 422],
    ['{"dlmlock":{"type":"Foo::Bar"}}', 422],
    ['{"dlmlock":{"colour":"red"}}', 422],
    ['{"enabled":false,"surprise":1}', 422],
    ['{"__proto__":{"enabled":false}}', 400],
  ])('update with body %s → %i, nothing changed', async (body, status) => {
    const r = await s.asAdmin('PUT', '/api/dlmlocks/guarded', { body });
    await expectRefused(r, status);
  });

  it('a 422 names the fields with errors and full_messages', async () => {
    const r = await s.asAdmin('PUT', '/api/dlmlocks/guarded', {
      body: { dlmlock: { enabled: 'no', colour: 'red' } },
    });
    expect(r.json.error.errors).toEqual({
      colour: ['is not a known attribute'],
      enabled: ['must be true or false'],
    });
    expect(r.json.error.full_messages).toEqual([
      'Colour is not a known attribute',
      'Enabled must be true or false',
    ]);
  });

  it('a body over the limit is 413', async () => {
    const big = JSON.stringify({ dlmlock: { name: 'x'.repeat(200_000) } });
    await expectRefused(await s.asAdmin('POST', '/api/dlmlocks', { body: big }), 413);
  });

  it('a non-JSON content type on a write is 415', async () => {
    const r = await s.asAdmin('PUT', '/api/dlmlocks/guarded', {
      body: 'enabled=false',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    await expectRefused(r, 415);
  });

  it('malformed JSON on acquire is a 400 and does not acquire', async () => {
    const r = await s.asHost('web02', 'PUT', '/api/dlmlocks/other/lock', { body: '{"oops' });
    expect(r.status).toBe(400);
    expect((await s.asAdmin('GET', '/api/dlmlocks/other')).status).toBe(404);
  });

  it.each([
    ['an empty name', '/api/dlmlocks/%20/lock', 422],
    ['%2F in the name', '/api/dlmlocks/a%2Fb/lock', 422],
    ['a 10 kB name', `/api/dlmlocks/${'n'.repeat(10_000)}/lock`, 414],
    ['a 300-character name', `/api/dlmlocks/${'n'.repeat(300)}/lock`, 422],
    ['a control character', '/api/dlmlocks/a%01b/lock', 422],
    // NUL is refused before validation, the same on both stores (SPEC §8)
    ['a NUL byte', '/api/dlmlocks/a%00b/lock', 400],
    ['broken percent-encoding', '/api/dlmlocks/a%ZZb/lock', 400],
  ])('acquire with %s is refused and creates nothing', async (_what, path, status) => {
    const r = await s.asHost('web02', 'PUT', path);
    await expectRefused(r, status);
  });

  it.each([
    ['/api/dlmlocks/%20', 'GET'],
    ['/api/dlmlocks/a%2Fb', 'GET'],
    ['/api/dlmlocks/a%2Fb', 'DELETE'],
  ])('user endpoints with odd names %s are 404, not 500', async (path, method) => {
    await expectRefused(await s.asAdmin(method, path), 404);
  });

  it('unknown routes and methods are 404/405-style errors in the same shape', async () => {
    await expectRefused(await s.asAdmin('GET', '/api/nothing-here'), 404);
    await expectRefused(await s.asAdmin('PATCH', '/api/dlmlocks/guarded/lock'), 404);
  });

  it('a malformed Authorization header is 401', async () => {
    const r = await s.request('GET', '/api/dlmlocks', { headers: { authorization: 'Basic !!!' } });
    await expectRefused(r, 401);
    const r2 = await s.request('GET', '/api/dlmlocks', {
      headers: { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` },
    });
    await expectRefused(r2, 401);
  });
});
