// Health gates: conditions outside keyholder (a Prometheus query, Alertmanager's alerts, an HTTP
// health endpoint, the lock's members' check-ins) that must hold before a NEW holder is admitted.
// This file is the pure part: the definitions, their validation, and the rule that turns the
// verdicts the service fetched (src/gates/) into admit / refuse / "check the gates first".
// A verdict counts only for the definition it was fetched for (`gateKey`), so a gate changed
// while its check was in flight is checked again instead of passing on a stale answer.

export const GATE_TYPES = ['prometheus', 'alertmanager', 'http', 'checkins'] as const;
export type GateType = (typeof GATE_TYPES)[number];

export const COMPARISONS = ['<', '<=', '>', '>=', '==', '!='] as const;
export type Comparison = (typeof COMPARISONS)[number];

export const MAX_GATES = 20;
export const DEFAULT_CACHE_SECONDS = 10;
export const MAX_CACHE_SECONDS = 3600;
export const DEFAULT_TIMEOUT_SECONDS = 5;
export const MAX_TIMEOUT_SECONDS = 30;
const MAX_WITHIN_SECONDS = 366 * 86_400;
/** a gate name travels in X-Lock-Gate and metric labels: plain, short */
const GATE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Alertmanager's matcher syntax: label, operator, value (quoted or not) */
const MATCHER = /^\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*\S.*$/;

interface GateCommon {
  name: string;
  cache_seconds: number;
}

/** a gate that asks another system over HTTP(S) */
interface RemoteGate extends GateCommon {
  url: string;
  timeout_seconds: number;
  /** the NAME of a credential in the config file (gates.credentials), never the secret */
  credentials?: string;
}

export type PrometheusExpect = 'empty' | { op: Comparison; value: number };

export interface PrometheusGate extends RemoteGate {
  type: 'prometheus';
  query: string;
  expect: PrometheusExpect;
}

export interface AlertmanagerGate extends RemoteGate {
  type: 'alertmanager';
  matchers: string[];
}

export interface HttpGate extends RemoteGate {
  type: 'http';
  body_regex?: string;
}

export interface CheckinsGate extends GateCommon {
  type: 'checkins';
  /** "90%" of the lock's members, or a number of hosts */
  min: string | number;
  within_seconds: number;
}

export type GateDefinition = PrometheusGate | AlertmanagerGate | HttpGate | CheckinsGate;

/** What the service found when it checked a gate. */
export interface GateVerdict {
  /** `gateKey` of the definition checked */
  key: string;
  ok: boolean;
  /** short, secret-free: "2 series", "HTTP 503", "timed out after 5 s" */
  detail: string;
}

export type GateVerdicts = ReadonlyMap<string, GateVerdict>;
export const NO_VERDICTS: GateVerdicts = new Map();

/** Identifies a definition: the same name with other settings is another gate. */
export function gateKey(gate: GateDefinition): string {
  return JSON.stringify(gate);
}

export type GateCheck =
  { kind: 'pass' } | { kind: 'needed' } | { kind: 'failed'; gate: string; detail: string };

/**
 * The gates' answer for a request the lock would otherwise admit: every gate has a verdict
 * for its current definition and all passed, one failed (the first in the lock's order), or
 * some verdict is missing (the service checks and asks again).
 */
export function checkGates(gates: readonly GateDefinition[], verdicts: GateVerdicts): GateCheck {
  let needed = false;
  for (const gate of gates) {
    const verdict = verdicts.get(gate.name);
    if (!verdict || verdict.key !== gateKey(gate)) needed = true;
    else if (!verdict.ok) return { kind: 'failed', gate: gate.name, detail: verdict.detail };
  }
  return needed ? { kind: 'needed' } : { kind: 'pass' };
}

