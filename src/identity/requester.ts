// Who is asking: a host (verified TLS client certificate, or a trusted proxy's verified DN)
// and/or a user (HTTP Basic, a bearer API token, or the UI's session cookie). Resolved once
// per request, before any route runs; src/identity/access.ts then decides what they may do.
import { fastifyCookie } from '@fastify/cookie';
import type { FastifyRequest } from 'fastify';
import proxyaddr from 'proxy-addr';
import type { Config } from '../config/schema.js';
import type { ErrorCode } from '../errors.js';
import type { AuditActor, Store, UserRow } from '../store/store.js';
import { parseAuthorization } from './credentials.js';
import { HostResolver, type HostClaim } from './host-cert.js';
import { PasswordChecker } from './password-check.js';
import { csrfTokenFor, hashSecret } from './secrets.js';

export const SESSION_COOKIE = 'keyholder_session';

/** last-used / last-seen times are written at most this often, not on every request */
const TOUCH_INTERVAL_MS = 60_000;

export interface Requester {
  /** the host's name (certificate CN); a host is not registered until the store sees it */
  hostName?: string;
  user?: UserRow;
  /** how the user authenticated */
  via?: 'basic' | 'token' | 'session';
  /** the session's CSRF token, when the user came with the session cookie */
  csrfToken?: string;
  /** the session cookie's hash, so logout can end exactly this session */
  sessionHash?: string;
  /** when the session ends at the latest (absolute expiry) */
  sessionExpiresAt?: number;
  /** credentials were presented but did not check out */
  rejectedCredentials: boolean;
  /** the precise refusal for rejected credentials (expired token, too many attempts, …) */
  rejection?: ErrorCode;
  retryAfterSeconds?: number;
  /** why a presented client certificate does not count */
  certificateProblem?: string;
  /** the client: the socket's address, or X-Forwarded-For's when a trusted proxy sent it */
  address: string;
}

/** The session cookie's value, parsed only when a Cookie header came (hosts never send one). */
function sessionCookieOf(header: string | undefined): string | undefined {
  return header ? fastifyCookie.parse(header)[SESSION_COOKIE] : undefined;
}

/** The audit trail's "who": the user (if any) and the client address. */
export function auditActor(who: Requester): AuditActor {
  return { userId: who.user?.id ?? null, login: who.user?.login ?? null, address: who.address };
}

export class IdentityResolver {
  readonly passwords: PasswordChecker;
  private readonly hosts: HostResolver;
  private readonly idleMs: number;
  private readonly maxMs: number;

  constructor(
    config: Config,
    private readonly store: Store,
  ) {
    const trusted = proxyaddr.compile([...config.trustedProxies]);
    this.hosts = new HostResolver(
      { matchSan: config.hosts.matchSan, proxyHeaders: config.proxyHeaders, trusted: (a) => trusted(a, 0) },
      store,
    );
    this.passwords = new PasswordChecker(store, {
      windowMs: config.auth.loginWindowSeconds * 1000,
      perUser: config.auth.maxFailuresPerUser,
      perAddress: config.auth.maxFailuresPerAddress,
    });
    this.idleMs = config.auth.sessionIdleSeconds * 1000;
    this.maxMs = config.auth.sessionMaxSeconds * 1000;
  }

  /**
   * Synchronous for a host on a connection already identified and for a request without
   * credentials; a promise when the store must be asked (a password, a token, a session, a
   * SAN's host). The access gate runs once per request, so the common case costs no promise.
   */
  resolve(request: FastifyRequest): Requester | Promise<Requester> {
    const host = this.hosts.resolve(request.raw);
    return host instanceof Promise
      ? host.then((claim) => this.withCredentials(request, claim))
      : this.withCredentials(request, host);
  }

  private withCredentials(request: FastifyRequest, host: HostClaim): Requester | Promise<Requester> {
    const who: Requester = {
      hostName: host.name,
      certificateProblem: host.problem,
      rejectedCredentials: false,
      // fastify's request.ip honours X-Forwarded-For only from `trustedProxies` (app.ts)
      address: request.ip,
    };
    // An Authorization header wins over the cookie: scripts never depend on a browser's state.
    const presented = parseAuthorization(request.headers.authorization);
    switch (presented.kind) {
      case 'malformed':
        return { ...who, rejectedCredentials: true };
      case 'basic':
        return this.checkBasic(who, presented.login, presented.password);
      case 'bearer':
        return this.checkToken(presented.token).then((found) => ({ ...who, ...found }));
      case 'none': {
        const cookie = sessionCookieOf(request.headers.cookie);
        return cookie ? this.checkSession(cookie).then((found) => ({ ...who, ...found })) : who;
      }
    }
  }

  private async checkBasic(who: Requester, login: string, password: string): Promise<Requester> {
    const check = await this.passwords.check(login, password, who.address);
    return check.ok
      ? { ...who, user: check.user, via: 'basic' }
      : {
          ...who,
          rejectedCredentials: true,
          rejection: check.rejection,
          retryAfterSeconds: check.retryAfterSeconds,
        };
  }

  private async checkToken(token: string): Promise<Partial<Requester>> {
    const found = await this.store.accounts.findToken(hashSecret(token));
    if (!found) return { rejectedCredentials: true };
    const { token: row, user, now } = found;
    if (row.revokedAt !== null) return { rejectedCredentials: true, rejection: 'token_revoked' };
    if (row.expiresAt !== null && row.expiresAt <= now) {
      return { rejectedCredentials: true, rejection: 'token_expired' };
    }
    if (row.lastUsedAt === null || now - row.lastUsedAt >= TOUCH_INTERVAL_MS) {
      await this.store.accounts.touchToken(row.id);
    }
    return { user, via: 'token' };
  }

  private async checkSession(secret: string): Promise<Partial<Requester>> {
    const idHash = hashSecret(secret);
    const expired = { rejectedCredentials: true, rejection: 'session_expired' as const };
    const found = await this.store.accounts.findSession(idHash);
    if (!found) return expired;
    const { session, user, now } = found;
    if (now - session.lastSeenAt > this.idleMs || now - session.createdAt > this.maxMs) {
      await this.store.accounts.endSession(idHash);
      return expired;
    }
    if (now - session.lastSeenAt >= TOUCH_INTERVAL_MS) await this.store.accounts.touchSession(idHash);
    return {
      user,
      via: 'session',
      csrfToken: csrfTokenFor(secret),
      sessionHash: idHash,
      sessionExpiresAt: session.createdAt + this.maxMs,
    };
  }
}
