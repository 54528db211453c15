// When the TLS material in use runs out: the server certificate, the client CA bundle (its
// first certificate to expire: from then on hosts signed by it are refused) and the CRL's next
// update (OpenSSL refuses every client certificate checked against an expired CRL). Kept up to
// date on each reload, so /metrics reports what is served, not what lies on disk.
import { X509Certificate } from 'node:crypto';
import { X509Crl } from '@peculiar/x509';

/** Milliseconds since the epoch; undefined where there is nothing (no CRL configured). */
export interface TlsExpiry {
  serverNotAfter: number;
  caNotAfter: number;
  crlNextUpdate?: number;
}

interface PemMaterial {
  cert?: unknown;
  ca?: unknown;
  crl?: unknown;
}

function pemText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return value.map(pemText).join('\n');
  return '';
}

function blocks(value: unknown, label: string): string[] {
  const re = new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----`, 'g');
  return pemText(value).match(re) ?? [];
}

function earliest(times: number[]): number | undefined {
  return times.length > 0 ? Math.min(...times) : undefined;
}

/** Reads the dates out of the PEM material a secure context was made from. */
export function tlsExpiry(material: PemMaterial): TlsExpiry {
  // the first certificate of `cert` is the server's own; the rest is its chain
  const [server] = blocks(material.cert, 'CERTIFICATE');
  const caTimes = blocks(material.ca, 'CERTIFICATE').map((b) => Date.parse(new X509Certificate(b).validTo));
  const crlTimes = blocks(material.crl, 'X509 CRL').flatMap((b) => {
    const next = new X509Crl(b).nextUpdate;
    return next ? [next.getTime()] : [];
  });
  return {
    serverNotAfter: server ? Date.parse(new X509Certificate(server).validTo) : 0,
    caNotAfter: earliest(caTimes) ?? 0,
    crlNextUpdate: earliest(crlTimes),
  };
}

/** The expiry dates of the material in use; the TLS reloader updates it. */
export class TlsExpiryWatch {
  private current: TlsExpiry;

  constructor(material: PemMaterial) {
    this.current = tlsExpiry(material);
  }

  update(material: PemMaterial): void {
    this.current = tlsExpiry(material);
  }

  get(): TlsExpiry {
    return this.current;
  }
}
