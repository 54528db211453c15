// Users, API tokens, UI sessions and the audit trail: the SQL behind /api/users, /api/tokens,
// /api/session and /api/audit. Every change and its audit event are one transaction, so the
// trail never shows a change that did not happen (or misses one that did).
import { validationError } from '../errors.js';
import { UniqueViolation, type Queryable, type Tx } from './sql.js';
import {
  TOKEN_SELECT,
  toAccountUser,
  toTokenRow,
  USER_COLUMNS,
  type AccountUser,
  type AuditActor,
  type AuditRow,
  type AuditType,
  type Run,
  type SessionRow,
  type TokenRecord,
  type TokenRow,
  type UserRecord,
} from './accounts-rows.js';
import { toUserRow } from './rows.js';
import type { Role, UserRow } from './store.js';

export type { AccountUser, AuditActor, AuditRow, AuditType, Run, SessionRow, TokenRow };

export async function insertAudit(
  tx: Tx,
  type: AuditType,
  actor: AuditActor,
  target: string | null,
  detail: string | null,
  now: number,
): Promise<void> {
  await tx.run(
    `INSERT INTO audit_events (event_type, actor_user_id, actor_login, target, detail, address, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [type, actor.userId, actor.login, target, detail, actor.address, now],
  );
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

export class Accounts {
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

  recordAudit(
    type: AuditType,
    actor: AuditActor,
    target: string | null,
    detail: string | null,
  ): Promise<void> {
    return this.write(async (tx) => insertAudit(tx, type, actor, target, detail, await tx.now()));
  }

  listAudit(
    filter: { type?: string; actor?: string; target?: string },
    limit: number,
    offset: number,
  ): Promise<{ total: number; subtotal: number; events: AuditRow[] }> {
    return this.read(async (q) => {
      const clauses: string[] = [];
      const params: unknown[] = [];
      for (const [column, value] of [
        ['event_type', filter.type],
        ['actor_login', filter.actor],
        ['target', filter.target],
      ] as const) {
        if (value !== undefined) {
          clauses.push(`${column} = ?`);
          params.push(value);
        }
      }
      const where = clauses.length ? ` WHERE ${clauses.join(' AND ')}` : '';
      const total = await q.get<{ n: number }>('SELECT COUNT(*) AS n FROM audit_events');
      const subtotal = await q.get<{ n: number }>(`SELECT COUNT(*) AS n FROM audit_events${where}`, params);
      const rows = await q.all<{
        id: number;
        event_type: string;
        actor_login: string | null;
        target: string | null;
        detail: string | null;
        address: string | null;
        created_at: number;
      }>(
        `SELECT id, event_type, actor_login, target, detail, address, created_at FROM audit_events${where}
         ORDER BY id DESC LIMIT ? OFFSET ?`,
        [...params, limit, offset],
      );
      return {
        total: Number(total?.n ?? 0),
        subtotal: Number(subtotal?.n ?? 0),
        events: rows.map((r) => ({
          id: Number(r.id),
          type: r.event_type,
          actorLogin: r.actor_login,
          target: r.target,
          detail: r.detail,
          address: r.address,
          createdAt: Number(r.created_at),
        })),
      };
    });
  }
}
