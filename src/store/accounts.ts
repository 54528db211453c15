// Users, API tokens and UI sessions: their row shapes, columns and mappings, and the SQL behind
// /api/users, /api/tokens and /api/session. Every change and its audit event are one
// transaction, so the trail never shows a change that did not happen (or misses one that did).
import { validationError } from '../errors.js';
import type { Role } from '../roles.js';
import { insertAudit } from './audit.js';
import { UniqueViolation, type Queryable, type Run, type Tx } from './sql.js';
import type { AccountStore, AccountUser, AuditActor, SessionRow, TokenRow, UserRow } from './store.js';

const USER_COLUMNS = 'id, login, password_hash, role, created_at, updated_at';

interface UserRecord {
  id: number;
  login: string;
  password_hash: string;
  role: string;
  created_at: number;
  updated_at: number;
}

function toAccountUser(r: UserRecord): AccountUser {
  return {
    id: Number(r.id),
    login: r.login,
    role: r.role as Role,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  };
}

/** with the password hash: for signing in, never for an answer */
function toUserRow(r: UserRecord): UserRow {
  return {
    id: Number(r.id),
    login: r.login,
    passwordHash: r.password_hash,
    role: r.role as Role,
    createdAt: Number(r.created_at),
  };
}

const TOKEN_SELECT = `SELECT t.id, t.user_id, u.login AS user_login, t.name, t.prefix, t.created_by, t.created_at,
  t.expires_at, t.revoked_at, t.last_used_at FROM api_tokens t JOIN users u ON u.id = t.user_id`;

