// The audit trail (audit_events): who changed what, written in the same transaction as the
// change (`insertAudit`), listed for /api/audit and expired by the retention job.
import type { AuditActor, AuditLog, AuditRow, AuditType } from './store.js';
import type { Run, Tx } from './sql.js';

const AUDIT_COLUMNS = 'id, event_type, actor_login, target, detail, address, created_at';

interface AuditRecord {
  id: number;
  event_type: string;
  actor_login: string | null;
  target: string | null;
  detail: string | null;
  address: string | null;
  created_at: number;
}

function toAuditRow(r: AuditRecord): AuditRow {
  return {
    id: Number(r.id),
    type: r.event_type,
    actorLogin: r.actor_login,
    target: r.target,
    detail: r.detail,
    address: r.address,
    createdAt: Number(r.created_at),
  };
}

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

export class AuditTrail implements AuditLog {
  constructor(
    private readonly write: Run,
    private readonly read: Run,
  ) {}

  record(type: AuditType, actor: AuditActor, target: string | null, detail: string | null): Promise<void> {
    return this.write(async (tx) => insertAudit(tx, type, actor, target, detail, await tx.now()));
  }

  list(
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
      const rows = await q.all<AuditRecord>(
        `SELECT ${AUDIT_COLUMNS} FROM audit_events${where} ORDER BY id DESC LIMIT ? OFFSET ?`,
        [...params, limit, offset],
      );
      return {
        total: Number(total?.n ?? 0),
        subtotal: Number(subtotal?.n ?? 0),
        events: rows.map(toAuditRow),
      };
    });
  }

  expire(days: number): Promise<number> {
    return this.write(async (tx) => {
      const cutoff = (await tx.now()) - days * 86_400_000;
      return (await tx.run('DELETE FROM audit_events WHERE created_at < ?', [cutoff])).changes;
    });
  }
}
