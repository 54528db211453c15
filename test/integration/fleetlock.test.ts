// FleetLock as Zincati speaks it: POST with `fleet-lock-protocol: true`, a pretty-printed JSON
// body and no Content-Type; errors as {kind, value}; holders and events like any other lock's.
import { once } from 'node:events';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RequestOptions, TestResponse } from '../support/http.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { querySql } from '../support/db-sql.js';

const PRE = '/v1/pre-reboot';
const STEADY = '/v1/steady-state';

/** Zincati serialises with serde_json::to_string_pretty. */
const zincatiBody = (id: string, group = 'default') =>
  JSON.stringify({ client_params: { id, group } }, null, 2);

/** The exact bytes Zincati's reqwest client sends: no Content-Type, `accept: *\/*`. */
async function rawZincati(s: TestServer, path: string, body: string) {
  const port = Number(new URL(s.url).port);
  const socket = tls.connect({ host: '127.0.0.1', port, ca: s.pki.ca.certPem, servername: 'localhost' });
  await once(socket, 'secureConnect');
  socket.write(
    `POST ${path} HTTP/1.1\r\nfleet-lock-protocol: true\r\naccept: */*\r\n` +
      `host: 127.0.0.1:${port}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
      `connection: close\r\n\r\n${body}`,
  );
  const chunks: Buffer[] = [];
  socket.on('data', (c: Buffer) => chunks.push(c));
  await once(socket, 'end');
  const text = Buffer.concat(chunks).toString('utf8');
  const [head = '', payload = ''] = text.split('\r\n\r\n');
  return { status: Number(head.split(' ')[1]), head: head.toLowerCase(), payload };
}

function fleet(s: TestServer, path: string, body: unknown, opts: RequestOptions = {}): Promise<TestResponse> {
  return s.request('POST', path, {
    body,
    noContentType: true,
    ...opts,
    headers: { 'fleet-lock-protocol': 'true', accept: '*/*', ...opts.headers },
  });
}

async function holders(s: TestServer, lock: string): Promise<string[] | undefined> {
  const r = await s.asAdmin('GET', `/api/dlmlocks/${lock}`);
  if (r.status === 404) return undefined;
  expect(r.status).toBe(200);
  return (r.json.holders as { name: string }[]).map((h) => h.name).sort();
}

/** How many rows a stranger could make: hosts, locks, holders, events. */
async function tableCounts(s: TestServer): Promise<number[]> {
  const tables = ['hosts', 'locks', 'lock_holders', 'lock_events', 'lock_waiters'];
  const counts = await Promise.all(
    tables.map((t) => querySql<{ n: string | number }>(s.db, `SELECT COUNT(*) AS n FROM ${t}`)),
  );
  return counts.map((rows) => Number(rows[0]!.n));
}

function expectKind(r: TestResponse, status: number, kind: string) {
  expect(r.status, r.text).toBe(status);
  expect(r.headers['content-type']).toMatch(/^application\/json/);
  expect(r.json).toEqual({ kind, value: expect.any(String) });
  expect(r.json.value.length).toBeGreaterThan(0);
}

describe.each(STORES)('FleetLock on %s', (kind) => {
  describe('default settings (hosts.autoRegister off: node ids register anyway)', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, {
        hosts: { autoRegister: false },
        fleetlock: {
          groups: {
            default: null,
            workers: {},
            rec: {},
            legacy: {},
            fresh: {},
            barred: {},
            ct: {},
            flood: {},
          },
        },
      });
    });
    afterAll(() => s?.close());

    it('grants a reboot slot to a request exactly as Zincati sends it', async () => {
      const body = zincatiBody('c988d2509fdf4cdcbed39037c56406fb', 'workers');
      const r = await rawZincati(s, PRE, body);
      expect(r.status).toBe(200);
      expect(r.head).not.toMatch(/\r\ncontent-type:/);
      expect(r.head).toMatch(/\r\nx-fencing-token: \d+/);
      expect(r.payload).toBe('');
      expect(await holders(s, 'fleetlock-workers')).toEqual(['c988d2509fdf4cdcbed39037c56406fb']);
      const lock = await s.asAdmin('GET', '/api/dlmlocks/fleetlock-workers');
      expect(lock.json).toMatchObject({ max_holders: 1, host: { name: 'c988d2509fdf4cdcbed39037c56406fb' } });
      expect(await s.server.store.hostDirectory.getByName('c988d2509fdf4cdcbed39037c56406fb')).toBeDefined();

      const release = await rawZincati(s, STEADY, body);
      expect(release.status).toBe(200);
      expect(await holders(s, 'fleetlock-workers')).toEqual([]);
    });

    it('is a recursive lock per node id and refuses a second node with a kind', async () => {
      const first = await fleet(s, PRE, zincatiBody('node-a', 'rec'));
      expect(first.status).toBe(200);
      const again = await fleet(s, PRE, zincatiBody('node-a', 'rec'));
      expect(again.status).toBe(200);
      expect(again.headers['x-fencing-token']).toBe(first.headers['x-fencing-token']);

      const other = await fleet(s, PRE, zincatiBody('node-b', 'rec'));
      expectKind(other, 409, 'failed_lock');
      expect(other.json.value).toContain('node-a');
      expect(await holders(s, 'fleetlock-rec')).toEqual(['node-a']);

      // node-b holds nothing: steady-state is fine and leaves node-a's slot alone
      expect((await fleet(s, STEADY, zincatiBody('node-b', 'rec'))).status).toBe(200);
      expect(await holders(s, 'fleetlock-rec')).toEqual(['node-a']);

      expect((await fleet(s, STEADY, zincatiBody('node-a', 'rec'))).status).toBe(200);
      expect(await holders(s, 'fleetlock-rec')).toEqual([]);
      expect((await fleet(s, STEADY, zincatiBody('node-a', 'rec'))).status).toBe(200);
      expect((await fleet(s, PRE, zincatiBody('node-b', 'rec'))).status).toBe(200);
      expect(await holders(s, 'fleetlock-rec')).toEqual(['node-b']);
    });

    it('steady-state on a declared group never used answers 200 and writes nothing', async () => {
      expect((await fleet(s, STEADY, zincatiBody('fresh-node', 'fresh'))).status).toBe(200);
      expect(await holders(s, 'fleetlock-fresh')).toBeUndefined();
      expect(await s.server.store.hostDirectory.getByName('fresh-node')).toBeUndefined();
    });

    it('accepts node_uuid (older Zincati, airlock) in place of id', async () => {
      const body = JSON.stringify({ client_params: { node_uuid: 'old-zincati', group: 'legacy' } }, null, 2);
      expect((await fleet(s, PRE, body)).status).toBe(200);
      expect(await holders(s, 'fleetlock-legacy')).toEqual(['old-zincati']);
      const both = { client_params: { id: 'old-zincati', node_uuid: 'old-zincati', group: 'legacy' } };
      expect((await fleet(s, STEADY, both)).status).toBe(200);
      expect(await holders(s, 'fleetlock-legacy')).toEqual([]);
    });

    it('uses the group "default" when a client sends none', async () => {
      expect((await fleet(s, PRE, { client_params: { id: 'groupless' } })).status).toBe(200);
      expect(await holders(s, 'fleetlock-default')).toEqual(['groupless']);
      expect((await fleet(s, STEADY, { client_params: { id: 'groupless' } })).status).toBe(200);
      expect(await holders(s, 'fleetlock-default')).toEqual([]);
    });

    it('records acquire, fail and release events with the node id as host', async () => {
      // evt-b is a node seen before; a refused node never seen leaves nothing (see the flood test)
      await s.server.store.touchHost({ name: 'evt-b', autoRegister: true });
      expect((await fleet(s, PRE, zincatiBody('evt-a'))).status).toBe(200);
      expect((await fleet(s, PRE, zincatiBody('evt-never-seen'))).status).toBe(409);
      expect(await s.server.store.hostDirectory.getByName('evt-never-seen')).toBeUndefined();
      expect((await fleet(s, PRE, zincatiBody('evt-b'))).status).toBe(409);
      expect((await fleet(s, STEADY, zincatiBody('evt-b'))).status).toBe(200);
      expect((await fleet(s, STEADY, zincatiBody('evt-a'))).status).toBe(200);
      const r = await s.asAdmin('GET', '/api/dlmlocks/fleetlock-default/dlmlock_events');
      expect(r.status).toBe(200);
      const mine = (r.json.results as { event_type: string; host: { name: string } | null }[])
        .filter((e) => e.host && e.host.name.startsWith('evt-'))
        .map((e) => [e.event_type, e.host!.name]);
      // newest first; evt-b's steady-state left no `fail` behind
      expect(mine).toEqual([
        ['release', 'evt-a'],
        ['fail', 'evt-b'],
        ['acquire', 'evt-a'],
      ]);
    });

    it('refuses a request without the fleet-lock-protocol header, or with it not true', async () => {
      const missing = await s.request('POST', PRE, { body: zincatiBody('hdr'), noContentType: true });
      expectKind(missing, 400, 'missing_header');
      const wrong = await fleet(s, PRE, zincatiBody('hdr'), { headers: { 'fleet-lock-protocol': 'false' } });
      expectKind(wrong, 400, 'bad_header');
      const steady = await s.request('POST', STEADY, { body: zincatiBody('hdr'), noContentType: true });
      expectKind(steady, 400, 'missing_header');
      expect(await holders(s, 'fleetlock-default')).toEqual([]);
      expect(await s.server.store.hostDirectory.getByName('hdr')).toBeUndefined();
    });

    it.each([
      ['not JSON', '{"client_params": {"id": "x", ', 'malformed_body'],
      ['an empty body', '', 'malformed_body'],
      ['a JSON array', '[]', 'malformed_body'],
      ['no client_params', '{}', 'malformed_body'],
      ['client_params not an object', '{"client_params":"bad-input-node"}', 'malformed_body'],
      ['group a/b', zincatiBody('bad-input-node', 'a/b'), 'invalid_group'],
      ['an empty group', zincatiBody('bad-input-node', ''), 'invalid_group'],
      ['a group with a space', zincatiBody('bad-input-node', 'bad input'), 'invalid_group'],
      ['a numeric group', '{"client_params":{"id":"bad-input-node","group":5}}', 'invalid_group'],
      ['a 300-character group', zincatiBody('bad-input-node', 'g'.repeat(300)), 'invalid_group'],
      ['an empty id', zincatiBody('', 'bad-input'), 'invalid_id'],
      ['no id', '{"client_params":{"group":"bad-input"}}', 'invalid_id'],
      ['a numeric id', '{"client_params":{"id":42,"group":"bad-input"}}', 'invalid_id'],
      ['an id with /', zincatiBody('a/b', 'bad-input'), 'invalid_id'],
      ['an id with a newline', zincatiBody('a\nb', 'bad-input'), 'invalid_id'],
      ['a 256-character id', zincatiBody('i'.repeat(256), 'bad-input'), 'invalid_id'],
      [
        'id and node_uuid that differ',
        '{"client_params":{"id":"one","node_uuid":"two","group":"bad-input"}}',
        'invalid_id',
      ],
    ])('answers %s with 400 and changes nothing', async (_what, body, errorKind) => {
      for (const path of [PRE, STEADY]) expectKind(await fleet(s, path, body), 400, errorKind);
      expect(await holders(s, 'fleetlock-bad-input')).toBeUndefined();
      expect(await s.server.store.hostDirectory.getByName('bad-input-node')).toBeUndefined();
    });

    it('reads the body whatever Content-Type comes with it, and takes doubled or trailing slashes', async () => {
      const asJson = await fleet(s, PRE, zincatiBody('ct-node', 'ct'), {
        headers: { 'content-type': 'application/json' },
      });
      expect(asJson.status).toBe(200);
      // curl -d sends application/x-www-form-urlencoded
      const asForm = await fleet(s, '//v1/pre-reboot', zincatiBody('ct-node', 'ct'), {
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      });
      expect(asForm.status).toBe(200);
      expect((await fleet(s, '/v1/steady-state/', zincatiBody('ct-node', 'ct'))).status).toBe(200);
      expect(await holders(s, 'fleetlock-ct')).toEqual([]);
    });

    it('refuses other methods and huge bodies with a kind', async () => {
      const get = await s.request('GET', PRE, { headers: { 'fleet-lock-protocol': 'true' } });
      expectKind(get, 405, 'method_not_allowed');
      expect(get.headers.allow).toBe('POST');
      const huge = JSON.stringify({ client_params: { id: 'huge', group: 'huge' }, pad: 'x'.repeat(40_000) });
      expectKind(await fleet(s, PRE, huge), 413, 'body_too_large');
      expect(await holders(s, 'fleetlock-huge')).toBeUndefined();
    });

    it('refuses disabled locks and barred hosts as failed_lock', async () => {
      const created = await s.asAdmin('POST', '/api/dlmlocks', {
        body: { dlmlock: { name: 'fleetlock-off', enabled: false } },
      });
      expect(created.status).toBe(201);
      const off = await fleet(s, PRE, zincatiBody('off-node', 'off'));
      expectKind(off, 409, 'failed_lock');
      expect(off.json.value).toMatch(/disabled/);

      await s.server.store.touchHost({ name: 'barred-node', autoRegister: true });
      await s.server.store.hostDirectory.setCanAcquire('barred-node', false, {
        userId: null,
        login: '(test)',
        address: null,
      });
      const barred = await fleet(s, PRE, zincatiBody('barred-node', 'barred'));
      expectKind(barred, 409, 'failed_lock');
      expect(barred.json.value).toMatch(/can_acquire_locks/);
      expect(await holders(s, 'fleetlock-barred')).toEqual([]);
    });

    it('refuses an undeclared group with unknown_group and writes nothing', async () => {
      const before = await tableCounts(s);
      for (const path of [PRE, STEADY]) {
        expectKind(await fleet(s, path, zincatiBody('stranger-1', 'nowhere')), 404, 'unknown_group');
      }
      expect(await holders(s, 'fleetlock-nowhere')).toBeUndefined();
      expect(await tableCounts(s)).toEqual(before);
    });

    it('serves an undeclared group once an operator created its lock', async () => {
      const created = await s.asAdmin('POST', '/api/dlmlocks', {
        body: { dlmlock: { name: 'fleetlock-ops', max_holders: 1 } },
      });
      expect(created.status).toBe(201);
      expect((await fleet(s, PRE, zincatiBody('ops-node', 'ops'))).status).toBe(200);
      expect(await holders(s, 'fleetlock-ops')).toEqual(['ops-node']);
    });

    it('a flood of strangers grows nothing: unknown groups, and refused ids on a held group', async () => {
      expect((await fleet(s, PRE, zincatiBody('flood-holder', 'flood'))).status).toBe(200);
      const before = await tableCounts(s);
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) =>
          fleet(s, PRE, zincatiBody(`flood-${i}`, i % 2 ? `random-${i}` : 'flood')).then((r) => r.status),
        ),
      );
      expect(answers.filter((status) => status === 200)).toEqual([]);
      expect(await tableCounts(s)).toEqual(before);
      expect(await s.server.store.hostDirectory.getByName('flood-0')).toBeUndefined();
      expect((await fleet(s, STEADY, zincatiBody('flood-holder', 'flood'))).status).toBe(200);
    });
  });

  describe('defaultMaxHolders 2, allowedNetworks, behind a trusted proxy', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, {
        trustedProxies: ['127.0.0.1'],
        fleetlock: {
          defaultMaxHolders: 2,
          groups: { default: {}, xff: {}, pair: { maxHolders: 1 } },
          allowedNetworks: ['127.0.0.1/32', '10.0.0.0/8'],
        },
      });
    });
    afterAll(() => s?.close());

    it('lets two nodes of a group reboot at once, not three', async () => {
      expect((await fleet(s, PRE, zincatiBody('n1'))).status).toBe(200);
      expect((await fleet(s, PRE, zincatiBody('n2'))).status).toBe(200);
      const third = await fleet(s, PRE, zincatiBody('n3'));
      expectKind(third, 409, 'failed_lock');
      expect(third.json.value).toMatch(/2 slots/);
      expect(await holders(s, 'fleetlock-default')).toEqual(['n1', 'n2']);
      expect((await s.asAdmin('GET', '/api/dlmlocks/fleetlock-default')).json.max_holders).toBe(2);
      // a group's own maxHolders wins over the default
      expect((await fleet(s, PRE, zincatiBody('p1', 'pair'))).status).toBe(200);
      expect((await s.asAdmin('GET', '/api/dlmlocks/fleetlock-pair')).json.max_holders).toBe(1);
    });

    it('refuses clients outside the allowed networks before reading the body', async () => {
      const r = await fleet(s, PRE, zincatiBody('outsider', 'net'), { localAddress: '127.0.0.2' });
      expectKind(r, 403, 'forbidden_client');
      expect(r.json.value).toContain('127.0.0.2');
      // even a request that would be a 400 is refused as a client first
      expectKind(await fleet(s, PRE, '{', { localAddress: '127.0.0.2' }), 403, 'forbidden_client');
      expect(await holders(s, 'fleetlock-net')).toBeUndefined();
    });

    it("judges a trusted proxy's client by X-Forwarded-For, and nobody else's", async () => {
      const via = (forwarded: string, localAddress?: string) =>
        fleet(s, PRE, zincatiBody(`xff-${forwarded}`, 'xff'), {
          headers: { 'x-forwarded-for': forwarded },
          localAddress,
        });
      expectKind(await via('192.0.2.7'), 403, 'forbidden_client');
      expect((await via('10.1.2.3')).status).toBe(200);
      // 127.0.0.2 is no trusted proxy: what it forwards does not count
      expectKind(await via('127.0.0.1', '127.0.0.2'), 403, 'forbidden_client');
      expectKind(await via('not-an-address'), 403, 'forbidden_client');
      expect(await holders(s, 'fleetlock-xff')).toEqual(['xff-10.1.2.3']);
    });
  });

  describe('requireClientCertificate (with hosts.autoRegister off)', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, {
        hosts: { autoRegister: false },
        fleetlock: { requireClientCertificate: true, groups: { tls: {}, 'tls-reg': {} } },
      });
      await s.server.store.touchHost({ name: 'coreos-01', autoRegister: true });
    });
    afterAll(() => s?.close());

    const asNode = async (host: string, path: string, body: unknown, opts: RequestOptions = {}) =>
      fleet(s, path, body, { ...opts, cert: await s.host(host) });

    it('refuses a node without a certificate', async () => {
      expectKind(await fleet(s, PRE, zincatiBody('no-cert', 'tls')), 403, 'client_certificate_required');
      expect(await holders(s, 'fleetlock-tls')).toBeUndefined();
    });

    it("makes the certificate's CN the holder, whatever id the body names", async () => {
      expect((await asNode('coreos-01', PRE, zincatiBody('machine-id-1234', 'tls'))).status).toBe(200);
      expect(await holders(s, 'fleetlock-tls')).toEqual(['coreos-01']);
      // another certificate naming the same id is another holder, so it is refused
      await s.server.store.touchHost({ name: 'coreos-02', autoRegister: true });
      const other = await asNode('coreos-02', PRE, zincatiBody('machine-id-1234', 'tls'));
      expectKind(other, 409, 'failed_lock');
      expect((await asNode('coreos-01', STEADY, zincatiBody('machine-id-1234', 'tls'))).status).toBe(200);
      expect(await holders(s, 'fleetlock-tls')).toEqual([]);
      expect(await s.server.store.hostDirectory.getByName('machine-id-1234')).toBeUndefined();
    });

    it('keeps the usual registration rules for certificates and still checks the request', async () => {
      const stranger = await asNode('coreos-99', PRE, zincatiBody('x', 'tls-reg'));
      expectKind(stranger, 403, 'unknown_host');
      expect(await s.server.store.hostDirectory.getByName('coreos-99')).toBeUndefined();
      const noHeader = await s.request('POST', PRE, {
        body: zincatiBody('x', 'tls-reg'),
        noContentType: true,
        cert: await s.host('coreos-01'),
      });
      expectKind(noHeader, 400, 'missing_header');
      expectKind(await asNode('coreos-01', PRE, '{"client_params":{}}'), 400, 'invalid_id');
      expect(await holders(s, 'fleetlock-tls-reg')).toBeUndefined();
    });
  });

  describe('enabled: false', () => {
    let s: TestServer;
    beforeAll(async () => {
      s = await startTestServer(kind, { fleetlock: { enabled: false } });
    });
    afterAll(() => s?.close());

    it('answers 404 with a kind and takes no lock', async () => {
      expectKind(await fleet(s, PRE, zincatiBody('off')), 404, 'fleetlock_disabled');
      expect(await holders(s, 'fleetlock-default')).toBeUndefined();
    });
  });
});

describe('FleetLock configuration', () => {
  it('has safe defaults and reads KEYHOLDER_FLEETLOCK_* from the environment', () => {
    expect(loadConfig({ env: {} }).fleetlock).toEqual({
      enabled: true,
      defaultMaxHolders: 1,
      groups: { default: {} },
      allowedNetworks: [],
      requireClientCertificate: false,
    });
    const config = loadConfig({
      env: {
        KEYHOLDER_FLEETLOCK_ENABLED: 'false',
        KEYHOLDER_FLEETLOCK_DEFAULT_MAX_HOLDERS: '3',
        KEYHOLDER_FLEETLOCK_GROUPS: 'workers, db',
        KEYHOLDER_FLEETLOCK_ALLOWED_NETWORKS: '10.0.0.0/8, 192.0.2.7',
        KEYHOLDER_FLEETLOCK_REQUIRE_CLIENT_CERTIFICATE: 'yes',
      },
    });
    expect(config.fleetlock).toEqual({
      enabled: false,
      defaultMaxHolders: 3,
      groups: { workers: {}, db: {} },
      allowedNetworks: ['10.0.0.0/8', '192.0.2.7'],
      requireClientCertificate: true,
    });
  });

  it('names the key of a bad value', () => {
    expect(() => loadConfig({ env: { KEYHOLDER_FLEETLOCK_ALLOWED_NETWORKS: '10.0.0.0/99' } })).toThrow(
      /fleetlock\.allowedNetworks/,
    );
    expect(() => loadConfig({ env: { KEYHOLDER_FLEETLOCK_DEFAULT_MAX_HOLDERS: '0' } })).toThrow(ConfigError);
  });
});
