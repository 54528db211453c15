// API tokens and session ids: 256 random bits, shown to their owner once and stored only as a
// SHA-256 hash. A slow hash (scrypt) is for guessable passwords; these cannot be guessed, and a
// fast hash lets every request find its token by an indexed lookup.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const TOKEN_PREFIX = 'kh_';

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export interface NewSecret {
  secret: string;
  hash: string;
}

function newSecret(prefix: string): NewSecret {
  const secret = prefix + randomBytes(32).toString('base64url');
  return { secret, hash: hashSecret(secret) };
}

/** `kh_…`: the prefix lets secret scanners and people recognise a keyholder token. */
export function newApiToken(): NewSecret & { prefix: string } {
  const t = newSecret(TOKEN_PREFIX);
  // enough to tell tokens apart in a list; leaves 208 of the 256 random bits unknown
  return { ...t, prefix: t.secret.slice(0, TOKEN_PREFIX.length + 6) };
}

export function newSessionId(): NewSecret {
  return newSecret('');
}

/**
 * The CSRF token of a session, derived from its (HttpOnly) cookie value: a page on another
 * site can make the browser send the cookie but can read neither it nor this token.
 */
export function csrfTokenFor(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('keyholder csrf').digest('base64url');
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
