// Which host a request comes from: a verified TLS client certificate (its CN, and with
// `hosts.matchSan` its DNS subjectAltNames), or the DN a trusted reverse proxy forwards.
// A certificate that did not verify (foreign CA, expired, not yet valid, revoked) is no host,
// and the reason is kept so the 401 can say what is wrong with it.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { certificateSubject } from '../pki/x509.js';
import type { Store } from '../store/store.js';
import { hostNameFromDn, hostNameOf, type HostNaming } from './dn.js';

export interface HostClaim {
  name?: string;
  /** why a presented certificate does not count */
  problem?: string;
}

interface SocketCert {
  /** CN first, then DNS SANs (only with matchSan); empty when the certificate did not verify */
  names: string[];
  problem?: string;
  /** the registered host a SAN matched, remembered for the rest of the connection */
  matched?: string;
}

const PROBLEMS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet',
  CERT_REVOKED: 'the certificate has been revoked',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the certificate was not issued by the configured CA',
  UNABLE_TO_GET_ISSUER_CERT: 'the certificate was not issued by the configured CA',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'the certificate was not issued by the configured CA',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the certificate was not issued by the configured CA',
  CERT_SIGNATURE_FAILURE: 'the certificate signature does not verify',
};

/** `DNS:a.example, DNS:"b,odd", IP Address:…` (Node quotes values with separators in them). */
export function dnsAltNames(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  const names: string[] = [];
  const re = /(?:^|,\s*)DNS:(?:"((?:[^"\\]|\\.)*)"|([^,]*))/g;
  for (let m = re.exec(subjectaltname); m; m = re.exec(subjectaltname)) {
    const value = m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : m[2]!.trim();
    if (value) names.push(value);
  }
  return names;
}

/** how many certificates' names are remembered (hosts reconnect with the same one) */
const NAMED_CERTIFICATES_MAX = 10_000;
/** forwarded DNs longer than this are not remembered */
const MAX_KEPT_DN_LENGTH = 1024;

/** The subject read from the certificate's DER, not Node's flattened `subject.CN`. */
function certificateHostName(socket: TLSSocket): HostNaming {
  const der = socket.getPeerX509Certificate()?.raw;
  if (!der) return { refused: 'the certificate could not be read' };
  try {
    return hostNameOf(certificateSubject(der));
  } catch {
    return { refused: 'the certificate subject could not be parsed' };
  }
}

