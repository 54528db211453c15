// The UI talks only to the public JSON API, with the session cookie (set by POST /api/session)
// and the session's CSRF token on every change, as any other API client would.

export type Role = 'viewer' | 'operator' | 'admin';

export interface SessionInfo {
  user: { id: number; login: string; role: Role };
  csrf_token: string | null;
  expires_at: string | null;
}

export interface Page<T> {
  total: number;
  subtotal: number;
  page: number;
  per_page: number;
  results: T[];
}

export interface Holder {
  name: string;
  acquired_at: string;
  fencing_token: number;
  expires_at: string | null;
}

/** Exactly one day rule: weekly `days`, monthly `nth_weekday` or `days_of_month`. */
export interface Window {
  days?: string[];
  nth_weekday?: { nth: number; day: string };
  days_of_month?: number[];
  start: string;
  duration_minutes: number;
  time_zone: string;
}

export interface Lock {
  id: number;
  name: string;
  enabled: boolean;
  type: string;
  created_at: string;
  updated_at: string;
  max_holders: number;
  lease_seconds: number | null;
  fencing_token: number | null;
  /** the lock's own counter: the last token handed out */
  fencing_counter?: number;
  stale: boolean;
  windows?: Window[];
  next_window_at?: string | null;
  holders: Holder[];
  /** the limit as given: a number or a percentage of the members ("10%") */
  max_holders_rule?: number | string;
  members_count?: number | null;
  members_days?: number;
  blackouts?: Blackout[];
  paused_until?: string | null;
  pause_reason?: string | null;
  /** nested locks: the parent's name (null: none) and the children's names */
  parent?: string | null;
  children?: string[];
  /** health gates checked before a new holder is admitted (servers with gates only) */
  gates?: Gate[];
  /** each gate's last check */
  gate_status?: GateStatus[];
}

/** Whole local days on which no new holder is admitted (inclusive). */
export interface Blackout {
  from: string;
  to: string;
  time_zone: string;
  reason?: string;
}

/** A health gate as the API describes it: `name`, `type` and the type's own settings. */
export interface Gate {
  name: string;
  type: string;
  [setting: string]: unknown;
}

export interface GateStatus {
  name: string;
  ok: boolean;
  detail: string | null;
  checked_at: string | null;
}

export interface LockEvent {
  id: number;
  lock?: { id: number | null; name: string };
  event_type: string;
  created_at: string;
  host: { name: string } | null;
  user: { login: string } | null;
  detail: string | null;
}

export interface Host {
  id: number;
  name: string;
  can_acquire_locks: boolean;
  created_at: string;
  last_checkin_at: string | null;
  locks_held: number;
  stale: boolean;
  locks: { id: number; name: string; acquired_at: string; stale: boolean }[];
}

export interface User {
  id: number;
  login: string;
  role: Role;
  created_at: string;
}

export interface Token {
  id: number;
  name: string;
  user: { login: string };
  prefix: string;
  state: 'active' | 'expired' | 'revoked';
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** An answer other than 2xx, with the API's own message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** per-field messages of a 422 (`error.errors`) */
    readonly fields: Record<string, string[]> = {},
  ) {
    super(message);
  }
}

/** The message and, for a validation failure, what is wrong with each field. */
export function explain(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const fields = err instanceof ApiError ? Object.entries(err.fields) : [];
  // the API's message usually says it already; the fields only when it is the bare title
  if (fields.length === 0 || err.message !== 'Validation failed') return err.message;
  return `${err.message}: ${fields.map(([f, msgs]) => `${f} ${msgs.join(', ')}`).join('; ')}`;
}

let csrfToken: string | null = null;

/** Remembered from the login answer or GET /api/session; sent with every change. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
  const text = await res.text();
  const json: unknown = text ? safeJson(text) : undefined;
  if (!res.ok) {
    const error = (json as { error?: { message?: string; errors?: Record<string, string[]> } } | undefined)
      ?.error;
    throw new ApiError(res.status, error?.message ?? `${res.status} ${res.statusText}`, error?.errors ?? {});
  }
  return json as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export const lockPath = (ref: string | number) => `/api/dlmlocks/${encodeURIComponent(String(ref))}`;

export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
