// Compiles a parsed search (src/search/parse.ts) into a parameterised WHERE clause: the one
// compiler for both lists that take the search syntax, locks (over `locks l`) and hosts (over
// `hosts ho`). The connectives, comparisons and escaping are shared; what each field means is
// the table's (`SearchTable`), and a field a table lacks is an invalid_search naming it.
import { AppError } from '../errors.js';
import type { BoolField, LockFilter, TextField } from '../search/parse.js';
import type { Dialect } from './sql.js';

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

export interface FilterContext {
  /** holders refreshed before this are stale */
  staleCutoff: number;
  /** the database clock */
  now: number;
  /** ids of the locks outside their window now; only needed when the filter asks (usesWindowState) */
  outsideWindow?: readonly number[];
}

/** What the search's fields mean over one table. */
export interface SearchTable {
  /** `field = true` */
  bool(field: BoolField, ctx: FilterContext, dialect: Dialect): SqlFragment;
  /** `field` compared by `cmp` (`= ?` or a LIKE with one parameter) */
  text(field: TextField, cmp: string, dialect: Dialect): string;
  /** `window = closed` */
  outsideWindow(dialect: Dialect, ctx: FilterContext): SqlFragment;
  /** `gate = failing` */
  gateFailing(): SqlFragment;
}

function likePattern(value: string): string {
  return `%${value.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
}

const negated = (f: SqlFragment): SqlFragment => ({ sql: `(NOT ${f.sql})`, params: f.params });

export function compileFilter(
  filter: LockFilter,
  dialect: Dialect,
  ctx: FilterContext,
  table: SearchTable = LOCK_SEARCH,
): SqlFragment {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      const left = compileFilter(filter.left, dialect, ctx, table);
      const right = compileFilter(filter.right, dialect, ctx, table);
      return {
        sql: `(${left.sql} ${filter.kind.toUpperCase()} ${right.sql})`,
        params: [...left.params, ...right.params],
      };
    }
    case 'not':
      return negated(compileFilter(filter.inner, dialect, ctx, table));
    case 'window': {
      const closed = table.outsideWindow(dialect, ctx);
      return filter.closed ? closed : negated(closed);
    }
    case 'gate': {
      const failing = table.gateFailing();
      return filter.failing ? failing : negated(failing);
    }
    case 'bool': {
      const isTrue = table.bool(filter.field, ctx, dialect);
      return filter.value ? isTrue : negated(isTrue);
    }
    case 'text': {
      const exact = filter.op === 'eq' || filter.op === 'ne';
      const like = dialect === 'postgres' ? 'ILIKE' : 'LIKE';
      const sql = table.text(filter.field, exact ? '= ?' : `${like} ? ESCAPE '\\'`, dialect);
      const compared = { sql, params: [exact ? filter.value : likePattern(filter.value)] };
      return filter.op === 'ne' || filter.op === 'notlike' ? negated(compared) : compared;
    }
  }
}

// ---- locks ----

/**
 * A lock's holders are in its row (migration 14): `holder_count` says whether it has any without
 * looking at them, and only the held locks' own arrays are read, for a holder with `field` (a
 * number) matching `condition` — not the `lock_holders` view, which would find each row again.
 * SQLite at 100k locks, half held: `stale = true` 546 ms through the view, 225 ms this way.
 */
function holderWhere(dialect: Dialect, field: string, condition: string): string {
  const element =
    dialect === 'postgres'
      ? `SELECT 1 FROM jsonb_array_elements(l.holders) AS e WHERE (e->>'${field}')::bigint ${condition}`
      : `SELECT 1 FROM json_each(l.holders) AS e WHERE json_extract(e.value, '$.${field}') ${condition}`;
  return `(l.holder_count > 0 AND EXISTS (${element}))`;
}
// a live blocking acquire: before its deadline, on an instance that is still alive (as the
// overview counts it); lock_waiters_lock (lock_id, id) finds a lock's waiters
const WAITER_EXISTS = `EXISTS (SELECT 1 FROM lock_waiters w JOIN instances i ON i.id = w.instance_id
  WHERE w.lock_id = l.id AND w.deadline > ? AND i.expires_at > ?)`;

// a gate of the lock (one it still has gates) whose last recorded outcome is a failure;
// lock_gate_states' key (lock_id, gate_name) finds a lock's rows
const GATE_FAILING = `(l.gates IS NOT NULL AND EXISTS (SELECT 1 FROM lock_gate_states g
  WHERE g.lock_id = l.id AND g.ok = ?))`;

/** `l.id` among a list of ids, as one parameter (a JSON array), however long the list. */
function idIn(ids: readonly number[], dialect: Dialect): SqlFragment {
  const sql =
    dialect === 'postgres'
      ? 'l.id IN (SELECT jsonb_array_elements_text(CAST(? AS jsonb))::bigint)'
      : 'l.id IN (SELECT value FROM json_each(?))';
  return { sql, params: [JSON.stringify(ids)] };
}

export const LOCK_SEARCH: SearchTable = {
  bool(field, ctx, dialect) {
    switch (field) {
      case 'waiting':
        return { sql: WAITER_EXISTS, params: [ctx.now, ctx.now] };
      case 'enabled':
        return { sql: 'l.enabled = ?', params: [true] };
      case 'locked':
        return { sql: 'l.holder_count > 0', params: [] };
      case 'stale':
        return { sql: holderWhere(dialect, 'refreshed_at', '< ?'), params: [ctx.staleCutoff] };
    }
  },
  text(field, cmp, dialect) {
    return field === 'host'
      ? holderWhere(dialect, 'host_id', `IN (SELECT ho.id FROM hosts ho WHERE ho.name ${cmp})`)
      : `l.${field} ${cmp}`;
  },
  outsideWindow(dialect, ctx) {
    if (!ctx.outsideWindow) throw new Error('window search compiled without the window state');
    return idIn(ctx.outsideWindow, dialect);
  },
  gateFailing() {
    return { sql: GATE_FAILING, params: [false] };
  },
};

// ---- hosts: `name`/`host` match the host's name, `locked` means it holds a lock, `stale` that
// it holds a stale one, `enabled` is `can_acquire_locks` ----

// the hosts that hold (stale) locks, in one pass over the held locks: since migration 14 no
// index finds a host's holdings, so a look per host would read every lock's holders each time
const HOLDS = 'ho.id IN (SELECT lh.host_id FROM lock_holders lh';

const hostsHaveNo = (what: string, hint = '') =>
  new AppError('invalid_search', `Invalid search query: hosts have no '${what}'${hint}`);
const USE_INSTEAD = '; use name, locked, stale or enabled';

export const HOST_SEARCH: SearchTable = {
  bool(field, ctx) {
    switch (field) {
      case 'waiting':
        throw hostsHaveNo('waiting', USE_INSTEAD);
      case 'enabled':
        return { sql: 'ho.can_acquire_locks = ?', params: [true] };
      case 'locked':
        return { sql: `${HOLDS})`, params: [] };
      case 'stale':
        return { sql: `${HOLDS} WHERE lh.refreshed_at < ?)`, params: [ctx.staleCutoff] };
    }
  },
  text(field, cmp) {
    if (field === 'type') throw hostsHaveNo('type', USE_INSTEAD);
    return `ho.name ${cmp}`;
  },
  outsideWindow() {
    throw hostsHaveNo('window');
  },
  gateFailing() {
    throw hostsHaveNo('gate');
  },
};
