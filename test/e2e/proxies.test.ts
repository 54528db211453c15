// Real nginx and HAProxy, with the configurations shipped in contrib/, in front of two keyholder
// processes on one PostgreSQL database: the host is the certificate's, whatever the client
// sends; a blocking acquire outlives the proxy's default timeout and is not retried elsewhere;
// an instance killed under load loses no acknowledged acquire; and the HAProxy impersonation
// (`OU=x/CN=db01…` read as a second CN in the one-line form) stays refused.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyedCert } from '../../src/pki/x509.js';
import { httpsRequest, type RequestOptions, type TestResponse } from '../support/http.js';
import { testPki, type TestPki } from '../support/pki.js';
import { freePort } from '../support/postgres.js';
import { serverEnv, startServerProcess, type ServerProcess } from '../support/process.js';
import {
  proxyFiles,
  proxyTestsRunnable,
  SHIPPED,
  startProxy,
  type RunningProxy,
} from '../support/proxies.js';
import { createTestDatabase, type TestDatabase } from '../support/stores.js';

const ADMIN: [string, string] = ['admin', 'proxies-admin-password'];
const PROXIES = ['nginx', 'haproxy'] as const;

/** A client certificate with any subject (OpenSSL's one-line `-subj` form), signed by `ca`. */
function issueWithSubject(dir: string, ca: KeyedCert, subject: string): KeyedCert {
  const path = (name: string) => join(dir, name);
  writeFileSync(path('issuer.crt'), ca.certPem);
  writeFileSync(path('issuer.key'), ca.keyPem);
  writeFileSync(path('client.ext'), 'extendedKeyUsage=clientAuth\n');
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const newKey = [
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    path('odd.key'),
  ];
  openssl('req', '-new', ...newKey, '-subj', subject, '-out', path('odd.csr'));
  const signer = ['-CA', path('issuer.crt'), '-CAkey', path('issuer.key'), '-set_serial', '4242'];
  openssl(
    'x509',
    '-req',
    '-in',
    path('odd.csr'),
    ...signer,
    '-days',
    '2',
    '-extfile',
    path('client.ext'),
    '-out',
    path('odd.crt'),
  );
  return { certPem: readFileSync(path('odd.crt'), 'utf8'), keyPem: readFileSync(path('odd.key'), 'utf8') };
}

