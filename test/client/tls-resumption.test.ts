// The client resumes its TLS session: every request has a connection of its own (nothing may
// keep the process alive), so without resumption each retry, window-wait wake-up and workflow
// step repeats the full handshake with the host's RSA key. The server's sessions carry the
// verified certificate, so a resumed request still acts as the same host. Real server, real
// certificates, both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DlmClient } from '../../client/src/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

describe.each(STORES)('the client resumes its TLS session on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  const clientFor = async (host: string, ca = Buffer.from(s.pki.ca.certPem)) => {
    const keyed = await s.host(host);
    return new DlmClient({
      url: s.url,
      tls: { cert: Buffer.from(keyed.certPem), key: Buffer.from(keyed.keyPem), ca },
    });
  };

  it('a second request resumes, and still acts as the host of the first handshake', async () => {
    const host = `resumer-${kind}.example.com`;
    const client = await clientFor(host);
    const lock = `resumed-${kind}`;
    expect(await client.show(lock)).toBeUndefined();
    expect(client.connections).toEqual({ opened: 1, resumed: 0 });

    const acquired = await client.acquire(lock);
    expect(acquired.ok).toBe(true);
    expect(client.connections).toEqual({ opened: 2, resumed: 1 });
    // the server took the resumed session's host, not some other
    const held = await s.asAdmin('GET', `/api/dlmlocks/${lock}`);
    expect(held.json.holders.map((h: { name: string }) => h.name)).toEqual([host]);

    const released = await client.release(lock);
    expect(released.ok).toBe(true);
    expect(client.connections).toEqual({ opened: 3, resumed: 2 });
  });

  it('each client keeps its own session: another host never resumes as the first', async () => {
    const first = await clientFor(`first-${kind}.example.com`);
    const second = await clientFor(`second-${kind}.example.com`);
    const lock = `own-sessions-${kind}`;
    expect((await first.acquire(lock)).ok).toBe(true);
    const refused = await second.acquire(lock);
    expect(refused.ok).toBe(false);
    expect(second.connections).toEqual({ opened: 1, resumed: 0 });
    expect((await first.release(lock)).ok).toBe(true);
    expect(first.connections.resumed).toBe(1);
  });

  it('a ticket the server no longer takes (CA/CRL reloaded) costs a full handshake, not a failure', async () => {
    const client = await clientFor(`restarted-${kind}.example.com`);
    const lock = `restarted-${kind}`;
    expect((await client.acquire(lock)).ok).toBe(true);
    s.server.reloadTls();
    // refreshing the lock it holds: the full handshake verified the same certificate
    const again = await client.acquire(lock);
    expect(again.ok).toBe(true);
    expect(client.connections).toEqual({ opened: 2, resumed: 0 });
    expect((await client.release(lock)).ok).toBe(true);
    expect(client.connections).toEqual({ opened: 3, resumed: 1 });
  });
});
