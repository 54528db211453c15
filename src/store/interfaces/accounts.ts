// The accounts' interfaces: users, API tokens and UI sessions (src/store/accounts.ts), and the
// audit trail every change of theirs is recorded in (src/store/audit.ts).
import type { Role } from '../../roles.js';

/** a user with the password hash: for signing in, never for an answer */
export interface UserRow {
  id: number;
  login: string;
  passwordHash: string;
  role: Role;
  createdAt: number;
}

export interface AccountUser {
  id: number;
  login: string;
  role: Role;
  createdAt: number;
  updatedAt: number;
}

export interface TokenRow {
  id: number;
  userId: number;
  userLogin: string;
  name: string;
  prefix: string;
  createdBy: string | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
  lastUsedAt: number | null;
}

export interface SessionRow {
  userId: number;
  createdAt: number;
  lastSeenAt: number;
}

/** Every change and its audit event are one transaction. */
export interface AccountStore {
  listUsers(limit: number, offset: number): Promise<{ total: number; users: AccountUser[] }>;
  getUser(login: string): Promise<AccountUser | undefined>;
  /** the user with the password hash, to check a login's password */
  getCredentials(login: string): Promise<UserRow | undefined>;
  countUsers(): Promise<number>;
  /**
   * `actor` null: the bootstrap admin, created by the server itself on an empty database before
   * anyone can act; it is not recorded in the audit trail.
   */
  createUser(
    input: { login: string; passwordHash: string; role: Role },
    actor: AuditActor | null,
  ): Promise<AccountUser>;
  /** A new password also ends the user's UI sessions: whoever knew the old one is logged out. */
  updateUser(
    login: string,
    changes: { passwordHash?: string; role?: Role },
    actor: AuditActor,
  ): Promise<AccountUser | undefined>;
  /** Deletes the user with its tokens and sessions. */
  deleteUser(login: string, actor: AuditActor): Promise<AccountUser | undefined>;

  createToken(
    input: { login: string; name: string; tokenHash: string; prefix: string; expiresAt: number | null },
    actor: AuditActor,
  ): Promise<TokenRow>;
  listTokens(
    filter: { login?: string },
    limit: number,
    offset: number,
  ): Promise<{ total: number; tokens: TokenRow[] }>;
  getToken(id: number): Promise<TokenRow | undefined>;
  /** Revoking twice is harmless: the first revocation time stays, one audit event. */
  revokeToken(id: number, actor: AuditActor): Promise<TokenRow | undefined>;
  /** The token with this hash, its user (with the role as it is now) and the database's time. */
  findToken(tokenHash: string): Promise<{ token: TokenRow; user: UserRow; now: number } | undefined>;
  touchToken(id: number): Promise<void>;

  /** Starts a session and records the login; sessions that have run out are swept. */
  createSession(
    input: { idHash: string; user: { id: number; login: string }; idleMs: number; maxMs: number },
    actor: AuditActor,
  ): Promise<{ createdAt: number }>;
  findSession(idHash: string): Promise<{ session: SessionRow; user: UserRow; now: number } | undefined>;
  touchSession(idHash: string): Promise<void>;
  /** Ends a session; `actor` records a logout, none means it simply ran out. */
  endSession(idHash: string, actor?: AuditActor): Promise<boolean>;
}

export type AuditType =
  | 'login'
  | 'login_failed'
  | 'logout'
  | 'user_create'
  | 'user_delete'
  | 'role_change'
  | 'password_change'
  | 'token_create'
  | 'token_revoke'
  | 'host_create'
  | 'host_update'
  | 'host_delete'
  | 'lock_force_release'
  /** the global pause set or changed, and lifted (src/http/pause.ts) */
  | 'pause'
  | 'resume'
  | 'lock_member_add'
  | 'lock_member_remove';

/** Who did it: a user (with the client address), or the command line (`login` = "(cli)"). */
export interface AuditActor {
  userId: number | null;
  login: string | null;
  address: string | null;
}

export interface AuditRow {
  id: number;
  type: string;
  actorLogin: string | null;
  target: string | null;
  detail: string | null;
  address: string | null;
  createdAt: number;
}

export interface AuditLog {
  /** an event with no change of its own to share a transaction with (a failed login) */
  record(type: AuditType, actor: AuditActor, target: string | null, detail: string | null): Promise<void>;
  /** newest first; `total` counts every entry, `subtotal` those the filter lets through */
  list(
    filter: { type?: string; actor?: string; target?: string },
    limit: number,
    offset: number,
  ): Promise<{ total: number; subtotal: number; events: AuditRow[] }>;
  /** deletes entries older than `days` by the database clock; returns how many */
  expire(days: number): Promise<number>;
}
