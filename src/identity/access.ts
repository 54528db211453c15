// Who may call what, decided in one place from each route's declared access. The statuses
// follow foreman_dlm: a host certificate on a user-only endpoint is 401 (a host is no user),
// a user on acquire/release is 403 (a host certificate is needed), nothing at all is 401.
// Roles: viewer reads; operator also changes locks and hosts; admin may do everything.
import { AppError } from '../errors.js';
import type { Role } from '../roles.js';
import type { Requester } from './requester.js';

export type Access =
  | { kind: 'public' }
  /** acquire/release: only a host may act on its own behalf */
  | { kind: 'host' }
  | { kind: 'host_or_user'; role: Role }
  | { kind: 'user'; role: Role };

const RANK: Record<Role, number> = { viewer: 1, operator: 2, admin: 3 };

export function hasRole(actual: Role, needed: Role): boolean {
  return RANK[actual] >= RANK[needed];
}

export function authorize(access: Access, who: Requester): void {
  if (access.kind === 'public') return;
  if (who.rejectedCredentials && !(access.kind !== 'user' && who.hostName)) {
    throw new AppError(
      who.rejection ?? 'unauthorized',
      undefined,
      who.retryAfterSeconds ? { details: { retry_after: who.retryAfterSeconds } } : {},
    );
  }
  switch (access.kind) {
    case 'host':
      if (who.hostName) return;
      if (who.user) throw new AppError('host_required');
      throw noHost(who);
    case 'host_or_user':
      if (who.hostName && !who.user) return;
      if (!who.user && who.certificateProblem) throw noHost(who);
      return requireRole(access.role, who);
    case 'user':
      return requireRole(access.role, who);
  }
}

/** Nobody, or a certificate that did not verify: say what was wrong with it. */
function noHost(who: Requester): AppError {
  if (!who.certificateProblem) return new AppError('unauthorized');
  return new AppError(
    'certificate_rejected',
    `The client certificate was not accepted: ${who.certificateProblem}`,
  );
}

function requireRole(role: Role, who: Requester): void {
  if (!who.user) throw new AppError(who.hostName ? 'host_not_user' : 'unauthorized');
  if (!hasRole(who.user.role, role)) throw new AppError('forbidden');
}
