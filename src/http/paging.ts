// Foreman's index wrapper for the accounts API's lists (users, tokens, hosts, audit).
import { parsePaging } from './query.js';

export interface Page {
  page: number;
  perPage: number;
  limit: number;
  offset: number;
}

export function pageOf(query: unknown): Page {
  const { page, perPage } = parsePaging((query ?? {}) as Record<string, unknown>);
  return { page, perPage, limit: perPage, offset: (page - 1) * perPage };
}

export function wrap<T>(
  p: Page,
  counts: { total: number; subtotal?: number },
  results: T[],
  extra: { search?: string | null; sort?: { by: string | null; order: string | null } } = {},
) {
  return {
    total: counts.total,
    subtotal: counts.subtotal ?? counts.total,
    page: p.page,
    per_page: p.perPage,
    search: extra.search ?? null,
    sort: extra.sort ?? { by: null, order: null },
    results,
  };
}
