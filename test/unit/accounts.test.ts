// The pure parts of users/tokens/sessions: the login limiter (with an explicit clock), the
// Authorization header, SAN parsing, secrets and CSRF tokens, token states.
import { describe, expect, it } from 'vitest';
import { parseAuthorization } from '../../src/identity/credentials.js';
import { dnsAltNames } from '../../src/identity/host-cert.js';
import { LoginLimiter } from '../../src/identity/rate-limit.js';
import {
  csrfTokenFor,
  hashSecret,
  newApiToken,
  newSessionId,
  sameSecret,
} from '../../src/identity/secrets.js';
import { tokenState } from '../../src/identity/tokens.js';
import { parseTimestamp } from '../../src/http/tokens.js';
import type { TokenRow } from '../../src/store/store.js';

describe('LoginLimiter', () => {
  const limits = { windowMs: 60_000, perUser: 3, perAddress: 5 };

  it('blocks a user from one address after N failures there, until the oldest leaves the window', () => {
    const l = new LoginLimiter(limits);
    for (const t of [0, 10_000, 20_000]) l.fail('alice', '10.0.0.1', t);
    expect(l.retryAfterSeconds('alice', '10.0.0.1', 30_000)).toBe(30); // first failure leaves at 60 s
    expect(l.retryAfterSeconds('ALICE', '10.0.0.1', 30_000)).toBe(30);
    expect(l.retryAfterSeconds('bob', '10.0.0.1', 30_000)).toBe(0);
    expect(l.retryAfterSeconds('alice', '10.0.0.1', 60_001)).toBe(0);
    // nobody locks alice out from elsewhere
    expect(l.retryAfterSeconds('alice', '10.0.0.9', 30_000)).toBe(0);
  });

  it('blocks an address after M failures whatever the login', () => {
    const l = new LoginLimiter(limits);
    for (let i = 0; i < 5; i++) l.fail(`user${i}`, '10.0.0.1', i);
    expect(l.retryAfterSeconds('someone', '10.0.0.1', 10)).toBeGreaterThan(59);
    expect(l.retryAfterSeconds('someone', '10.0.0.2', 10)).toBe(0);
  });

  it('a success clears the user, not the address', () => {
    const l = new LoginLimiter({ ...limits, perAddress: 3 });
    const l2 = new LoginLimiter({ ...limits, perAddress: 10 });
    for (let i = 0; i < 3; i++) l2.fail('alice', '10.0.0.1', i);
    l2.succeed('alice', '10.0.0.1');
    expect(l2.retryAfterSeconds('alice', '10.0.0.1', 10)).toBe(0);
    for (let i = 0; i < 3; i++) l.fail('alice', '10.0.0.1', i);
    l.succeed('alice', '10.0.0.1');
    expect(l.retryAfterSeconds('carol', '10.0.0.1', 10)).toBeGreaterThan(0);
  });
});

describe('parseAuthorization', () => {
  it.each([
    [undefined, { kind: 'none' }],
    ['', { kind: 'none' }],
    [`Basic ${Buffer.from('a:b:c').toString('base64')}`, { kind: 'basic', login: 'a', password: 'b:c' }],
    [`basic ${Buffer.from('nocolon').toString('base64')}`, { kind: 'malformed' }],
    ['Bearer kh_abc', { kind: 'bearer', token: 'kh_abc' }],
    ['Bearer', { kind: 'malformed' }],
    ['Bearer a b', { kind: 'malformed' }],
    ['Negotiate xyz', { kind: 'malformed' }],
  ])('%s', (header, expected) => {
    expect(parseAuthorization(header)).toEqual(expected);
  });
});

describe('dnsAltNames', () => {
  it("takes the DNS entries of Node's subjectaltname string", () => {
    expect(dnsAltNames('DNS:a.example, IP Address:10.0.0.1, DNS:b.example')).toEqual([
      'a.example',
      'b.example',
    ]);
    expect(dnsAltNames('DNS:"odd,name", DNS:c')).toEqual(['odd,name', 'c']);
    expect(dnsAltNames(undefined)).toEqual([]);
    expect(dnsAltNames('URI:spiffe://x, email:a@b')).toEqual([]);
  });
});

describe('secrets', () => {
  it('tokens are 256 random bits with a recognisable prefix, stored as SHA-256', () => {
    const a = newApiToken();
    const b = newApiToken();
    expect(a.secret).toMatch(/^kh_[A-Za-z0-9_-]{43}$/);
    expect(a.secret).not.toBe(b.secret);
    expect(a.hash).toBe(hashSecret(a.secret));
    expect(a.secret.startsWith(a.prefix)).toBe(true);
    expect(a.prefix).toHaveLength(9);
  });

  it('the CSRF token is derived from the session secret and differs per session', () => {
    const s1 = newSessionId().secret;
    const s2 = newSessionId().secret;
    expect(csrfTokenFor(s1)).toBe(csrfTokenFor(s1));
    expect(csrfTokenFor(s1)).not.toBe(csrfTokenFor(s2));
    expect(sameSecret(csrfTokenFor(s1), csrfTokenFor(s1))).toBe(true);
    expect(sameSecret(csrfTokenFor(s1), 'short')).toBe(false);
  });
});

describe('tokenState and expiry input', () => {
  const base: TokenRow = {
    id: 1,
    userId: 1,
    userLogin: 'a',
    name: 'n',
    prefix: 'kh_x',
    createdBy: null,
    createdAt: 0,
    expiresAt: null,
    revokedAt: null,
    lastUsedAt: null,
  };
  it('revoked wins over expired; expiry is inclusive', () => {
    expect(tokenState(base, 10)).toBe('active');
    expect(tokenState({ ...base, expiresAt: 10 }, 10)).toBe('expired');
    expect(tokenState({ ...base, expiresAt: 11 }, 10)).toBe('active');
    expect(tokenState({ ...base, expiresAt: 5, revokedAt: 1 }, 10)).toBe('revoked');
  });

  it.each([
    ['2030-01-31 12:00:00 UTC', Date.UTC(2030, 0, 31, 12)],
    ['2030-01-31T12:00:00Z', Date.UTC(2030, 0, 31, 12)],
    ['2030-01-31T13:00:00+01:00', Date.UTC(2030, 0, 31, 12)],
    ['2030-01-31', undefined],
    ['2030-01-31T12:00:00', undefined],
    ['2030-02-31 12:00:00 UTC', undefined],
    ['soon', undefined],
  ])('parseTimestamp(%s)', (text, expected) => {
    expect(parseTimestamp(text)).toBe(expected);
  });
});
