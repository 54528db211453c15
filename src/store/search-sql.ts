// Compiles a parsed lock search into a parameterised WHERE clause over `locks l`.
import type { LockFilter } from '../search/parse.js';
import type { Dialect } from './sql.js';

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

function likePattern(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
}

const HOLDER_EXISTS = 'EXISTS (SELECT 1 FROM lock_holders lh WHERE lh.lock_id = l.id';
// a live blocking acquire: before its deadline, on an instance that is still alive (as the
// overview counts it); lock_waiters_lock (lock_id, id) finds a lock's waiters
const WAITER_EXISTS = `EXISTS (SELECT 1 FROM lock_waiters w JOIN instances i ON i.id = w.instance_id
  WHERE w.lock_id = l.id AND w.deadline > ? AND i.expires_at > ?)`;

// a gate of the lock (one it still has gates) whose last recorded outcome is a failure;
// lock_gate_states' key (lock_id, gate_name) finds a lock's rows
const GATE_FAILING = `(l.gates IS NOT NULL AND EXISTS (SELECT 1 FROM lock_gate_states g
  WHERE g.lock_id = l.id AND g.ok = ?))`;

export interface FilterContext {
  /** holders refreshed before this are stale */
  staleCutoff: number;
  /** the database clock */
  now: number;
  /** ids of the locks outside their window now; only needed when the filter asks (usesWindowState) */
  outsideWindow?: readonly number[];
}

/** `l.id` among a list of ids, as one parameter (a JSON array), however long the list. */
function idIn(ids: readonly number[], dialect: Dialect): SqlFragment {
  const sql =
    dialect === 'postgres'
      ? 'l.id IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))::bigint)'
      : 'l.id IN (SELECT value FROM json_each(?))';
  return { sql, params: [JSON.stringify(ids)] };
}

export function compileFilter(filter: LockFilter, dialect: Dialect, ctx: FilterContext): SqlFragment {
  const staleCutoff = ctx.staleCutoff;
  switch (filter.kind) {
    case 'and':
    case 'or': {
      const left = compileFilter(filter.left, dialect, ctx);
      const right = compileFilter(filter.right, dialect, ctx);
      return {
        sql: `(${left.sql} ${filter.kind.toUpperCase()} ${right.sql})`,
        params: [...left.params, ...right.params],
      };
    }
    case 'not': {
      const inner = compileFilter(filter.inner, dialect, ctx);
      return { sql: `(NOT ${inner.sql})`, params: inner.params };
    }
    case 'window': {
      if (!ctx.outsideWindow) throw new Error('window search compiled without the window state');
      const closed = idIn(ctx.outsideWindow, dialect);
      return filter.closed ? closed : { sql: `(NOT ${closed.sql})`, params: closed.params };
    }
    case 'gate':
      return { sql: filter.failing ? GATE_FAILING : `(NOT ${GATE_FAILING})`, params: [false] };
    case 'bool': {
      if (filter.field === 'waiting') {
        return { sql: filter.value ? WAITER_EXISTS : `(NOT ${WAITER_EXISTS})`, params: [ctx.now, ctx.now] };
      }
      const sql =
        filter.field === 'enabled'
          ? 'l.enabled = ?'
          : filter.field === 'locked'
            ? `${HOLDER_EXISTS})`
            : `${HOLDER_EXISTS} AND lh.refreshed_at < ?)`;
      const params = filter.field === 'enabled' ? [true] : filter.field === 'stale' ? [staleCutoff] : [];
      return { sql: filter.value ? sql : `(NOT ${sql})`, params };
    }
    case 'text': {
      const like = dialect === 'postgres' ? 'ILIKE' : 'LIKE';
      const negate = filter.op === 'ne' || filter.op === 'notlike';
      const cmp = filter.op === 'eq' || filter.op === 'ne' ? '= ?' : `${like} ? ESCAPE '\\'`;
      const value = filter.op === 'eq' || filter.op === 'ne' ? filter.value : likePattern(filter.value);
      const sql =
        filter.field === 'host'
          ? `${HOLDER_EXISTS} AND lh.host_id IN (SELECT ho.id FROM hosts ho WHERE ho.name ${cmp}))`
          : `l.${filter.field} ${cmp}`;
      return { sql: negate ? `(NOT ${sql})` : sql, params: [value] };
    }
  }
}