function headerValue(raw: IncomingMessage, name: string): string | undefined {
  const v = raw.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export interface HostResolverOptions {
  matchSan: boolean;
  /** `requireVerify`: a DN counts only with the verify header saying SUCCESS */
  proxyHeaders: { dn: string; verify: string; requireVerify: boolean };
  /** is this socket address a trusted proxy? */
  trusted(address: string): boolean;
}

export class HostResolver {
  // getPeerCertificate builds a fresh object each call; a keep-alive connection asks once.
  private readonly bySocket = new WeakMap<TLSSocket, SocketCert>();
  // Reading the subject from the DER costs a few times Node's own certificate parsing, and a
  // host that reconnects brings the same certificate: keyed by its SHA-256 fingerprint,
  // bounded, oldest out first.
  private readonly byFingerprint = new Map<string, HostNaming>();
  // The DN headers of a trusted proxy, parsed (RFC 2253 or one-line) into the host they name.
  private readonly byDn = new Map<string, HostNaming>();

  constructor(
    private readonly options: HostResolverOptions,
    private readonly store: Store,
  ) {}

  /**
   * Synchronous once the socket's certificate has been read (every request of a keep-alive
   * connection after its first); a promise only while a SAN is being matched to a host.
   */
  resolve(raw: IncomingMessage): HostClaim | Promise<HostClaim> {
    const remote = raw.socket.remoteAddress;
    // Proxy headers count only from a trusted proxy; from anyone else they are ignored, so a
    // client cannot claim a host name by sending SSL_CLIENT_S_DN itself. A trusted proxy
    // speaks only for its clients: without a DN its request is anonymous, and its own TLS
    // client certificate (to the upstream) never names a host.
    if (remote && this.options.trusted(remote)) return this.fromProxy(raw);
    const socket = raw.socket as TLSSocket;
    if (typeof socket.getPeerCertificate !== 'function') return {};
    let cert = this.bySocket.get(socket);
    if (!cert) {
      cert = this.inspect(socket);
      this.bySocket.set(socket, cert);
    }
    if (cert.names.length <= 1) return { name: cert.names[0], problem: cert.problem };
    if (cert.matched !== undefined) return { name: cert.matched };
    return this.matchSan(cert);
  }

  private async matchSan(cert: SocketCert): Promise<HostClaim> {
    cert.matched ??= await this.firstRegistered(cert.names);
    return { name: cert.matched ?? cert.names[0] };
  }

  private fromProxy(raw: IncomingMessage): HostClaim {
    const { dn: dnHeader, verify: verifyHeader, requireVerify } = this.options.proxyHeaders;
    const dn = headerValue(raw, dnHeader);
    const verify = headerValue(raw, verifyHeader);
    // nginx sends an empty DN and NONE when the client presented no certificate
    if (!dn || verify === 'NONE') return {};
    if (verify === undefined && requireVerify) {
      return { problem: `the proxy forwarded a DN without the ${verifyHeader} header` };
    }
    if (verify !== undefined && verify !== 'SUCCESS') {
      return { problem: `the proxy reports that it did not verify (${verify.slice(0, 200)})` };
    }
    const naming = this.namingOfDn(dn);
    return 'name' in naming ? { name: naming.name } : { problem: naming.refused };
  }

  /** A proxy sends the same few DNs again and again: each is parsed once (bounded, oldest out). */
  private namingOfDn(dn: string): HostNaming {
    const known = this.byDn.get(dn);
    if (known) return known;
    const naming = hostNameFromDn(dn);
    // a DN is short; a long header is parsed every time rather than kept (memory stays bounded)
    if (dn.length > MAX_KEPT_DN_LENGTH) return naming;
    if (this.byDn.size >= NAMED_CERTIFICATES_MAX) this.byDn.delete(this.byDn.keys().next().value!);
    this.byDn.set(dn, naming);
    return naming;
  }

  private inspect(socket: TLSSocket): SocketCert {
    const peer = socket.getPeerCertificate();
    if (!peer || Object.keys(peer).length === 0) return { names: [] };
    // `authorized` is only true when the chain verified against our CA (and CRL, if any).
    if (!socket.authorized) {
      const code = String(socket.authorizationError ?? 'UNKNOWN');
      return { names: [], problem: `${PROBLEMS[code] ?? 'it did not verify'} (${code})` };
    }
    const cn = this.nameOf(socket, peer.fingerprint256);
    // with matchSan a registered DNS SAN decides; the CN only names a host it does not refuse
    const sans = this.options.matchSan ? dnsAltNames(peer.subjectaltname) : [];
    const names = [...new Set(['name' in cn ? [cn.name] : [], sans].flat())];
    if (names.length > 0 || !('refused' in cn)) return { names };
    return { names, problem: cn.refused };
  }

  private nameOf(socket: TLSSocket, fingerprint: string): HostNaming {
    const known = this.byFingerprint.get(fingerprint);
    if (known) return known;
    const naming = certificateHostName(socket);
    if (this.byFingerprint.size >= NAMED_CERTIFICATES_MAX) {
      this.byFingerprint.delete(this.byFingerprint.keys().next().value!);
    }
    this.byFingerprint.set(fingerprint, naming);
    return naming;
  }

  private async firstRegistered(names: string[]): Promise<string | undefined> {
    for (const name of names) {
      if (await this.store.hostDirectory.getByName(name)) return name;
    }
    return undefined;
  }
}
