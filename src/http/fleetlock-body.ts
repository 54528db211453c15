// The FleetLock request: `fleet-lock-protocol: true` and `{"client_params":{"id","group"}}`.
// Pure parsing, no I/O. Real clients differ (older Zincati and airlock send `node_uuid`,
// Zincati sends no Content-Type), so this reads the raw text and accepts both spellings;
// anything else that is wrong becomes a FleetLock error `{kind, value}`, never a 500.
import { MAX_NAME_LENGTH } from '../lock/validate.js';
import { textProblem } from '../safe-text.js';

export class FleetLockError extends Error {
  constructor(
    readonly status: number,
    readonly kind: string,
    value: string,
  ) {
    super(value);
  }

  body(): { kind: string; value: string } {
    return { kind: this.kind, value: this.message };
  }
}

export interface ClientParams {
  id: string;
  group: string;
}

export const LOCK_PREFIX = 'fleetlock-';
/** The protocol's group syntax; the protocol recommends "default" when a node has none. */
export const GROUP_PATTERN = /^[a-zA-Z0-9.-]+$/;
export const DEFAULT_GROUP = 'default';
// `fleetlock-<group>` must stay a valid lock name.
const MAX_GROUP_LENGTH = MAX_NAME_LENGTH - LOCK_PREFIX.length;
const MAX_ID_LENGTH = 255;

const bad = (kind: string, value: string) => new FleetLockError(400, kind, value);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The header guards against requests that reached us by an unintended redirect. */
export function checkProtocolHeader(value: string | string[] | undefined): void {
  if (value === undefined) {
    throw bad('missing_header', "the 'fleet-lock-protocol: true' header is required");
  }
  const v = Array.isArray(value) ? value.join(',') : value;
  if (v.trim().toLowerCase() !== 'true') {
    throw bad('bad_header', `the 'fleet-lock-protocol' header must be 'true', got '${v.slice(0, 64)}'`);
  }
}

function nodeId(params: Record<string, unknown>): string {
  const { id, node_uuid: uuid } = params;
  if (id !== undefined && uuid !== undefined && id !== uuid) {
    throw bad('invalid_id', 'client_params.id and client_params.node_uuid differ; send one of them');
  }
  const raw = id ?? uuid;
  if (raw === undefined || raw === null) {
    throw bad('invalid_id', 'client_params.id (or node_uuid) is required');
  }
  if (typeof raw !== 'string') throw bad('invalid_id', 'client_params.id must be a string');
  if (raw.trim() === '') throw bad('invalid_id', 'client_params.id must not be empty');
  if (raw.length > MAX_ID_LENGTH) {
    throw bad('invalid_id', `client_params.id is too long (maximum is ${MAX_ID_LENGTH} characters)`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw) || raw.includes('/')) {
    throw bad('invalid_id', 'client_params.id must not contain control characters or /');
  }
  const problem = textProblem(raw);
  if (problem) throw bad('invalid_id', `client_params.id ${problem}`);
  return raw;
}

function group(params: Record<string, unknown>): string {
  const raw = params.group;
  // Zincati always sends one ("default" unless configured); a bare client gets the default.
  if (raw === undefined) return DEFAULT_GROUP;
  if (typeof raw !== 'string') throw bad('invalid_group', 'client_params.group must be a string');
  if (!GROUP_PATTERN.test(raw)) {
    throw bad('invalid_group', `client_params.group must match ${GROUP_PATTERN.source}`);
  }
  if (raw.length > MAX_GROUP_LENGTH) {
    throw bad('invalid_group', `client_params.group is too long (maximum is ${MAX_GROUP_LENGTH} characters)`);
  }
  return raw;
}

/**
 * Unknown keys are ignored on purpose: FleetLock clients are other projects' releases, and
 * rejecting a field a newer Zincati adds would stop a whole fleet from rebooting.
 */
export function parseClientParams(text: string | undefined): ClientParams {
  if (text === undefined || text.trim() === '') {
    throw bad('malformed_body', 'the request body is empty; send {"client_params":{"id":…,"group":…}}');
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw bad('malformed_body', `the request body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(body)) throw bad('malformed_body', 'the request body must be a JSON object');
  const params = body.client_params;
  if (!isObject(params)) throw bad('malformed_body', 'client_params must be a JSON object');
  return { id: nodeId(params), group: group(params) };
}

export function lockNameOf(groupName: string): string {
  return `${LOCK_PREFIX}${groupName}`;
}
