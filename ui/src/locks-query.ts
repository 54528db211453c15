// What the locks list asks the API for, from the list's URL state: shared by the page and by
// the early read that starts before the page's code has loaded (early.ts), so both ask the
// very same path.
import { query } from './api';

export type LockFilterName = 'held' | 'stale' | 'waiting' | 'disabled' | 'outside_window' | 'gate_failing';

/** How each counter narrows the list, in the API's search syntax (undefined: no search field yet). */
export const FILTER_SEARCH: Record<LockFilterName, string | undefined> = {
  held: 'locked = true',
  stale: 'stale = true',
  waiting: 'waiting = true',
  disabled: 'enabled = false',
  outside_window: 'window = closed',
  gate_failing: 'gate = failing',
};

// columns the API can order by (`order=field ASC|DESC`), with their column index
export const SORTABLE = { name: 0, held_since: 2, enabled: 3, updated_at: 4 } as const;
export type SortField = keyof typeof SORTABLE;

export const LIST_DEFAULTS = {
  q: '',
  filter: '',
  order: 'held_since',
  dir: 'asc',
  page: '1',
  per_page: '20',
};
export type ListUrl = typeof LIST_DEFAULTS;

export const OVERVIEW_PATH = '/api/overview?days=3';

export function intParam(value: string, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The user's search combined with a counter's filter; positions in errors refer to `search`. */
export function combined(search: string, filter: string): { text: string; shift: number } {
  const clause = FILTER_SEARCH[filter as LockFilterName];
  if (!clause) return { text: search, shift: 0 };
  if (!search.trim()) return { text: clause, shift: 0 };
  return { text: `(${search}) and ${clause}`, shift: 1 };
}

export function listUrlOf(params: URLSearchParams): ListUrl {
  const state = { ...LIST_DEFAULTS };
  for (const key of Object.keys(LIST_DEFAULTS) as (keyof ListUrl)[]) {
    const v = params.get(key);
    if (v !== null) state[key] = v;
  }
  return state;
}

export function locksListPath(url: ListUrl): {
  path: string;
  shift: number;
  order: SortField;
  dir: 'asc' | 'desc';
} {
  const order = (url.order in SORTABLE ? url.order : 'held_since') as SortField;
  const dir = url.dir === 'desc' ? 'desc' : 'asc';
  const search = combined(url.q, url.filter);
  const path = `/api/dlmlocks${query({
    search: search.text,
    order: `${order} ${dir.toUpperCase()}`,
    page: intParam(url.page, 1),
    per_page: intParam(url.per_page, 20),
  })}`;
  return { path, shift: search.shift, order, dir };
}