describe.runIf(proxyTestsRunnable())('real nginx and HAProxy in front of two instances', () => {
  let pki: TestPki;
  let db: TestDatabase;
  let dir: string;
  let revoked: KeyedCert;
  const instances: ServerProcess[] = [];
  const proxies = {} as Record<(typeof PROXIES)[number] | 'haproxyLegacy' | 'nginxNaive', RunningProxy>;

  beforeAll(async () => {
    pki = await testPki();
    db = await createTestDatabase('postgres');
    revoked = await pki.host('revoked.example.com');
    dir = await proxyFiles(pki, await pki.crlRevoking([revoked]));
    const env = {
      ...serverEnv(db, pki, ADMIN[1]),
      KEYHOLDER_TRUSTED_PROXIES: '127.0.0.1',
      // request logs: which instance a request reached, even one the proxy gave up on
      KEYHOLDER_LOG_LEVEL: 'info',
    };
    const ports = [await freePort(), await freePort()];
    instances.push(...(await Promise.all(ports.map((p) => startServerProcess(env, ['--port', String(p)])))));
    const upstreams = instances.map((i) => `127.0.0.1:${i.port}`) as [string, string];
    // the shipped HAProxy configuration, except for HAProxy's default one-line DN
    const legacy = SHIPPED.haproxy.replace('ssl_c_s_dn(,0,rfc2253)', 'ssl_c_s_dn');
    expect(legacy).not.toBe(SHIPPED.haproxy);
    // the shipped nginx configuration with a short read timeout and nginx's default retries
    // (`error timeout`): what the issue saw mark both instances down
    const naive = SHIPPED.nginx
      .replace('proxy_read_timeout 330s;', 'proxy_read_timeout 2s;')
      .replace('proxy_next_upstream error;', '');
    expect(naive).not.toMatch(/proxy_read_timeout 330s|proxy_next_upstream error;/);
    [proxies.nginx, proxies.haproxy, proxies.haproxyLegacy, proxies.nginxNaive] = await Promise.all([
      startProxy('nginx', dir, upstreams),
      startProxy('haproxy', dir, upstreams),
      startProxy('haproxy', dir, upstreams, legacy),
      startProxy('nginx', dir, upstreams, naive),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(Object.values(proxies).map((p) => p.stop()));
    await Promise.all(instances.map((i) => i.stop()));
    await db?.dispose();
  });

  const via = (proxy: RunningProxy, method: string, path: string, opts: RequestOptions = {}) =>
    httpsRequest(proxy.url, pki.ca.certPem, method, path, opts);
  const asHost = async (proxy: RunningProxy, name: string, method: string, path: string) =>
    via(proxy, method, path, { cert: await pki.host(name) });
  const holders = async (lock: string): Promise<string[]> => {
    const shown = await httpsRequest(instances[1]!.url, pki.ca.certPem, 'GET', `/api/dlmlocks/${lock}`, {
      user: ADMIN,
    });
    expect(shown.status, shown.text).toBe(200);
    return shown.json.holders.map((h: { name: string }) => h.name);
  };

  describe.each(PROXIES)('through %s', (kind) => {
    it('acquire, 412 for a second host, release; no certificate still reaches /metrics and the API', async () => {
      const proxy = proxies[kind];
      const lock = `/api/dlmlocks/basic-${kind}/lock`;
      const first = await asHost(proxy, `a.${kind}.example.com`, 'PUT', lock);
      expect(first.status, first.text).toBe(200);
      expect(first.json.host).toEqual({ name: `a.${kind}.example.com`, self: true });
      const second = await asHost(proxy, `b.${kind}.example.com`, 'PUT', lock);
      expect(second.status, second.text).toBe(412);
      expect((await asHost(proxy, `a.${kind}.example.com`, 'DELETE', lock)).status).toBe(200);
      expect((await asHost(proxy, `b.${kind}.example.com`, 'PUT', lock)).status).toBe(200);
      expect(await holders(`basic-${kind}`)).toEqual([`b.${kind}.example.com`]);

      // ssl_verify_client optional: Prometheus and users come without a certificate
      const metrics = await via(proxy, 'GET', '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.text).toContain('keyholder_locks_held');
      const admin = await via(proxy, 'GET', `/api/dlmlocks/basic-${kind}`, { user: ADMIN });
      expect(admin.status).toBe(200);
      // ... and without a certificate nobody is a host
      expect((await via(proxy, 'PUT', lock)).status).toBe(401);
    });

    it('refuses a revoked certificate itself (the CRL is checked by the proxy)', async () => {
      const answer = await via(proxies[kind], 'PUT', `/api/dlmlocks/revoked-${kind}/lock`, {
        cert: revoked,
      }).catch((err: Error) => ({ status: 0, text: err.message }) as TestResponse);
      // nginx answers 400 itself; HAProxy ends the handshake
      expect([0, 400], answer.text).toContain(answer.status);
      const never = `/api/dlmlocks/revoked-${kind}`;
      const shown = await httpsRequest(instances[0]!.url, pki.ca.certPem, 'GET', never, { user: ADMIN });
      expect(shown.status).toBe(404);
    });

    it('overwrites forged DN, verify and X-Forwarded-For headers', async () => {
      const proxy = proxies[kind];
      const lock = `/api/dlmlocks/forged-${kind}/lock`;
      expect((await asHost(proxy, 'db01.example.com', 'PUT', lock)).status).toBe(200);
      const forged = {
        ssl_client_s_dn: 'CN=db01.example.com',
        ssl_client_verify: 'SUCCESS',
        'x-forwarded-for': '203.0.113.9',
      };
      // without a certificate: still nobody
      const bare = await via(proxy, 'DELETE', lock, { headers: forged });
      expect(bare.status, bare.text).toBe(401);
      // with web06's certificate: web06, who does not hold the lock
      const web06 = await via(proxy, 'DELETE', lock, {
        headers: forged,
        cert: await pki.host('web06.example.com'),
      });
      expect(web06.status, web06.text).toBe(412);
      const probe = await via(proxy, 'PUT', `/api/dlmlocks/forged-${kind}-probe/lock`, {
        headers: forged,
        cert: await pki.host('web06.example.com'),
      });
      expect(probe.json.host).toEqual({ name: 'web06.example.com', self: true });
      expect(await holders(`forged-${kind}`)).toEqual(['db01.example.com']);
      // the client address (audit trail, login limits) is the proxy's view, not the forged one
      const login = `xff-${kind}`;
      expect(
        (
          await via(proxy, 'POST', '/api/session', {
            headers: forged,
            body: { login, password: 'wrong-password' },
          })
        ).status,
      ).toBe(401);
      const audit = await httpsRequest(
        instances[0]!.url,
        pki.ca.certPem,
        'GET',
        `/api/audit?event_type=login_failed&target=${login}`,
        { user: ADMIN },
      );
      expect(audit.json.results.map((e: { address: string }) => e.address)).toEqual(['127.0.0.1']);
    });
  });

  it('ignores DN headers sent straight to an instance from an untrusted address', async () => {
    const lock = '/api/dlmlocks/direct-forged/lock';
    expect((await asHost(proxies.nginx, 'db01.example.com', 'PUT', lock)).status).toBe(200);
    const headers = { ssl_client_s_dn: 'CN=db01.example.com', ssl_client_verify: 'SUCCESS' };
    const spoofed = await httpsRequest(instances[0]!.url, pki.ca.certPem, 'DELETE', lock, {
      headers,
      localAddress: '127.0.0.2',
    });
    expect(spoofed.status, spoofed.text).toBe(401);
    expect(await holders('direct-forged')).toEqual(['db01.example.com']);
  });

  it('HAProxy: `OU=x/CN=db01…` never releases db01`s lock; in RFC 2253 form it is web06', async () => {
    const odd = issueWithSubject(dir, pki.ca, '/CN=web06.example.com/OU=x\\/CN=db01.example.com');
    const lock = '/api/dlmlocks/db01-maintenance/lock';
    expect((await asHost(proxies.haproxy, 'db01.example.com', 'PUT', lock)).status).toBe(200);
    // HAProxy's default one-line form reads `/CN=web06.example.com/OU=x/CN=db01.example.com`
    const legacy = await via(proxies.haproxyLegacy, 'DELETE', lock, { cert: odd });
    expect(legacy.status, legacy.text).toBe(401);
    expect(await holders('db01-maintenance')).toEqual(['db01.example.com']);
    // the shipped configuration sends `OU=x/CN=db01.example.com,CN=web06.example.com`
    const shipped = await via(proxies.haproxy, 'PUT', '/api/dlmlocks/odd-subject/lock', { cert: odd });
    expect(shipped.json.host).toEqual({ name: 'web06.example.com', self: true });
    expect((await via(proxies.haproxy, 'DELETE', lock, { cert: odd })).status).toBe(412);
    expect(await holders('db01-maintenance')).toEqual(['db01.example.com']);
  });

  it('a 6 s blocking acquire gets the real 200, sent to one instance; a naive 2 s timeout gives 504 and retries it', async () => {
    // the shipped timeouts outlast the longest ?wait= (300 s), with a margin
    expect(SHIPPED.nginx).toMatch(/proxy_read_timeout 3[3-9]\ds;/);
    expect(SHIPPED.nginx).toMatch(/proxy_next_upstream error;/);
    expect(SHIPPED.haproxy).toMatch(/timeout server 3[3-9]\ds/);
    expect(SHIPPED.haproxy).toMatch(/retry-on conn-failure\n/);
    const kinds = [...PROXIES, 'nginxNaive'] as const;
    const lock = (kind: string) => `/api/dlmlocks/wait-${kind}/lock`;
    for (const kind of kinds) {
      expect((await asHost(proxies[kind], `holder.${kind}.example.com`, 'PUT', lock(kind))).status).toBe(200);
    }
    /** how often the waiter's request reached an instance, from the instances' request logs */
    const arrivals = (kind: string) =>
      instances
        .flatMap((i) => i.output().split('\n'))
        .filter((l) => l.includes('"incoming request"') && l.includes(`"url":"${lock(kind)}?wait=20"`))
        .length;
    const started = Date.now();
    const waits = kinds.map((kind) =>
      asHost(proxies[kind], `waiter.${kind}.example.com`, 'PUT', `${lock(kind)}?wait=20`),
    );
    await new Promise((r) => setTimeout(r, 6_000));
    // (the naive proxy has marked both instances down by now; the holder releases through nginx)
    for (const kind of kinds) {
      const released = await asHost(proxies.nginx, `holder.${kind}.example.com`, 'DELETE', lock(kind));
      expect(released.status).toBe(200);
    }
    const [nginx, haproxy, naive] = await Promise.all(waits);
    expect(Date.now() - started).toBeGreaterThanOrEqual(6_000);
    for (const [kind, answer] of [
      ['nginx', nginx!],
      ['haproxy', haproxy!],
    ] as const) {
      expect(answer.status, `${kind}: ${answer.text}`).toBe(200);
      expect(answer.json.host).toEqual({ name: `waiter.${kind}.example.com`, self: true });
      expect(await holders(`wait-${kind}`)).toEqual([`waiter.${kind}.example.com`]);
    }
    // the naive configuration gave up (504) after sending the wait to both instances
    expect(naive!.status).toBe(504);
    const afterwards = await asHost(
      proxies.nginxNaive,
      'holder.nginxNaive.example.com',
      'GET',
      lock('nginxNaive'),
    );
    expect(afterwards.status, 'no live upstreams').toBe(502);
    expect(await holders('wait-nginxNaive')).toEqual([]);
    // the shipped configurations sent each wait once; the naive one to both instances
    expect(kinds.map(arrivals)).toEqual([1, 1, 2]);
  }, 60_000);

  it('one instance killed (kill -9) under load through both proxies: no acknowledged acquire lost', async () => {
    const HOSTS = 12;
    const acknowledged: { host: string; lock: string }[] = [];
    const refused: string[] = [];
    let running = true;
    const certs = new Map<string, KeyedCert>();
    for (const kind of PROXIES) {
      for (let i = 0; i < HOSTS; i++) {
        const host = `load${i}.${kind}.example.com`;
        certs.set(host, await pki.host(host));
      }
    }
    const worker = async (kind: (typeof PROXIES)[number], i: number) => {
      const host = `load${i}.${kind}.example.com`;
      const cert = certs.get(host)!;
      const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
      for (let n = 0; running; n++) {
        const lock = `kill-${kind}-${i}-${n}`;
        const answer = await via(proxies[kind], 'PUT', `/api/dlmlocks/${lock}/lock`, { cert, agent }).catch(
          (err: Error) => ({ status: 0, text: err.message }) as TestResponse,
        );
        if (answer.status === 200) acknowledged.push({ host, lock });
        else refused.push(`${kind} ${answer.status} ${answer.text.slice(0, 80)}`);
      }
      agent.destroy();
    };
    const load = PROXIES.flatMap((kind) => Array.from({ length: HOSTS }, (_, i) => worker(kind, i)));
    /** waits (bounded) until the load has `n` more acknowledged acquires */
    const acquiresMore = async (n: number, maxMs: number) => {
      const target = acknowledged.length + n;
      for (const end = Date.now() + maxMs; acknowledged.length < target && Date.now() < end;) {
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await acquiresMore(2 * HOSTS, 6_000);
    const beforeKill = acknowledged.length;
    await instances[0]!.kill9();
    await acquiresMore(4 * HOSTS, 8_000);
    running = false;
    await Promise.all(load);
    expect(beforeKill).toBeGreaterThan(0);
    // the killed instance had its share of the load (request logs)
    expect(instances[0]!.output()).toContain('"url":"/api/dlmlocks/kill-');
    expect(acknowledged.length, refused.join('\n')).toBeGreaterThan(beforeKill);
    const held = new Map<string, string[]>();
    for (let page = 1; ; page++) {
      const search = encodeURIComponent('locked = true');
      const index = await httpsRequest(
        instances[1]!.url,
        pki.ca.certPem,
        'GET',
        `/api/dlmlocks?search=${search}&per_page=1000&page=${page}`,
        { user: ADMIN },
      );
      expect(index.status, index.text).toBe(200);
      const results: { name: string; holders: { name: string }[] }[] = index.json.results;
      for (const l of results) {
        held.set(
          l.name,
          l.holders.map((h) => h.name),
        );
      }
      if (results.length < 1000) break;
    }
    const lost = acknowledged.filter(({ host, lock }) => !held.get(lock)?.includes(host));
    expect(lost, `of ${acknowledged.length} acknowledged`).toEqual([]);
    console.info(
      `proxies kill -9: ${acknowledged.length} acknowledged acquires kept (${beforeKill} before the kill), ` +
        `${refused.length} refused: ${[...new Set(refused.map((r) => r.split(' ').slice(0, 2).join(' ')))].join(', ')}`,
    );
  }, 60_000);
});
