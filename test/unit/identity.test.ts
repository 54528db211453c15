import { describe, expect, it } from 'vitest';
import { hostNameFromDn, hostNameOf, parseRfc2253 } from '../../src/identity/dn.js';
import { certificateSubject, createCa, issueCertificate } from '../../src/pki/x509.js';
import { hashPassword, verifyPassword } from '../../src/identity/passwords.js';

const latin1 = (utf8: string) => Buffer.from(utf8, 'utf8').toString('latin1');

describe('hostNameFromDn: one rule for both DN forms', () => {
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
    // the most specific (last in the certificate, first in RFC 2253) CN
    ['CN=web04.example.com,CN=Computers,DC=example,DC=com', 'web04.example.com'],
    ['2.5.4.3=oid-host,O=x', 'oid-host'],
    // hex escapes are the bytes of UTF-8, not one character per byte
    ['CN=w\\C3\\A9b05', 'w\u00e9b05'],
    // an unescaped UTF-8 CN (Apache) arrives one character per byte
    [latin1('CN=w\u00e9b05,O=x'), 'w\u00e9b05'],
    [latin1('/O=x/CN=w\u00e9b05'), 'w\u00e9b05'],
    // escaped specials and spaces are kept exactly; nothing is trimmed or unquoted
    ['CN=\\"db01.example.com\\"', '"db01.example.com"'],
    ['CN=a/b\\,c', 'a/b,c'],
    ['CN=a\\+b\\\\c', 'a+b\\c'],
    // multi-valued RDNs on both forms
    ['UID=web03+CN=web03.example.com,O=x', 'web03.example.com'],
    ['/O=x/UID=web03+CN=web03.example.com', 'web03.example.com'],
    ['CN=web07+UID=x', 'web07'],
  ])('%s names %s', (dn, name) => {
    expect(hostNameFromDn(dn)).toEqual({ name });
  });

  it.each([
    ['', /RFC 2253/],
    ['O=Example', /no subject CN/],
    ['/O=Example', /no subject CN/],
    ['garbage', /well-formed/],
    ['CN=', /empty/],
    ['/CN=', /empty/],
    ['CN=a"b', /well-formed/],
    ['CN=bad\\escape', /well-formed/],
    ['CN=#0c0361626', /well-formed/],
    // a BER value is no text name, on this path as over direct TLS
    ['CN=#0c03616263,O=x', /not a text string/],
    ['CN=line\\0Abreak', /control characters/],
    // escaped spaces are read exactly, and a CN with spaces at its ends names no host
    ['CN=db01.example.com\\ ,O=x', /spaces at its ends/],
    ['CN=\\ lead', /spaces at its ends/],
    [latin1('CN=w\u00e9b') + '\xff', /not UTF-8/],
  ])('%s is refused (%s)', (dn, why) => {
    const r = hostNameFromDn(dn);
    expect(r).toHaveProperty('refused');
    expect((r as { refused: string }).refused).toMatch(why);
  });

  it.each([
    // HAProxy does not escape "/": OU=x\/CN=db01 looks like a second CN
    ['/CN=web06.example.com/OU=x/CN=db01.example.com', /more than one CN/],
    ['/DC=com/DC=example/CN=Computers/CN=web04.example.com', /more than one CN/],
    ['/O=x/CN="db01.example.com"', /quote/],
    ['/O=x/CN=db01.example.com ', /spaces/],
    ['/O=x/CN= db01.example.com', /spaces/],
    // nginx's legacy escapes cannot be told from a literal backslash
    ['/O=x/CN=w\\xC3\\xA9b05', /backslash/],
    ['/O=x/CN=a\tb', /control/],
    ['/', /well-formed/],
  ])('the one-line DN %s is refused, naming RFC 2253 as the fix', (dn, why) => {
    const r = hostNameFromDn(dn) as { refused: string };
    expect(r.refused).toMatch(why);
    expect(r.refused).toMatch(/RFC 2253 form/);
  });
});

describe('parseRfc2253', () => {
  it('gives the certificate order (least specific first) with multi-valued RDNs kept together', () => {
    expect(parseRfc2253('UID=u+CN=c,OU=a\\,b,DC=com')).toEqual([
      [{ type: 'DC', value: 'com' }],
      [{ type: 'OU', value: 'a,b' }],
      [
        { type: 'UID', value: 'u' },
        { type: 'CN', value: 'c' },
      ],
    ]);
  });
});

describe('certificateSubject: the host name from the certificate itself', () => {
  const nameFor = async (subject: Parameters<typeof issueCertificate>[1]['subject']) => {
    const ca = await createCa('unit CA');
    const cert = await issueCertificate(ca, { commonName: '', subject, usage: 'client' });
    // the DER straight from the PEM: OpenSSL itself refuses some of these subjects
    const der = Buffer.from(cert.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    return hostNameOf(certificateSubject(der));
  };

  it('takes the last CN of a directory-style subject, and multi-valued RDNs', async () => {
    expect(
      await nameFor([
        { DC: [{ ia5String: 'com' }] },
        { CN: [{ utf8String: 'Computers' }] },
        { CN: [{ utf8String: 'web04.example.com' }] },
      ]),
    ).toEqual({ name: 'web04.example.com' });
    expect(
      await nameFor([
        { '0.9.2342.19200300.100.1.1': [{ utf8String: 'web03' }], CN: [{ utf8String: 'web03.example.com' }] },
      ]),
    ).toEqual({ name: 'web03.example.com' });
  });

  it('tells a CN that is not a text string from a text that starts with #', async () => {
    // an INTEGER where a CN belongs (OpenSSL refuses it outright): the library shows it as hex
    expect(await nameFor([{ CN: ['#020101'] }])).toEqual({
      refused: expect.stringMatching(/not a text string/),
    });
    expect(await nameFor([{ CN: [{ utf8String: '#020101' }] }])).toEqual({ name: '#020101' });
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
