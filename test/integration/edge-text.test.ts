// Text the stores cannot keep as sent — NUL bytes, invalid UTF-8, lone surrogates — is refused
// at the edge with the same 4xx on both stores, in every place a client can put text, and
// nothing in the database changes (compared table by table).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { fromDatabaseText } from '../../src/http/errors.js';
import { querySql } from '../support/db-sql.js';
import { STORES } from '../support/stores.js';
import { ADMIN, startTestServer, type TestServer } from '../support/server.js';
import type { RequestOptions } from '../support/http.js';

const TABLES = [
  'locks',
  'lock_holders',
  'lock_waiters',
  'lock_events',
  'hosts',
  'users',
  'api_tokens',
  'sessions',
  'audit_events',
];

/** JSON text of `{"name": <lone surrogate>}`, which JSON.stringify cannot produce. */
const LONE = '"\\ud800x"';
/** `{"dlmlock":{"name":"a<0xFF>b"}}` as raw bytes: not UTF-8. */
const RAW_FF = Buffer.concat([
  Buffer.from('{"dlmlock":{"name":"a'),
  Buffer.from([0xff]),
  Buffer.from('b"}}'),
]);
const basic = (login: string, password: string) =>
  `Basic ${Buffer.from(`${login}:${password}`).toString('base64')}`;

type Case = [
  label: string,
  method: string,
  path: string,
  opts: RequestOptions & { host?: string },
  status: number,
];

const CASES: Case[] = [
  ['NUL in a lock name (path)', 'GET', '/api/dlmlocks/a%00b', { user: ADMIN }, 400],
  ['NUL in a lock name on acquire', 'PUT', '/api/dlmlocks/a%00b/lock', { host: 'web01' }, 400],
  ['%FF in a lock name (path)', 'GET', '/api/dlmlocks/a%FFb', { user: ADMIN }, 400],
  ['encoded lone surrogate in the path', 'DELETE', '/api/dlmlocks/a%ED%A0%80', { user: ADMIN }, 400],
  ['NUL in a search', 'GET', '/api/dlmlocks?search=name%20%3D%20a%00b', { user: ADMIN }, 400],
  ['%FF in a search', 'GET', '/api/dlmlocks?search=name%20~%20%FF', { user: ADMIN }, 400],
  ['NUL in the hosts search', 'GET', '/api/hosts?search=name%20%3D%20%00', { user: ADMIN }, 400],
  ['NUL in ?actor=', 'GET', '/api/audit?actor=adm%00in', { user: ADMIN }, 400],
  ['NUL in ?user=', 'GET', '/api/tokens?user=adm%00in', { user: ADMIN }, 400],
  [
    'NUL in a lock name (body)',
    'POST',
    '/api/dlmlocks',
    { user: ADMIN, body: { dlmlock: { name: 'a\u0000b' } } },
    400,
  ],
  [
    'lone surrogate in a lock name (body)',
    'POST',
    '/api/dlmlocks',
    { user: ADMIN, body: `{"dlmlock":{"name":${LONE}}}` },
    400,
  ],
  ['invalid UTF-8 bytes in a body', 'POST', '/api/dlmlocks', { user: ADMIN, body: RAW_FF }, 400],
  [
    'NUL in a renamed lock',
    'PUT',
    '/api/dlmlocks/guarded',
    { user: ADMIN, body: { dlmlock: { name: 'x\u0000' } } },
    400,
  ],
  [
    'NUL in a host name (body)',
    'POST',
    '/api/hosts',
    { user: ADMIN, body: { host: { name: 'h\u0000' } } },
    400,
  ],
  [
    'lone surrogate in a user login',
    'POST',
    '/api/users',
    { user: ADMIN, body: `{"user":{"login":${LONE},"password":"long-enough-1","role":"viewer"}}` },
    400,
  ],
  [
    'NUL in a key of a body',
    'POST',
    '/api/users',
    { user: ADMIN, body: { user: { 'log\u0000in': 'x' } } },
    400,
  ],
  [
    'NUL in the Basic login',
    'GET',
    '/api/dlmlocks',
    { headers: { authorization: basic('adm\u0000in', ADMIN[1]) } },
    401,
  ],
  [
    'invalid UTF-8 in the Basic login',
    'GET',
    '/api/dlmlocks',
    {
      headers: {
        authorization: `Basic ${Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(':pw')]).toString('base64')}`,
      },
    },
    401,
  ],
  [
    'a bearer token with bytes that are not UTF-8',
    'GET',
    '/api/dlmlocks',
    { headers: { authorization: 'Bearer kh_\xff\xfe' } },
    401,
  ],
  [
    'NUL in the session login',
    'POST',
    '/api/session',
    { body: { login: 'adm\u0000in', password: ADMIN[1] } },
    400,
  ],
  [
    'lone surrogate in the session login',
    'POST',
    '/api/session',
    { body: `{"login":${LONE},"password":"whatever-pw"}` },
    400,
  ],
  [
    'invalid UTF-8 in the session body',
    'POST',
    '/api/session',
    { body: Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) },
    400,
  ],
  ['NUL in a token name', 'POST', '/api/tokens', { user: ADMIN, body: { token: { name: 'ci\u0000' } } }, 400],
];

