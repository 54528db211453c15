// Foreman's index parameters: search, order, page, per_page. Bad values are 422s that say
// what is accepted, never a 500 and never silently ignored.
import { AppError } from '../errors.js';
import { parseSearch, type LockFilter } from '../search/parse.js';
import type { ListLocksQuery } from '../store/store.js';

export const DEFAULT_PER_PAGE = 20;
export const MAX_PER_PAGE = 1000;

// held_since (a keyholder extension): stale locks first, then the longest held, free locks last
const ORDER_FIELDS = ['name', 'type', 'id', 'enabled', 'created_at', 'updated_at', 'held_since'] as const;
type OrderField = (typeof ORDER_FIELDS)[number];

export interface IndexParams {
  search: string | null;
  filter: LockFilter | null;
  order: { by: OrderField; desc: boolean; given: boolean };
  page: number;
  perPage: number;
}

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new AppError('invalid_pagination', `Invalid pagination: '${name}' must be given once`);
  return value;
}

function positiveInt(raw: string | undefined, name: string, fallback: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d{1,9}$/.test(raw) || Number(raw) < 1 || Number(raw) > max) {
    throw new AppError(
      'invalid_pagination',
      `Invalid pagination: '${name}' must be an integer from 1 to ${max}, not '${raw.slice(0, 40)}'`,
    );
  }
  return Number(raw);
}

export function parsePaging(query: Record<string, unknown>): { page: number; perPage: number } {
  return {
    page: positiveInt(single(query.page, 'page'), 'page', 1, 1_000_000),
    perPage: positiveInt(single(query.per_page, 'per_page'), 'per_page', DEFAULT_PER_PAGE, MAX_PER_PAGE),
  };
}

export function parseIndexParams(query: Record<string, unknown>): IndexParams {
  const search = single(query.search, 'search');
  const orderRaw = single(query.order, 'order')?.trim();
  let order: IndexParams['order'] = { by: 'name', desc: false, given: false };
  if (orderRaw) {
    const m = /^([a-z_]+)(?:\s+(asc|desc))?$/i.exec(orderRaw);
    const by = m?.[1]?.toLowerCase() as OrderField | undefined;
    if (!m || !by || !ORDER_FIELDS.includes(by)) {
      throw new AppError(
        'invalid_search',
        `Invalid order '${orderRaw.slice(0, 60)}': use one of ${ORDER_FIELDS.join(', ')}, optionally followed by ASC or DESC`,
      );
    }
    order = { by, desc: m[2]?.toUpperCase() === 'DESC', given: true };
  }
  return {
    search: search && search.trim() !== '' ? search : null,
    filter: parseSearch(search),
    order,
    ...parsePaging(query),
  };
}

export function toListQuery(p: IndexParams, staleAfterMs: number): ListLocksQuery {
  return {
    filter: p.filter,
    order: { by: p.order.by, desc: p.order.desc },
    limit: p.perPage,
    offset: (p.page - 1) * p.perPage,
    staleAfterMs,
  };
}
