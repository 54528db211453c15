// A small PKI for trying keyholder out and for tests: a CA, a server certificate and host
// (client) certificates, plus CRLs. Keys are ECDSA P-256 unless asked otherwise (cheap
// handshakes, see DESIGN.md); RSA (4096 bits, as Puppet's CA issues them) on request. A
// certificate is signed with its CA's own key type, whatever the certificate's key is.
// Parsing and signing come from @peculiar/x509 on Node's WebCrypto; nothing is hand-rolled.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[1]);

export type KeyType = 'ecdsa' | 'rsa';
export const KEY_TYPES: readonly KeyType[] = ['ecdsa', 'rsa'];

const ECDSA = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
/** RSA key size unless asked otherwise: what Puppet's CA issues */
export const DEFAULT_RSA_BITS = 4096;
const rsa = (modulusLength: number) =>
  ({
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    modulusLength,
    publicExponent: new Uint8Array([1, 0, 1]),
  }) as const;
const DAY_MS = 86_400_000;

export interface KeyOptions {
  /** default ecdsa (P-256) */
  keyType?: KeyType;
  /** RSA only; default DEFAULT_RSA_BITS */
  rsaBits?: number;
}

function algorithm(opts: KeyOptions) {
  return opts.keyType === 'rsa' ? rsa(opts.rsaBits ?? DEFAULT_RSA_BITS) : ECDSA;
}

export interface KeyedCert {
  certPem: string;
  keyPem: string;
}

export interface IssueOptions extends KeyOptions {
  /** subject CN; for hosts this is the host name keyholder sees */
  commonName: string;
  /** extra subject RDNs, e.g. "O=Example" */
  organization?: string;
  /**
   * The whole subject instead, RDNs in certificate order (least specific first), e.g.
   * `[{ O: ['Example'] }, { '0.9.2342.19200300.100.1.1': ['web03'], CN: ['web03.example.com'] }]`;
   * a `{ utf8String }` value is taken literally (quotes and backslashes included).
   */
  subject?: x509.JsonNameParams;
  dnsNames?: string[];
  ipAddresses?: string[];
  usage: 'server' | 'client';
  notBefore?: Date;
  notAfter?: Date;
  days?: number;
}