/** Whether `value` satisfies `expect` (Prometheus scalar gates). */
export function compare(value: number, op: Comparison, threshold: number): boolean {
  switch (op) {
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const COMMON_KEYS = ['name', 'type', 'cache_seconds'];
const REMOTE_KEYS = [...COMMON_KEYS, 'url', 'timeout_seconds', 'credentials'];
const KEYS: Record<GateType, string[]> = {
  prometheus: [...REMOTE_KEYS, 'query', 'expect'],
  alertmanager: [...REMOTE_KEYS, 'matchers'],
  http: [...REMOTE_KEYS, 'body_regex'],
  checkins: [...COMMON_KEYS, 'min', 'within_seconds'],
};

function numberIn(raw: unknown, min: number, max: number, integer: boolean): number | undefined {
  if (typeof raw !== 'number' || !Number.isFinite(raw) || (integer && !Number.isInteger(raw)))
    return undefined;
  return raw >= min && raw <= max ? raw : undefined;
}

function parseUrl(raw: unknown, at: string, problems: string[]): string | undefined {
  if (typeof raw !== 'string' || raw.length > 2048) {
    problems.push(`${at} url must be an http:// or https:// URL`);
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`${at} url must be an http:// or https:// URL`);
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    problems.push(`${at} url must be an http:// or https:// URL`);
    return undefined;
  }
  if (url.username || url.password) {
    // a secret in the URL would be shown by the API: it belongs in gates.credentials
    problems.push(`${at} url must not carry a user or password; name a credential from the config instead`);
    return undefined;
  }
  return raw;
}

function parseRemote(g: Record<string, unknown>, at: string, problems: string[]) {
  const url = parseUrl(g.url, at, problems);
  const timeout =
    g.timeout_seconds === undefined
      ? DEFAULT_TIMEOUT_SECONDS
      : numberIn(g.timeout_seconds, 0.1, MAX_TIMEOUT_SECONDS, false);
  if (timeout === undefined)
    problems.push(`${at} timeout_seconds must be a number from 0.1 to ${MAX_TIMEOUT_SECONDS}`);
  let credentials: string | undefined;
  if (g.credentials !== undefined) {
    if (typeof g.credentials !== 'string' || !GATE_NAME.test(g.credentials)) {
      problems.push(
        `${at} credentials must be the name of a credential in the config file (gates.credentials)`,
      );
    } else credentials = g.credentials;
  }
  return { url: url ?? '', timeout_seconds: timeout ?? DEFAULT_TIMEOUT_SECONDS, credentials };
}

function parseExpect(raw: unknown, at: string, problems: string[]): PrometheusExpect {
  if (raw === 'empty') return 'empty';
  if (
    isObject(raw) &&
    Object.keys(raw).every((k) => k === 'op' || k === 'value') &&
    (COMPARISONS as readonly unknown[]).includes(raw.op) &&
    typeof raw.value === 'number' &&
    Number.isFinite(raw.value)
  ) {
    return { op: raw.op as Comparison, value: raw.value };
  }
  problems.push(`${at} expect must be "empty" or {"op": one of ${COMPARISONS.join(' ')}, "value": a number}`);
  return 'empty';
}

function parseMin(raw: unknown, at: string, problems: string[]): string | number {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 1 && raw <= 1_000_000) return raw;
  if (typeof raw === 'string' && /^\d{1,3}(\.\d{1,2})?%$/.test(raw)) {
    const percent = Number(raw.slice(0, -1));
    if (percent > 0 && percent <= 100) return raw;
  }
  problems.push(`${at} min must be a whole number of hosts (at least 1) or a percentage like "90%"`);
  return 1;
}

