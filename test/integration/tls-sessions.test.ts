// TLS session resumption for fleets of curl clients: a resumed connection (TLS 1.3 ticket, or
// TLS 1.2 session ID) still acts as the host whose certificate the original handshake verified;
// a reload of the CA bundle/CRL ends resumption; instances sharing `tls.ticketKeyFile` resume
// each other's tickets, instances without it do not. Real certificates, real sockets, one
// connection per request as `curl` makes them.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type ConnectionOptions, type SecureVersion } from 'node:tls';
import { constants, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import type { KeyedCert } from '../../src/pki/x509.js';
import { startServer } from '../../src/server.js';
import { testPki } from '../support/pki.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

interface OneShot {
  status: number;
  body: string;
  reused: boolean;
  session: Buffer | undefined;
}

/** One request on a new connection, like `curl`: optionally resuming `session`. */
function oneShot(
  port: number,
  caPem: string,
  cert: KeyedCert,
  method: string,
  path: string,
  opts: { session?: Buffer; maxVersion?: SecureVersion; noTickets?: boolean } = {},
): Promise<OneShot> {
  const options: ConnectionOptions = {
    host: '127.0.0.1',
    port,
    servername: 'localhost',
    ca: caPem,
    cert: cert.certPem,
    key: cert.keyPem,
    session: opts.session,
    maxVersion: opts.maxVersion,
    // a TLS 1.2 client that does not take tickets resumes by session ID
    ...(opts.noTickets ? { secureOptions: constants.SSL_OP_NO_TICKET } : {}),
  };
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    let data = '';
    let reused = false;
    const socket = connect(options, () => {
      // asked now: after the close the socket has no TLS handle left to ask
      reused = socket.isSessionReused();
      socket.write(
        `${method} ${path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\n` +
          'content-length: 0\r\nconnection: close\r\n\r\n',
      );
    });
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 10 s')), 10_000);
    socket.on('session', (s: Buffer) => (session = s));
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (data += d));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(head.split(' ')[1]), body, reused, session });
    });
  });
}

const holderNames = (body: string) =>
  (JSON.parse(body) as { holders: { name: string }[] }).holders.map((h) => h.name);

const FLAVOURS = [
  { name: 'TLS 1.3 ticket', tls: { maxVersion: 'TLSv1.3' as const } },
  { name: 'TLS 1.2 session ID', tls: { maxVersion: 'TLSv1.2' as const, noTickets: true } },
  { name: 'TLS 1.2 ticket', tls: { maxVersion: 'TLSv1.2' as const } },
];

