// Who is asking: a host (verified TLS client certificate, or a trusted proxy's verified DN)
// and/or a user (HTTP Basic). Resolved once per request, before any route runs.
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import proxyaddr from 'proxy-addr';
import type { Config } from '../config/schema.js';
import type { Store, UserRow } from '../store/store.js';
import { commonNameOf } from './dn.js';
import { VerifiedCredentials, verifyPassword } from './passwords.js';

export interface Requester {
  /** the host's name (certificate CN); a host is not registered until the store sees it */
  hostName?: string;
  user?: UserRow;
  /** credentials were presented but did not check out */
  rejectedCredentials: boolean;
}

// getPeerCertificate builds a fresh object each call; a keep-alive connection asks once.
const hostBySocket = new WeakMap<TLSSocket, string | null>();

function hostFromTls(raw: IncomingMessage): string | undefined {
  const socket = raw.socket as TLSSocket;
  if (typeof socket.getPeerCertificate !== 'function') return undefined;
  let name = hostBySocket.get(socket);
  if (name === undefined) {
    // `authorized` is only true when the chain verified against our CA (and CRL, if any).
    const cert = socket.authorized ? socket.getPeerCertificate() : undefined;
    const cn = cert?.subject?.CN;
    name = typeof cn === 'string' && cn.length > 0 ? cn : Array.isArray(cn) ? (cn[0] ?? null) : null;
    hostBySocket.set(socket, name);
  }
  return name ?? undefined;
}

function headerValue(raw: IncomingMessage, name: string): string | undefined {
  const v = raw.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

function parseBasic(
  header: string | undefined,
): { login: string; password: string } | 'malformed' | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return 'malformed';
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return 'malformed';
  return { login: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export class IdentityResolver {
  private readonly trusted: (addr: string, hop: number) => boolean;
  private readonly verified = new VerifiedCredentials();

  constructor(
    private readonly config: Config,
    private readonly store: Store,
  ) {
    this.trusted = proxyaddr.compile([...config.trustedProxies]);
  }

  async resolve(raw: IncomingMessage): Promise<Requester> {
    const hostName = this.hostOf(raw);
    const basic = parseBasic(headerValue(raw, 'authorization'));
    if (basic === undefined) return { hostName, rejectedCredentials: false };
    if (basic === 'malformed') return { hostName, rejectedCredentials: true };
    const user = await this.checkPassword(basic.login, basic.password);
    return { hostName, user, rejectedCredentials: user === undefined };
  }

  private hostOf(raw: IncomingMessage): string | undefined {
    const remote = raw.socket.remoteAddress;
    // Proxy headers count only from a trusted proxy; from anyone else they are ignored, so a
    // client cannot claim a host name by sending SSL_CLIENT_S_DN itself.
    if (remote && this.trusted(remote, 0)) {
      const verify = headerValue(raw, this.config.proxyHeaders.verify);
      const dn = headerValue(raw, this.config.proxyHeaders.dn);
      if (verify === 'SUCCESS' && dn) return commonNameOf(dn);
    }
    return hostFromTls(raw);
  }

  private async checkPassword(login: string, password: string): Promise<UserRow | undefined> {
    const user = await this.store.getUser(login);
    if (!user) return undefined;
    if (this.verified.has(login, password, user.passwordHash)) return user;
    if (!(await verifyPassword(password, user.passwordHash))) return undefined;
    this.verified.add(login, password, user.passwordHash);
    return user;
  }
}
