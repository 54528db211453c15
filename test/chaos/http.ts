// The harness's HTTPS client: every request has a deadline (a fault must never hang the run),
// and a transport failure is an outcome, not an exception.
import type https from 'node:https';
import type { KeyedCert } from '../../src/pki/x509.js';
import { httpsRequest, type TestResponse } from '../support/http.js';

export type Answer = TestResponse;

export type Outcome = { ok: true; answer: Answer } | { ok: false; error: string };

export interface SendOptions {
  cert?: KeyedCert;
  user?: [string, string];
  agent?: https.Agent;
  body?: unknown;
  timeoutMs?: number;
}

export function send(
  baseUrl: string,
  caPem: string,
  method: string,
  path: string,
  opts: SendOptions = {},
): Promise<Outcome> {
  // Every request carries a JSON body (empty when there is none), as the load always did.
  return httpsRequest(baseUrl, caPem, method, path, {
    cert: opts.cert,
    user: opts.user,
    agent: opts.agent,
    body: opts.body === undefined ? '' : JSON.stringify(opts.body),
    timeoutMs: opts.timeoutMs ?? 15_000,
  }).then(
    (answer): Outcome => ({ ok: true, answer }),
    (err: Error): Outcome => ({ ok: false, error: err.message }),
  );
}