describe.each(STORES)('TLS session resumption (%s)', (kind) => {
  let s: TestServer;
  let crlPath: string;
  beforeAll(async () => {
    const pki = await testPki();
    // an empty CRL to begin with, so that a reload can bring one that revokes a host
    crlPath = await pki.crlRevoking([]);
    s = await startTestServer(kind, {
      tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath, crl: crlPath },
    });
  });
  afterAll(() => s?.close());

  const shot = async (
    host: string,
    method: string,
    path: string,
    opts: Parameters<typeof oneShot>[5] = {},
    server: TestServer = s,
  ) => oneShot(server.server.port, s.pki.ca.certPem, await s.host(host), method, path, opts);

  for (const { name, tls } of FLAVOURS) {
    it(`a resumed session (${name}) acquires and releases as the host of the first handshake`, async () => {
      const host = `resume-${kind}-${tls.maxVersion}-${tls.noTickets ? 'id' : 'ticket'}`;
      const lock = `/api/dlmlocks/${host}/lock`;
      const first = await shot(host, 'GET', '/api/dlmlocks', tls);
      expect(first.reused).toBe(false);
      expect(first.session).toBeDefined();

      const acquire = await shot(host, 'PUT', lock, { ...tls, session: first.session });
      expect(acquire.reused).toBe(true);
      expect(acquire.status).toBe(200);
      expect(holderNames(acquire.body)).toEqual([host]);

      const release = await shot(host, 'DELETE', lock, { ...tls, session: acquire.session ?? first.session });
      expect(release.reused).toBe(true);
      expect(release.status).toBe(200);
      expect(holderNames(release.body)).toEqual([]);
    });
  }

  it('after a CA/CRL reload no earlier session resumes, and a revoked host is refused', async () => {
    const host = `reload-${kind}`;
    const sessions = await Promise.all(
      FLAVOURS.map(async ({ tls }) => ({
        tls,
        session: (await shot(host, 'GET', '/api/dlmlocks', tls)).session,
      })),
    );
    for (const { tls, session } of sessions) {
      expect((await shot(host, 'GET', '/api/dlmlocks', { ...tls, session })).reused).toBe(true);
    }
    // the same files again: a reload alone ends resumption
    s.server.reloadTls();
    for (const { tls, session } of sessions) {
      const again = await shot(host, 'PUT', `/api/dlmlocks/reload-${kind}/lock`, { ...tls, session });
      expect(again.reused).toBe(false);
      expect(again.status).toBe(200);
    }
    // a CRL that revokes the host: its sessions from before must not carry it in
    const fresh = await Promise.all(
      FLAVOURS.map(async ({ tls }) => ({
        tls,
        session: (await shot(host, 'GET', '/api/dlmlocks', tls)).session,
      })),
    );
    writeFileSync(crlPath, readFileSync(await s.pki.crlRevoking([await s.host(host)])));
    s.server.reloadTls();
    try {
      for (const { tls, session } of fresh) {
        const refused = await shot(host, 'DELETE', `/api/dlmlocks/reload-${kind}/lock`, { ...tls, session });
        expect(refused.reused).toBe(false);
        expect(refused.status).toBe(401);
        expect(refused.body).toMatch(/revoked/);
      }
    } finally {
      writeFileSync(crlPath, readFileSync(await s.pki.crlRevoking([])));
      s.server.reloadTls();
    }
  });

  it('instances sharing tls.ticketKeyFile resume each other’s tickets; others do not', async () => {
    const keyFile = join(s.pki.dir, `ticket-${kind}.key`);
    writeFileSync(keyFile, randomBytes(48).toString('base64'), { mode: 0o600 });
    const tlsFiles = {
      cert: s.pki.serverCertPath,
      key: s.pki.serverKeyPath,
      ca: s.pki.caPath,
      crl: crlPath,
    };
    // two instances (each on a database of its own: only the TLS layer matters here); A has its
    // own copy of the CRL, so that A alone can be reloaded with a new one
    const crlOfA = join(s.pki.dir, `crl-a-${kind}.pem`);
    writeFileSync(crlOfA, readFileSync(crlPath));
    const a = await startTestServer(kind, { tls: { ...tlsFiles, crl: crlOfA, ticketKeyFile: keyFile } });
    const b = await startTestServer(kind, { tls: { ...tlsFiles, ticketKeyFile: keyFile } });
    const host = `shared-${kind}`;
    try {
      for (const tls of [{ maxVersion: 'TLSv1.3' as const }, { maxVersion: 'TLSv1.2' as const }]) {
        const onA = await shot(host, 'GET', '/api/dlmlocks', tls, a);
        const onB = await shot(
          host,
          'PUT',
          `/api/dlmlocks/${host}/lock`,
          { ...tls, session: onA.session },
          b,
        );
        expect(onB.reused).toBe(true);
        expect(onB.status).toBe(200);
        expect(holderNames(onB.body)).toEqual([host]);
        // the first server has its own random secret: a ticket from it means nothing here
        const onS = await shot(host, 'GET', '/api/dlmlocks', { ...tls, session: onA.session });
        expect(onS.reused).toBe(false);
        const released = await shot(host, 'DELETE', `/api/dlmlocks/${host}/lock`, tls, b);
        expect(released.status).toBe(200);
      }
      // a new CRL on A: B's tickets (still good on B) no longer resume on A
      const fromB = await shot(host, 'GET', '/api/dlmlocks', {}, b);
      expect((await shot(host, 'GET', '/api/dlmlocks', { session: fromB.session }, a)).reused).toBe(true);
      writeFileSync(crlOfA, readFileSync(await s.pki.crlRevoking([await s.host('someone-else')])));
      a.server.reloadTls();
      expect((await shot(host, 'GET', '/api/dlmlocks', { session: fromB.session }, a)).reused).toBe(false);
      expect((await shot(host, 'GET', '/api/dlmlocks', { session: fromB.session }, b)).reused).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a ticket key file shorter than 32 bytes is refused at start', async () => {
    const keyFile = join(s.pki.dir, `short-${kind}.key`);
    writeFileSync(keyFile, 'too short');
    const config = loadConfig({
      env: {},
      flags: {
        dataDir: mkdtempSync(join(tmpdir(), 'keyholder-ticket-')),
        host: '127.0.0.1',
        port: 0,
        database: { url: s.db.url },
        tls: {
          cert: s.pki.serverCertPath,
          key: s.pki.serverKeyPath,
          ca: s.pki.caPath,
          ticketKeyFile: keyFile,
        },
        log: { level: 'silent' },
      },
    });
    // the TLS material is read before the database is opened: nothing to clean up
    await expect(startServer(config)).rejects.toThrow(/at least 32 random bytes/);
  });
});
