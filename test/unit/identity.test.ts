import { describe, expect, it } from 'vitest';
import { commonNameOf } from '../../src/identity/dn.js';
import { hashPassword, verifyPassword } from '../../src/identity/passwords.js';

describe('commonNameOf', () => {
  it.each([
    ['CN=web01.example.com,O=Example', 'web01.example.com'],
    ['CN=host,DN=example,DN=com', 'host'],
    ['O=Example,CN=web01', 'web01'],
    ['CN = web01 , O = Example', 'web01'],
    ['/O=Example/CN=web02.example.com', 'web02.example.com'],
    ['/CN=web03', 'web03'],
    ['/C=DE/O=Ex, Inc./CN=web04', 'web04'],
    ['CN=a\\,b,O=x', 'a,b'],
    ['CN="quoted, name",O=x', 'quoted, name'],
    ['cn=lower', 'lower'],
  ])('%s → %s', (dn, cn) => {
    expect(commonNameOf(dn)).toBe(cn);
  });

  it.each(['', 'O=Example', '/O=Example', 'garbage', 'CN=', '/CN='])('%s has no CN', (dn) => {
    expect(commonNameOf(dn)).toBeUndefined();
  });
});

describe('passwords', () => {
  it('hashes with scrypt and a salt, and verifies only the right password', async () => {
    const h1 = await hashPassword('correct horse');
    const h2 = await hashPassword('correct horse');
    expect(h1).not.toBe(h2);
    expect(h1).not.toContain('correct horse');
    expect(await verifyPassword('correct horse', h1)).toBe(true);
    expect(await verifyPassword('wrong horse', h1)).toBe(false);
    expect(await verifyPassword('correct horse', 'not-a-hash')).toBe(false);
  });
});
