// Who may call what, decided in one place from each route's declared access. The statuses
// follow foreman_dlm: a host certificate on a user-only endpoint is 401 (a host is no user),
// a user on acquire/release is 403 (a host certificate is needed), nothing at all is 401.
import { AppError } from '../errors.js';
import type { Role } from '../store/store.js';
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
  if (who.rejectedCredentials && !(access.kind !== 'user' && who.hostName))
    throw new AppError('unauthorized');
  switch (access.kind) {
    case 'host':
      if (who.hostName) return;
      throw new AppError(who.user ? 'host_required' : 'unauthorized');
    case 'host_or_user':
      if (who.hostName && !who.user) return;
      return requireRole(access.role, who);
    case 'user':
      return requireRole(access.role, who);
  }
}

function requireRole(role: Role, who: Requester): void {
  if (!who.user) throw new AppError(who.hostName ? 'host_not_user' : 'unauthorized');
  if (!hasRole(who.user.role, role)) throw new AppError('forbidden');
}