interface TokenRecord {
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

const num = (v: number | null): number | null => (v === null ? null : Number(v));

function toTokenRow(r: TokenRecord): TokenRow {
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

async function userByLogin(q: Queryable, login: string, lockClause = ''): Promise<UserRecord | undefined> {
  return q.get<UserRecord>(`SELECT ${USER_COLUMNS} FROM users WHERE login = ?${lockClause}`, [login]);
}

/**
 * Refuses to leave the system without an admin. The admin rows are locked first so two
 * concurrent demotions on PostgreSQL cannot both see "another admin is left".
 */
async function assertOtherAdminLeft(tx: Tx, field: string, message: string): Promise<void> {
  const admins = await tx.all<{ id: number }>(`SELECT id FROM users WHERE role = 'admin'${tx.forUpdate}`);
  if (admins.length <= 1) throw validationError({ [field]: [message] });
}

export class Accounts implements AccountStore {
  constructor(
    private readonly write: Run,
    private readonly read: Run,
  ) {}

  listUsers(limit: number, offset: number): Promise<{ total: number; users: AccountUser[] }> {
    return this.read(async (q) => {
      const total = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM users');
      const rows = await q.all<UserRecord>(
        `SELECT ${USER_COLUMNS} FROM users ORDER BY LOWER(login), login LIMIT ? OFFSET ?`,
        [limit, offset],
      );
      return { total: Number(total?.n ?? 0), users: rows.map(toAccountUser) };
    });
  }

  getUser(login: string): Promise<AccountUser | undefined> {
    return this.read(async (q) => {
      const r = await userByLogin(q, login);
      return r ? toAccountUser(r) : undefined;
    });
  }

  /** the user with the password hash, to check a login's password */
  getCredentials(login: string): Promise<UserRow | undefined> {
    return this.read(async (q) => {
      const r = await userByLogin(q, login);
      return r ? toUserRow(r) : undefined;
    });
  }

  countUsers(): Promise<number> {
    return this.read(async (q) =>
      Number((await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM users'))?.n ?? 0),
    );
  }

  /**
   * `actor` null: the bootstrap admin, created by the server itself on an empty database before
   * anyone can act; it is not recorded in the audit trail.
   */
  createUser(
    input: { login: string; passwordHash: string; role: Role },
    actor: AuditActor | null,
  ): Promise<AccountUser> {
    return this.write(async (tx) => {
      const now = await tx.now();
      let r: UserRecord | undefined;
      try {
        r = await tx.get<UserRecord>(
          `INSERT INTO users (login, password_hash, role, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
           RETURNING ${USER_COLUMNS}`,
          [input.login, input.passwordHash, input.role, now, now],
        );
      } catch (err) {
        if (err instanceof UniqueViolation) throw validationError({ login: ['has already been taken'] });
        throw err;
      }
      if (actor) await insertAudit(tx, 'user_create', actor, input.login, `role ${input.role}`, now);
      return toAccountUser(r!);
    });
  }

  /** A new password also ends the user's UI sessions: whoever knew the old one is logged out. */
  updateUser(
    login: string,
    changes: { passwordHash?: string; role?: Role },
    actor: AuditActor,
  ): Promise<AccountUser | undefined> {
    return this.write(async (tx) => {
      const now = await tx.now();
      const current = await userByLogin(tx, login, tx.forUpdate);
      if (!current) return undefined;
      const roleChanged = changes.role !== undefined && changes.role !== current.role;
      if (roleChanged && current.role === 'admin') {
        await assertOtherAdminLeft(tx, 'role', 'cannot be changed: this is the last admin');
      }
      const r = await tx.get<UserRecord>(
        `UPDATE users SET password_hash = ?, role = ?, updated_at = ? WHERE id = ? RETURNING ${USER_COLUMNS}`,
        [changes.passwordHash ?? current.password_hash, changes.role ?? current.role, now, current.id],
      );
      if (changes.passwordHash !== undefined) {
        await tx.run('DELETE FROM sessions WHERE user_id = ?', [current.id]);
        await insertAudit(tx, 'password_change', actor, login, null, now);
      }
      if (roleChanged) {
        await insertAudit(tx, 'role_change', actor, login, `${current.role} -> ${changes.role}`, now);
      }
      return toAccountUser(r!);
    });
  }

  /** Deletes the user with its tokens and sessions (ON DELETE CASCADE). */
  deleteUser(login: string, actor: AuditActor): Promise<AccountUser | undefined> {
    return this.write(async (tx) => {
      const now = await tx.now();
      const current = await userByLogin(tx, login, tx.forUpdate);
      if (!current) return undefined;
      if (current.role === 'admin') {
        await assertOtherAdminLeft(tx, 'base', 'The last admin cannot be deleted');
      }
      await tx.run('DELETE FROM users WHERE id = ?', [current.id]);
      await insertAudit(tx, 'user_delete', actor, login, null, now);
      return toAccountUser(current);
    });
  }

  createToken(
    input: { login: string; name: string; tokenHash: string; prefix: string; expiresAt: number | null },
    actor: AuditActor,
  ): Promise<TokenRow> {
    return this.write(async (tx) => {
      const now = await tx.now();
      const user = await userByLogin(tx, input.login);
      if (!user) throw validationError({ user: ['does not name a user'] });
      const created = await tx.get<{ id: number }>(
        `INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_by, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
        [user.id, input.name, input.tokenHash, input.prefix, actor.login, now, input.expiresAt],
      );
      const row = await tx.get<TokenRecord>(`${TOKEN_SELECT} WHERE t.id = ?`, [created!.id]);
      await insertAudit(tx, 'token_create', actor, input.login, `token ${created!.id} "${input.name}"`, now);
      return toTokenRow(row!);
    });
  }

  listTokens(
    filter: { login?: string },
    limit: number,
    offset: number,
  ): Promise<{ total: number; tokens: TokenRow[] }> {
    return this.read(async (q) => {
      const where = filter.login === undefined ? '' : ' WHERE u.login = ?';
      const params = filter.login === undefined ? [] : [filter.login];
      const total = await q.get<{ n: number }>(
        `SELECT COUNT(*) AS n FROM api_tokens t JOIN users u ON u.id = t.user_id${where}`,
        params,
      );
      const rows = await q.all<TokenRecord>(`${TOKEN_SELECT}${where} ORDER BY t.id DESC LIMIT ? OFFSET ?`, [
        ...params,
        limit,
        offset,
      ]);
      return { total: Number(total?.n ?? 0), tokens: rows.map(toTokenRow) };
    });
  }

  getToken(id: number): Promise<TokenRow | undefined> {
    return this.read(async (q) => {
      const r = await q.get<TokenRecord>(`${TOKEN_SELECT} WHERE t.id = ?`, [id]);
      return r ? toTokenRow(r) : undefined;
    });
  }

  /** Revoking twice is harmless: the first revocation time stays, one audit event. */
  revokeToken(id: number, actor: AuditActor): Promise<TokenRow | undefined> {
    return this.write(async (tx) => {
      const now = await tx.now();
      const { changes } = await tx.run(
        'UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL',
        [now, id],
      );
      const r = await tx.get<TokenRecord>(`${TOKEN_SELECT} WHERE t.id = ?`, [id]);
      if (!r) return undefined;
      if (changes > 0)
        await insertAudit(tx, 'token_revoke', actor, r.user_login, `token ${id} "${r.name}"`, now);
      return toTokenRow(r);
    });
  }

  /** The token with this hash, its user (with the role as it is now) and the database's time. */
  findToken(tokenHash: string): Promise<{ token: TokenRow; user: UserRow; now: number } | undefined> {
    return this.read(async (q) => {
      const r = await q.get<TokenRecord>(`${TOKEN_SELECT} WHERE t.token_hash = ?`, [tokenHash]);
      if (!r) return undefined;
      const user = await q.get<UserRecord>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`, [r.user_id]);
      if (!user) return undefined;
      return { token: toTokenRow(r), user: toUserRow(user), now: await q.now() };
    });
  }

  touchToken(id: number): Promise<void> {
    return this.write(async (tx) => {
      await tx.run('UPDATE api_tokens SET last_used_at = ? WHERE id = ?', [await tx.now(), id]);
    });
  }

  /**
   * Starts a session and records the login. Sessions that have run out (idle or absolute) are
   * swept here, so the table holds only live ones without a separate job.
   */
  createSession(
    input: { idHash: string; user: { id: number; login: string }; idleMs: number; maxMs: number },
    actor: AuditActor,
  ): Promise<{ createdAt: number }> {
    return this.write(async (tx) => {
      const now = await tx.now();
      await tx.run('DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?', [
        now - input.idleMs,
        now - input.maxMs,
      ]);
      await tx.run(
        'INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at, address) VALUES (?, ?, ?, ?, ?)',
        [input.idHash, input.user.id, now, now, actor.address],
      );
      await insertAudit(tx, 'login', actor, input.user.login, 'session', now);
      return { createdAt: now };
    });
  }

  findSession(idHash: string): Promise<{ session: SessionRow; user: UserRow; now: number } | undefined> {
    return this.read(async (q) => {
      const r = await q.get<{ user_id: number; created_at: number; last_seen_at: number }>(
        'SELECT user_id, created_at, last_seen_at FROM sessions WHERE id_hash = ?',
        [idHash],
      );
      if (!r) return undefined;
      const user = await q.get<UserRecord>(`SELECT ${USER_COLUMNS} FROM users WHERE id = ?`, [r.user_id]);
      if (!user) return undefined;
      return {
        session: {
          userId: Number(r.user_id),
          createdAt: Number(r.created_at),
          lastSeenAt: Number(r.last_seen_at),
        },
        user: toUserRow(user),
        now: await q.now(),
      };
    });
  }

  touchSession(idHash: string): Promise<void> {
    return this.write(async (tx) => {
      await tx.run('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?', [await tx.now(), idHash]);
    });
  }

  /** Ends a session; `actor` records a logout, none means it simply ran out. */
  endSession(idHash: string, actor?: AuditActor): Promise<boolean> {
    return this.write(async (tx) => {
      const now = await tx.now();
      const { changes } = await tx.run('DELETE FROM sessions WHERE id_hash = ?', [idHash]);
      if (changes > 0 && actor) await insertAudit(tx, 'logout', actor, actor.login, null, now);
      return changes > 0;
    });
  }
}
