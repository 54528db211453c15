// The pure parts of TLS session resumption (src/pki/tls-sessions.ts): which keys a ticket is
// sealed with, the bounded session-ID cache, and the protocol read off a serialised session.
// The behaviour over real sockets is in test/integration/tls-sessions.test.ts.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SessionIdCache,
  TICKET_KEY_ROTATION_MS,
  currentHour,
  sessionIdContext,
  sessionProtocol,
  ticketKeys,
  trustFingerprint,
} from '../../src/pki/tls-sessions.js';

describe('ticket keys', () => {
  const secret = randomBytes(48);
  const trust = trustFingerprint(Buffer.from('CA'), Buffer.from('CRL'));

  it('are the same for the same secret, trust and hour: instances sharing the secret agree', () => {
    expect(ticketKeys(secret, trust, 42)).toEqual(ticketKeys(Buffer.from(secret), trust, 42));
    expect(ticketKeys(secret, trust, 42)).toHaveLength(48);
  });

  it('change with the hour, the secret, the CA bundle and the CRL', () => {
    const base = ticketKeys(secret, trust, 42);
    expect(ticketKeys(secret, trust, 43)).not.toEqual(base);
    expect(ticketKeys(randomBytes(48), trust, 42)).not.toEqual(base);
    expect(ticketKeys(secret, trustFingerprint(Buffer.from('CA2'), Buffer.from('CRL')), 42)).not.toEqual(
      base,
    );
    expect(ticketKeys(secret, trustFingerprint(Buffer.from('CA'), undefined), 42)).not.toEqual(base);
  });

  it('the hour is counted in rotation periods', () => {
    expect(currentHour(TICKET_KEY_ROTATION_MS * 5 + 1)).toBe(5);
    expect(currentHour(TICKET_KEY_ROTATION_MS * 6 - 1)).toBe(5);
  });

  it('the session ID context follows the trust and fits OpenSSL’s 32 bytes', () => {
    const other = trustFingerprint(Buffer.from('CA2'));
    expect(sessionIdContext(trust)).not.toBe(sessionIdContext(other));
    expect(Buffer.byteLength(sessionIdContext(trust))).toBeLessThanOrEqual(32);
  });
});

describe('SessionIdCache', () => {
  it('keeps at most maxEntries, dropping the oldest', () => {
    const cache = new SessionIdCache(2, 60_000);
    cache.put('a', Buffer.from('1'), 0);
    cache.put('b', Buffer.from('2'), 0);
    cache.put('c', Buffer.from('3'), 0);
    expect(cache.size).toBe(2);
    expect(cache.get('a', 0)).toBeNull();
    expect(cache.get('c', 0)?.toString()).toBe('3');
  });

  it('forgets a session after its lifetime, and everything on clear()', () => {
    const cache = new SessionIdCache(10, 1000);
    cache.put('a', Buffer.from('1'), 0);
    expect(cache.get('a', 999)?.toString()).toBe('1');
    expect(cache.get('a', 1000)).toBeNull();
    cache.put('b', Buffer.from('2'), 0);
    cache.clear();
    expect(cache.get('b', 0)).toBeNull();
  });
});

describe('sessionProtocol', () => {
  // SEQUENCE { INTEGER 1, INTEGER 0x0303|0x0304, ... } in short and long length forms
  it('reads the protocol version of a serialised session', () => {
    expect(
      sessionProtocol(Buffer.from([0x30, 0x0a, 0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x04, 0, 0, 0])),
    ).toBe(0x0304);
    expect(
      sessionProtocol(Buffer.from([0x30, 0x82, 0x01, 0x00, 0x02, 0x01, 0x01, 0x02, 0x02, 0x03, 0x03, 0])),
    ).toBe(0x0303);
  });

  it('gives undefined for anything else (the session is then kept)', () => {
    expect(sessionProtocol(Buffer.from([]))).toBeUndefined();
    expect(sessionProtocol(Buffer.from([0x04, 0x01, 0x00]))).toBeUndefined();
    expect(
      sessionProtocol(Buffer.from([0x30, 0x05, 0x02, 0x01, 0x02, 0x02, 0x02, 0x03, 0x04])),
    ).toBeUndefined();
  });
});