describe.each(STORES)('text the stores cannot keep, on %s', (kind) => {
  let s: TestServer;
  let before: string;
  const snapshot = async () => {
    const rows = await Promise.all(TABLES.map((t) => querySql(s.db, `SELECT * FROM ${t} ORDER BY 1`)));
    return JSON.stringify(rows);
  };

  beforeAll(async () => {
    s = await startTestServer(kind);
    expect((await s.asHost('web01', 'PUT', '/api/dlmlocks/guarded/lock')).status).toBe(200);
    before = await snapshot();
  });
  afterAll(() => s?.close());

  it.each(CASES)('%s: refused, nothing stored', async (_label, method, path, { host, ...opts }, status) => {
    const r = host ? await s.asHost(host, method, path, opts) : await s.request(method, path, opts);
    expect(r.status, r.text).toBe(status);
    expect(typeof r.json?.error?.message, r.text).toBe('string');
    expect(await snapshot()).toBe(before);
  });

  it('FleetLock: a lone surrogate or invalid UTF-8 in the body is a 400 with a kind, nothing stored', async () => {
    const headers = { 'fleet-lock-protocol': 'true' };
    const lone = await s.request('POST', '/v1/pre-reboot', {
      headers,
      body: `{"client_params":{"id":${LONE},"group":"default"}}`,
    });
    expect([lone.status, lone.json?.kind]).toEqual([400, 'invalid_id']);
    const raw = await s.request('POST', '/v1/pre-reboot', {
      headers,
      body: Buffer.concat([
        Buffer.from('{"client_params":{"id":"n'),
        Buffer.from([0xc3]),
        Buffer.from('"}}'),
      ]),
    });
    expect([raw.status, raw.json?.kind]).toEqual([400, 'bad_text']);
    expect(await snapshot()).toBe(before);
  });

  it('the same names in clean text still work', async () => {
    const r = await s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name: 'ünïcödé-🔒' } } });
    expect(r.status, r.text).toBe(201);
    expect((await s.asAdmin('GET', `/api/dlmlocks/${encodeURIComponent('ünïcödé-🔒')}`)).json.name).toBe(
      'ünïcödé-🔒',
    );
  });

  it.runIf(kind === 'postgres')('safety net: PostgreSQL refusing text maps to a 400, not a 500', async () => {
    const client = new pg.Client({ connectionString: s.db.url });
    await client.connect();
    const err = await client.query('SELECT $1::text AS t', ['a\u0000b']).catch((e: unknown) => e);
    await client.end();
    expect((err as { code?: string }).code).toBe('22021');
    expect(fromDatabaseText(err)?.status).toBe(400);
  });
});