async function generateKeys(opts: KeyOptions): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(algorithm(opts), true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** PEM text ends with a newline, so `cat cert key > haproxy.pem` gives a loadable file. */
function pemText(encoded: string): string {
  return encoded.endsWith('\n') ? encoded : `${encoded}\n`;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return pemText(x509.PemConverter.encode(der, 'PRIVATE KEY'));
}

/** The CA's signing key, of the type its certificate names (older dev CAs are all ECDSA). */
async function importCaKey(ca: KeyedCert, caCert: x509.X509Certificate): Promise<CryptoKey> {
  const der = x509.PemConverter.decode(ca.keyPem)[0];
  if (!der) throw new Error('no private key in PEM');
  return webcrypto.subtle.importKey('pkcs8', der, signingAlgorithm(caCert), true, ['sign']);
}

function signingAlgorithm(caCert: x509.X509Certificate) {
  const name = caCert.publicKey.algorithm.name;
  if (name === 'ECDSA') return ECDSA;
  if (name === 'RSASSA-PKCS1-v1_5') return { name, hash: 'SHA-256' } as const;
  throw new Error(`the CA's key type (${name}) is neither ECDSA nor RSA`);
}

/** The key type of a certificate (a CA's, say): what `keyholder ca issue` follows by default. */
export function keyTypeOf(certPem: string): KeyType {
  return signingAlgorithm(new x509.X509Certificate(certPem)).name === 'ECDSA' ? 'ecdsa' : 'rsa';
}

/** keyAgreement is for (EC)DH keys; an RSA key encrypts the TLS 1.2 key exchange instead */
function keyUsages(opts: KeyOptions): number {
  return (
    x509.KeyUsageFlags.digitalSignature |
    (opts.keyType === 'rsa' ? x509.KeyUsageFlags.keyEncipherment : x509.KeyUsageFlags.keyAgreement)
  );
}

function serial(): string {
  // positive, 16 random bytes: unique enough that CRL entries never collide
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return Buffer.from(bytes).toString('hex');
}

function escapeRdn(value: string): string {
  return value.replace(/([,+"\\<>;=])/g, '\\$1');
}

export async function createCa(
  commonName = 'keyholder development CA',
  days = 3650,
  keyOptions: KeyOptions = {},
): Promise<KeyedCert> {
  const keys = await generateKeys(keyOptions);
  const name = `CN=${escapeRdn(commonName)}`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name,
    notBefore: new Date(Date.now() - DAY_MS),
    notAfter: new Date(Date.now() + days * DAY_MS),
    keys,
    signingAlgorithm: algorithm(keyOptions),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: pemText(cert.toString('pem')), keyPem: await exportKeyPem(keys.privateKey) };
}

export async function issueCertificate(ca: KeyedCert, opts: IssueOptions): Promise<KeyedCert> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importCaKey(ca, caCert);
  const keys = await generateKeys(opts);
  const subject = opts.subject
    ? new x509.Name(opts.subject)
    : [opts.organization ? `O=${escapeRdn(opts.organization)}` : null, `CN=${escapeRdn(opts.commonName)}`]
        .filter(Boolean)
        .join(', ');
  const altNames: x509.JsonGeneralName[] = [
    ...(opts.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(opts.ipAddresses ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  const notBefore = opts.notBefore ?? new Date(Date.now() - DAY_MS);
  const notAfter = opts.notAfter ?? new Date(Date.now() + (opts.days ?? 825) * DAY_MS);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: signingAlgorithm(caCert),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(keyUsages(opts), true),
      new x509.ExtendedKeyUsageExtension(
        [opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      ...(altNames.length ? [new x509.SubjectAlternativeNameExtension(altNames, false)] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert, false),
    ],
  });
  return { certPem: pemText(cert.toString('pem')), keyPem: await exportKeyPem(keys.privateKey) };
}

/** A CRL signed by the CA that revokes the given certificates (PEM). */
export async function createCrl(
  ca: KeyedCert,
  revokedCertPems: string[],
  validity: { thisUpdate?: Date; nextUpdate?: Date } = {},
): Promise<string> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importCaKey(ca, caCert);
  const crl = await x509.X509CrlGenerator.create({
    issuer: caCert.subject,
    thisUpdate: validity.thisUpdate ?? new Date(Date.now() - 60_000),
    nextUpdate: validity.nextUpdate ?? new Date(Date.now() + 30 * DAY_MS),
    entries: revokedCertPems.map((pem) => ({
      serialNumber: new x509.X509Certificate(pem).serialNumber,
      revocationDate: new Date(Date.now() - 60_000),
      reason: x509.X509CrlReason.keyCompromise,
    })),
    signingKey: caKey,
    signingAlgorithm: signingAlgorithm(caCert),
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(caCert, false)],
  });
  // OpenSSL (and so Node's tls) only reads the 'X509 CRL' PEM label
  return pemText(x509.PemConverter.encode(crl.rawData, 'X509 CRL'));
}

/**
 * A certificate's subject as RDNs in the certificate's own order (least specific first), each
 * attribute with its type (`CN`, `O`… or an OID) and text. A value that is not a text string
 * (BER the library can only give as hex) is marked opaque rather than passed off as text.
 */
export function certificateSubject(der: Uint8Array): { type: string; value: string; opaque?: boolean }[][] {
  const name = new x509.X509Certificate(der).subjectName;
  // toJSON gives the structure but writes a non-text value as `#hex`, like a text that starts
  // with `#`; getField gives the same values in the same order, a non-text one as bare hex.
  const texts = new Map<string, string[]>();
  const textOf = (type: string, k: number) => {
    if (!texts.has(type)) texts.set(type, name.getField(type));
    return texts.get(type)![k];
  };
  const seen = new Map<string, number>();
  return name.toJSON().map((rdn) =>
    Object.entries(rdn).flatMap(([type, values]) =>
      values.map((value) => {
        const k = seen.get(type) ?? 0;
        seen.set(type, k + 1);
        return value.startsWith('#') && textOf(type, k) !== value
          ? { type, value, opaque: true }
          : { type, value };
      }),
    ),
  );
}
