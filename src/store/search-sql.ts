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

export function compileFilter(filter: LockFilter, dialect: Dialect, staleCutoff: number): SqlFragment {
  switch (filter.kind) {
    case 'and':
    case 'or': {
      const left = compileFilter(filter.left, dialect, staleCutoff);
      const right = compileFilter(filter.right, dialect, staleCutoff);
      return {
        sql: `(${left.sql} ${filter.kind.toUpperCase()} ${right.sql})`,
        params: [...left.params, ...right.params],
      };
    }
    case 'not': {
      const inner = compileFilter(filter.inner, dialect, staleCutoff);
      return { sql: `(NOT ${inner.sql})`, params: inner.params };
    }
    case 'bool': {
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
