// The lock JSON of GET/PUT/DELETE .../lock. Foreman DLM sends the base keys; keyholder adds
// extensions (max_holders, holders, fencing_token). Parsing is tolerant on purpose: unknown keys
// are kept, missing extensions are simply absent, so one client serves both servers.
import { PRECONDITION_FAILED_MESSAGE, type LockJson as ProtocolLockJson } from 'keyholder-protocol';
import { z } from 'zod';
import { ClientError } from './errors.js';

const holderSchema = z.looseObject({
  name: z.string(),
  acquired_at: z.string().nullish(),
  fencing_token: z.union([z.number(), z.string()]).nullish(),
  expires_at: z.string().nullish(),
});

const lockSchema = z.looseObject({
  id: z.number().nullish(),
  name: z.string(),
  enabled: z.boolean().nullish(),
  type: z.string().nullish(),
  host_id: z.number().nullish(),
  host: z.looseObject({ name: z.string(), self: z.boolean().optional() }).nullish(),
  created_at: z.string().nullish(),
  updated_at: z.string().nullish(),
  max_holders: z.number().nullish(),
  holders: z.array(holderSchema).nullish(),
  fencing_token: z.union([z.number(), z.string()]).nullish(),
  /** keyholder: a holder that does not re-acquire within this many seconds loses the lock */
  lease_seconds: z.number().nullish(),
});

/** What this client reads: keyholder's lock JSON (keyholder-protocol), or Foreman's subset. */
export type LockJson = z.infer<typeof lockSchema>;
// keyholder's own answer must parse as what the client reads: a protocol change that breaks
// the client fails the typecheck here.
const _keyholderAnswerFits = (answer: ProtocolLockJson): LockJson => answer;
export type HolderJson = z.infer<typeof holderSchema>;

export function parseLockJson(body: unknown): LockJson {
  const parsed = lockSchema.safeParse(body);
  if (!parsed.success) {
    throw new ClientError('protocol', `the server sent no lock JSON: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

/** Holder names, whichever server: keyholder lists them all, Foreman only has `host`. */
export function holderNames(lock: LockJson): string[] {
  if (lock.holders && lock.holders.length > 0) return lock.holders.map((h) => h.name);
  return lock.host ? [lock.host.name] : [];
}

/** Whether this host holds the lock; Foreman's `self` flag first, else compare certificate names. */
export function heldBySelf(lock: LockJson, self: string | undefined): boolean {
  if (lock.host?.self === true) return true;
  if (self === undefined) return false;
  const me = self.toLowerCase();
  return holderNames(lock).some((n) => n.toLowerCase() === me);
}

/** The fencing token of this host's hold, when the server is keyholder. */
export function ownFencingToken(lock: LockJson, self: string | undefined): string | undefined {
  const me = self?.toLowerCase();
  const mine = lock.holders?.find((h) => h.name.toLowerCase() === me);
  const token = mine?.fencing_token ?? lock.fencing_token;
  return token === null || token === undefined ? undefined : String(token);
}

/** Why a request was refused: the body's message, and keyholder's X-Lock-* headers when sent. */
export interface ServerError {
  message?: string;
  /** X-Lock-Reason: held, full, disabled, host_barred, outside_window, … */
  reason?: string;
  /** X-Lock-Holders: who holds the lock now */
  holders?: string[];
  /** X-Lock-Gate: the health gate that failed and why (`<name>: <why>`) */
  gate?: string;
  /** X-Lock-Next-Window: when a calendar refusal (paused, blackout, outside_window) ends */
  nextWindow?: string;
  /** the answer's Date header: the server's clock, to measure the wait for the window by */
  serverDate?: string;
}

const errorSchema = z.object({ error: z.looseObject({ message: z.string().optional() }) });

/** `{"error":{"message":...}}` as Foreman and keyholder send it; anything else is ignored. */
export function parseServerError(body: unknown): ServerError {
  const parsed = errorSchema.safeParse(body);
  if (!parsed.success) return {};
  const { message } = parsed.data.error;
  return message !== undefined ? { message } : {};
}

/** foreman_dlm's one 412 text; it says nothing specific, so the client looks up why itself. */
export const GENERIC_412 = PRECONDITION_FAILED_MESSAGE;