function parseGate(raw: unknown, at: string, problems: string[]): GateDefinition | undefined {
  if (!isObject(raw)) {
    problems.push(`${at} must be an object`);
    return undefined;
  }
  const before = problems.length;
  const name = typeof raw.name === 'string' && GATE_NAME.test(raw.name) ? raw.name : undefined;
  if (!name) problems.push(`${at} name must be 1-64 letters, digits, '.', '_' or '-'`);
  const label = name ? `gate '${name}'` : at;
  const type = (GATE_TYPES as readonly unknown[]).includes(raw.type) ? (raw.type as GateType) : undefined;
  if (!type) {
    problems.push(`${label} type must be one of ${GATE_TYPES.join(', ')}`);
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!KEYS[type].includes(key)) problems.push(`${label} has an unknown key '${key}' for type ${type}`);
  }
  const cache =
    raw.cache_seconds === undefined
      ? DEFAULT_CACHE_SECONDS
      : numberIn(raw.cache_seconds, 0, MAX_CACHE_SECONDS, true);
  if (cache === undefined)
    problems.push(`${label} cache_seconds must be a whole number from 0 to ${MAX_CACHE_SECONDS}`);
  const common = { name: name ?? '', cache_seconds: cache ?? DEFAULT_CACHE_SECONDS };
  let gate: GateDefinition;
  if (type === 'checkins') {
    const within = numberIn(raw.within_seconds, 1, MAX_WITHIN_SECONDS, true);
    if (within === undefined)
      problems.push(`${label} within_seconds must be a whole number from 1 to ${MAX_WITHIN_SECONDS}`);
    gate = { ...common, type, min: parseMin(raw.min, label, problems), within_seconds: within ?? 1 };
  } else {
    const { credentials, ...remote } = parseRemote(raw, label, problems);
    const withCredentials = credentials === undefined ? {} : { credentials };
    if (type === 'prometheus') {
      if (typeof raw.query !== 'string' || raw.query.trim() === '' || raw.query.length > 4096) {
        problems.push(`${label} query must be a PromQL expression (at most 4096 characters)`);
      }
      const expect = parseExpect(raw.expect, label, problems);
      gate = { ...common, type, ...remote, ...withCredentials, query: String(raw.query), expect };
    } else if (type === 'alertmanager') {
      const matchers = raw.matchers ?? [];
      const valid =
        Array.isArray(matchers) &&
        matchers.length <= 50 &&
        matchers.every((m) => typeof m === 'string' && m.length <= 512 && MATCHER.test(m));
      if (!valid) {
        problems.push(
          `${label} matchers must be a list of Alertmanager matchers like "severity=critical" or 'cluster=~"db.*"'`,
        );
      }
      gate = {
        ...common,
        type,
        ...remote,
        ...withCredentials,
        matchers: valid ? (matchers as string[]) : [],
      };
    } else {
      let bodyRegex: string | undefined;
      if (raw.body_regex !== undefined) {
        if (typeof raw.body_regex !== 'string' || raw.body_regex.length > 1024) {
          problems.push(`${label} body_regex must be a regular expression (at most 1024 characters)`);
        } else {
          try {
            new RegExp(raw.body_regex);
            bodyRegex = raw.body_regex;
          } catch {
            problems.push(`${label} body_regex is not a valid regular expression`);
          }
        }
      }
      gate = {
        ...common,
        type,
        ...remote,
        ...withCredentials,
        ...(bodyRegex === undefined ? {} : { body_regex: bodyRegex }),
      };
    }
  }
  return problems.length === before ? gate : undefined;
}

/** A lock's `gates` as given in a create/update body; `null` clears them like `[]`. */
export function parseGates(raw: unknown): { gates: GateDefinition[]; problems: string[] } {
  if (raw === null) return { gates: [], problems: [] };
  if (!Array.isArray(raw)) return { gates: [], problems: ['must be a list of gates (or [] to remove them)'] };
  if (raw.length > MAX_GATES) return { gates: [], problems: [`at most ${MAX_GATES} gates`] };
  const problems: string[] = [];
  const gates: GateDefinition[] = [];
  raw.forEach((g, i) => {
    const gate = parseGate(g, `gate ${i + 1}`, problems);
    if (!gate) return;
    if (gates.some((other) => other.name === gate.name)) problems.push(`gate '${gate.name}' is named twice`);
    else gates.push(gate);
  });
  return { gates: problems.length ? [] : gates, problems };
}

/** The credential names a lock's gates refer to (checked against the config by the service). */
export function credentialNames(gates: readonly GateDefinition[]): string[] {
  return gates.flatMap((g) => (g.type !== 'checkins' && g.credentials ? [g.credentials] : []));
}
