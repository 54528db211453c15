// How each type of gate is checked: one registry entry per type. Each resolves to a verdict
// (ok, and a short detail shown in events, X-Lock-Gate and the lock JSON) or throws a
// GateCheckError, which fails the gate: an unreachable gate is a failed gate.
import { checkinsVerdict } from '../lock/members.js';
import {
  compare,
  type AlertmanagerGate,
  type CheckinsGate,
  type GateDefinition,
  type GateType,
  type HttpGate,
  type PrometheusGate,
} from '../lock/gates.js';
import type { LockState } from '../lock/types.js';
import { GateCheckError, type GateCredentials } from './credentials.js';
import { gateGet, parseJson } from './http-get.js';
import type { MembersOf } from './members-source.js';

export interface GateResult {
  ok: boolean;
  detail: string;
}

export interface EvaluatorContext {
  lock: LockState;
  credentials: GateCredentials;
  membersOf: MembersOf;
}

type Evaluator<G extends GateDefinition> = (gate: G, ctx: EvaluatorContext) => Promise<GateResult>;

function withPath(base: string, path: string, params: [string, string][]): string {
  const url = new URL(base);
  // the URL names the server (and any path prefix it lives under), the API path is ours
  url.pathname = url.pathname.replace(/\/+$/, '') + path;
  for (const [k, v] of params) url.searchParams.append(k, v);
  return url.toString();
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

const prometheus: Evaluator<PrometheusGate> = async (gate, ctx) => {
  const url = withPath(gate.url, '/api/v1/query', [['query', gate.query]]);
  const answer = await gateGet(url, ctx.credentials.auth(gate.credentials), gate.timeout_seconds);
  const json = parseJson(answer.body) as {
    status?: string;
    error?: string;
    data?: { resultType?: string; result?: unknown };
  };
  if (answer.status !== 200 || json.status !== 'success' || !json.data) {
    const why = typeof json.error === 'string' ? `: ${json.error.slice(0, 120)}` : '';
    throw new GateCheckError(`query failed (HTTP ${answer.status})${why}`);
  }
  const { resultType, result } = json.data;
  if (gate.expect === 'empty') {
    if (resultType === 'scalar' || resultType === 'string' || !Array.isArray(result)) {
      throw new GateCheckError(`expected series, got a ${resultType}`);
    }
    return result.length === 0
      ? { ok: true, detail: 'no series' }
      : { ok: false, detail: plural(result.length, 'series').replace('seriess', 'series') };
  }
  let raw: unknown;
  if (resultType === 'scalar') raw = (result as unknown[])[1];
  else if (resultType === 'vector' && Array.isArray(result) && result.length === 1) {
    raw = (result[0] as { value?: unknown[] }).value?.[1];
  } else {
    const n = Array.isArray(result) ? result.length : 0;
    throw new GateCheckError(`expected one value, got ${n} series`);
  }
  const value = Number(raw);
  if (raw === undefined || Number.isNaN(value)) throw new GateCheckError('the query returned no number');
  const { op, value: threshold } = gate.expect;
  const ok = compare(value, op, threshold);
  return { ok, detail: `${value} ${ok ? '' : 'not '}${op} ${threshold}`.replace('  ', ' ') };
};

const alertmanager: Evaluator<AlertmanagerGate> = async (gate, ctx) => {
  const url = withPath(gate.url, '/api/v2/alerts', [
    ['active', 'true'],
    ['silenced', 'false'],
    ['inhibited', 'false'],
    ...gate.matchers.map((m): [string, string] => ['filter', m]),
  ]);
  const answer = await gateGet(url, ctx.credentials.auth(gate.credentials), gate.timeout_seconds);
  if (answer.status !== 200) throw new GateCheckError(`HTTP ${answer.status}`);
  const alerts = parseJson(answer.body);
  if (!Array.isArray(alerts)) throw new GateCheckError('answer is not a list of alerts');
  if (alerts.length === 0) return { ok: true, detail: 'no alerts' };
  const names = [
    ...new Set(
      alerts.map((a) => String((a as { labels?: Record<string, unknown> }).labels?.alertname ?? '?')),
    ),
  ];
  return { ok: false, detail: `${plural(alerts.length, 'alert')}: ${names.slice(0, 5).join(', ')}` };
};

const http: Evaluator<HttpGate> = async (gate, ctx) => {
  const answer = await gateGet(gate.url, ctx.credentials.auth(gate.credentials), gate.timeout_seconds);
  if (answer.status < 200 || answer.status > 299) return { ok: false, detail: `HTTP ${answer.status}` };
  if (gate.body_regex !== undefined && !new RegExp(gate.body_regex).test(answer.body)) {
    return { ok: false, detail: `HTTP ${answer.status}, body does not match body_regex` };
  }
  return { ok: true, detail: `HTTP ${answer.status}` };
};

const checkins: Evaluator<CheckinsGate> = async (gate, ctx) => {
  const { now, members } = await ctx.membersOf(ctx.lock);
  return checkinsVerdict(members, now, gate);
};

/** Each type's check; adding a type is one entry here and one in src/lock/gates.ts. */
export const EVALUATORS: { [T in GateType]: Evaluator<Extract<GateDefinition, { type: T }>> } = {
  prometheus,
  alertmanager,
  http,
  checkins,
};

export async function evaluateGate(gate: GateDefinition, ctx: EvaluatorContext): Promise<GateResult> {
  const evaluator = EVALUATORS[gate.type] as Evaluator<GateDefinition>;
  try {
    return await evaluator(gate, ctx);
  } catch (err) {
    if (err instanceof GateCheckError) return { ok: false, detail: err.message };
    // anything else is a bug here, not the upstream's answer; say so without details
    return { ok: false, detail: 'check failed' };
  }
}
