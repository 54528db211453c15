// A stand-in for Foreman with foreman_dlm: real HTTPS that requires a client certificate and
// answers the host API exactly as the plugin does (lock JSON, the generic 412 body, 404 for an
// unknown lock on GET, auto-create on PUT/DELETE). It ignores `?wait=` like Rails does, so a
// client that passes against it works against a real Foreman.
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { KeyedCert } from '../../../src/pki/x509.js';

export interface StubLock {
  id: number;
  name: string;
  enabled: boolean;
  host: string | null;
  created_at: string;
  updated_at: string;
}

export interface SeenRequest {
  method: string;
  url: string;
  /** the lock name from the path, decoded */
  name: string | undefined;
  host: string | undefined;
  contentType: string | undefined;
  bodyLength: number;
}

export interface ForemanStub {
  url: string;
  locks: Map<string, StubLock>;
  requests: SeenRequest[];
  /** answer every request with this status and Foreman's error body for it */
  forceStatus: number | undefined;
  setLock(name: string, patch: Partial<Pick<StubLock, 'enabled' | 'host'>>): StubLock;
  close(): Promise<void>;
}

/** foreman_dlm's 412 body, byte for byte (SPEC section 2). */
export function preconditionFailed(id: number) {
  return { error: { id, message: 'Precondition failed. Lock is in invalid state for this operation.' } };
}

function foremanTime(d = new Date()): string {
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

const HOST_IDS = new Map<string, number>();
function hostId(name: string): number {
  if (!HOST_IDS.has(name)) HOST_IDS.set(name, HOST_IDS.size + 1);
  return HOST_IDS.get(name)!;
}

function render(lock: StubLock, me: string | undefined): unknown {
  return {
    id: lock.id,
    host_id: lock.host ? hostId(lock.host) : null,
    name: lock.name,
    enabled: lock.enabled,
    type: 'ForemanDlm::Dlmlock::Update',
    created_at: lock.created_at,
    updated_at: lock.updated_at,
    host: lock.host ? { name: lock.host, self: lock.host === me } : null,
  };
}

export async function startForemanStub(ca: KeyedCert, server: KeyedCert): Promise<ForemanStub> {
  const locks = new Map<string, StubLock>();
  const requests: SeenRequest[] = [];
  let nextId = 1;
  const create = (name: string): StubLock => {
    const now = foremanTime();
    const lock = { id: nextId++, name, enabled: true, host: null, created_at: now, updated_at: now };
    locks.set(name, lock);
    return lock;
  };

  const srv = https.createServer(
    { key: server.keyPem, cert: server.certPem, ca: ca.certPem, requestCert: true, rejectUnauthorized: true },
    (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const peer = (req.socket as TLSSocket).getPeerCertificate();
        const me = typeof peer.subject?.CN === 'string' ? peer.subject.CN : undefined;
        const m = /^\/api(?:\/v[12])?\/+dlmlocks\/+([^/?]+)\/lock(?:\?.*)?$/.exec(req.url ?? '');
        const name = m ? decodeURIComponent(m[1]!) : undefined;
        requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          name,
          host: me,
          contentType: req.headers['content-type'],
          bodyLength: Buffer.concat(chunks).length,
        });
        const send = (status: number, body: unknown) => {
          res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
          res.end(JSON.stringify(body));
        };
        if (stub.forceStatus !== undefined) {
          const message = stub.forceStatus === 401 ? 'Unable to authenticate user ' : 'Access denied';
          return send(stub.forceStatus, { error: { message } });
        }
        if (name === undefined)
          return send(404, { message: 'Route overriden by Katello, use the /katello API endpoint instead.' });
        let lock = locks.get(name);
        if (req.method === 'GET') {
          if (!lock) return send(404, { error: { message: `Resource dlmlock not found by id '${name}'` } });
          return send(200, render(lock, me));
        }
        lock ??= create(name);
        if (req.method === 'PUT') {
          if (!lock.enabled || (lock.host !== null && lock.host !== me))
            return send(412, preconditionFailed(lock.id));
          lock.host = me ?? null;
        } else if (req.method === 'DELETE') {
          if (!lock.enabled || (lock.host !== null && lock.host !== me))
            return send(412, preconditionFailed(lock.id));
          lock.host = null;
        } else {
          return send(404, { error: { message: 'not found' } });
        }
        lock.updated_at = foremanTime();
        return send(200, render(lock, me));
      });
    },
  );
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as AddressInfo;

  const stub: ForemanStub = {
    url: `https://127.0.0.1:${port}`,
    locks,
    requests,
    forceStatus: undefined,
    setLock(name, patch) {
      const lock = locks.get(name) ?? create(name);
      Object.assign(lock, patch);
      return lock;
    },
    close: () =>
      new Promise((resolve) => {
        srv.closeAllConnections();
        srv.close(() => resolve());
      }),
  };
  return stub;
}
