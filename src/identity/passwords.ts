// Password hashing with node:crypto scrypt. Hashes are self-describing
// (`scrypt$N$r$p$salt$key`) so parameters can be raised later without breaking old hashes.
import {
  createHash,
  randomBytes,
  scrypt as scryptCb,
  timingSafeEqual,
  type ScryptOptions,
} from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, KEY_LENGTH, { N, r: R, p: P });
  return ['scrypt', N, R, P, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || !n || !r || !p || !salt || !key) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, {
    N: Number(n),
    r: Number(r),
    p: Number(p),
    maxmem: 256 * Number(n) * Number(r),
  });
  return timingSafeEqual(actual, expected);
}

/** A random password for the bootstrap admin: 20 characters from a URL-safe alphabet. */
export function randomPassword(): string {
  return randomBytes(15).toString('base64url');
}

/**
 * Remembers recent successful verifications so HTTP Basic clients polling the API do not pay
 * for scrypt on every request. Keyed by a hash of login, password and stored hash: a password
 * change invalidates the entry, and no plaintext is kept.
 */
export class VerifiedCredentials {
  private readonly entries = new Map<string, number>();

  constructor(
    private readonly ttlMs = 60_000,
    private readonly maxEntries = 1000,
  ) {}

  private key(login: string, password: string, stored: string): string {
    return createHash('sha256').update(`${login}\0${password}\0${stored}`).digest('base64');
  }

  has(login: string, password: string, stored: string, now = Date.now()): boolean {
    const k = this.key(login, password, stored);
    const expires = this.entries.get(k);
    if (expires === undefined) return false;
    if (expires < now) {
      this.entries.delete(k);
      return false;
    }
    return true;
  }

  add(login: string, password: string, stored: string, now = Date.now()): void {
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(this.key(login, password, stored), now + this.ttlMs);
  }
}
