// Row shapes and mappings of the accounts tables (users, api_tokens, sessions, audit_events).
import type { Tx } from './sql.js';
import type { Role } from './store.js';
import type { UserRecord as BaseUserRecord } from './rows.js';

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

export type Run = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

export interface UserRecord extends BaseUserRecord {
  updated_at: number;
}

export const USER_COLUMNS = 'id, login, password_hash, role, created_at, updated_at';
export const TOKEN_SELECT = `SELECT t.id, t.user_id, u.login AS user_login, t.name, t.prefix, t.created_by, t.created_at,
  t.expires_at, t.revoked_at, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id`;

const num = (v: number | null): number | null => (v === null ? null : Number(v));

export function toAccountUser(r: UserRecord): AccountUser {
  return {
    id: Number(r.id),
    login: r.login,
    role: r.role as Role,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

export interface TokenRecord {
  id: number;
  user_id: number;
  user_login: string;
  name: string;
  prefix: string;
  created_by: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export function toTokenRow(r: TokenRecord): TokenRow {
  return {
    id: Number(r.id),
    userId: Number(r.user_id),
    userLogin: r.user_login,
    name: r.name,
    prefix: r.prefix,
    createdBy: r.created_by,
    createdAt: Number(r.created_at),
    expiresAt: num(r.expires_at),
    revokedAt: num(r.revoked_at),
    lastUsedAt: num(r.last_used_at),
  };
}
