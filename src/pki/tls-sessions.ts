// TLS session resumption for fleets of curl clients: a host that reconnects every few seconds
// should not pay a full handshake (an RSA-4096 signature check of its certificate) each time.
// Two kinds are offered: tickets (the server keeps nothing; the client brings the session,
// sealed with the ticket keys) and session IDs (TLS 1.2 clients without tickets; the server
// keeps the session in a bounded in-memory cache).
//
// A resumed session carries the original handshake's verified client certificate, so it must
// not outlive the trust it was verified against: the ticket keys and the session ID context are
// derived from the CA bundle and CRL, so a CA rotation or a new CRL makes every earlier session
// unresumable (a full handshake, verified against the new material), and the ID cache is
// emptied on every reload.
//
// Ticket keys come from a secret: by default random per process, so a ticket resumes only on the
// instance that issued it. Several instances behind one load balancer can share the secret
// (`tls.ticketKeyFile`): a host whose next connection lands on another instance then still
// resumes. Keys are rotated every hour (derived from the hour's number, so instances sharing the
// secret rotate together without talking to each other); a stolen key opens at most one hour of
// tickets.
import { createHash, hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Server as TlsServer } from 'node:tls';

/** tickets sealed with one key set are accepted for this long (keys change on the hour) */
export const TICKET_KEY_ROTATION_MS = 3_600_000;
/** a secret shorter than this is refused: the keys would be guessable */
export const MIN_TICKET_SECRET_BYTES = 32;

/** What a resumed session must still agree with: the CA bundle and the CRL. */
export function trustFingerprint(ca: Buffer, crl?: Buffer): Buffer {
  return createHash('sha256')
    .update(ca)
    .update('\0')
    .update(crl ?? '')
    .digest();
}

/**
 * OpenSSL refuses to resume a session whose ID context differs from the server's. Node's default
 * is a hash of the process's command line, which differs between instances and never changes on
 * a reload; this one is the same for instances with the same trust and changes with it.
 */
export function sessionIdContext(trust: Buffer): string {
  return `keyholder-${trust.toString('hex').slice(0, 22)}`; // OpenSSL's limit is 32 bytes
}

/** The 48 bytes Node wants (name, HMAC and AES keys) for one hour and one trust. */
export function ticketKeys(secret: Buffer, trust: Buffer, hour: number): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, trust, `keyholder tls ticket keys ${hour}`, 48));
}

export function currentHour(now = Date.now()): number {
  return Math.floor(now / TICKET_KEY_ROTATION_MS);
}

/** The shared secret from `tls.ticketKeyFile`, or a random one for this process alone. */
export function readTicketSecret(path: string | undefined): Buffer {
  if (!path) return randomBytes(MIN_TICKET_SECRET_BYTES);
  let secret: Buffer;
  try {
    secret = readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read TLS ticket key file ${path}: ${(err as Error).message}`);
  }
  if (secret.length < MIN_TICKET_SECRET_BYTES) {
    throw new Error(
      `TLS ticket key file ${path} holds ${secret.length} bytes; it needs at least ` +
        `${MIN_TICKET_SECRET_BYTES} random bytes (e.g. openssl rand -base64 48)`,
    );
  }
  return secret;
}

const TLS13 = 0x0304;

/**
 * The protocol version of a session as OpenSSL serialises it (SSL_SESSION_ASN1: a SEQUENCE
 * that starts with INTEGER 1, the format version, then INTEGER ssl_version). Only this fixed
 * prefix is read; anything else gives undefined and the session is kept.
 */
export function sessionProtocol(der: Buffer): number | undefined {
  if (der[0] !== 0x30 || der.length < 2) return undefined;
  const lengthBytes = der[1]! & 0x80 ? der[1]! & 0x7f : 0;
  const body = 2 + lengthBytes;
  const prefix = der.subarray(body, body + 7);
  if (prefix.length < 7 || !prefix.subarray(0, 5).equals(Buffer.from([0x02, 0x01, 0x01, 0x02, 0x02]))) {
    return undefined;
  }
  return prefix.readUInt16BE(5);
}

/**
 * Session IDs: Node keeps no server-side session cache of its own, it asks the application
 * (`newSession` / `resumeSession`). Bounded by count and by age; the oldest go first.
 */
export class SessionIdCache {
  private readonly sessions = new Map<string, { data: Buffer; until: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.sessions.size;
  }

  attach(server: TlsServer): void {
    if (this.maxEntries === 0) return;
    server.on('newSession', (id: Buffer, data: Buffer, done: () => void) => {
      // TLS 1.3 resumes by ticket only; its sessions would just push TLS 1.2 ones out
      if (sessionProtocol(data) !== TLS13) this.put(id.toString('hex'), data);
      done();
    });
    server.on('resumeSession', (id: Buffer, done: (err: Error | null, data: Buffer | null) => void) => {
      done(null, this.get(id.toString('hex')));
    });
  }

  put(key: string, data: Buffer, now = Date.now()): void {
    this.sessions.delete(key);
    this.sessions.set(key, { data, until: now + this.ttlMs });
    while (this.sessions.size > this.maxEntries) {
      this.sessions.delete(this.sessions.keys().next().value!);
    }
  }

  get(key: string, now = Date.now()): Buffer | null {
    const entry = this.sessions.get(key);
    if (!entry) return null;
    if (entry.until <= now) {
      this.sessions.delete(key);
      return null;
    }
    return entry.data;
  }

  clear(): void {
    this.sessions.clear();
  }
}
