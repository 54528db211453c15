// Refuses, before any route or credential check runs, text that the stores cannot keep as
// sent (see src/safe-text.ts): in the raw URL, the path parameters, the query and the JSON
// body. Credentials in the Authorization header are checked where they are parsed
// (src/identity/password-check.ts), since a bad one is a 401, not a 400.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { findUnsafeText, urlProblem } from '../safe-text.js';

function refuse(where: string, problem: string): AppError {
  return new AppError('bad_text', `${where} ${problem}; send NUL-free, valid UTF-8 text`);
}

function checkUrl(request: FastifyRequest): void {
  const inUrl = urlProblem(request.raw.url ?? '');
  if (inUrl) throw refuse('The URL', inUrl);
  const inParams = findUnsafeText(request.params);
  if (inParams) throw refuse(`The path (${inParams.path})`, inParams.problem);
  const inQuery = findUnsafeText(request.query);
  if (inQuery) throw refuse(`The query parameter ${inQuery.path}`, inQuery.problem);
}

function checkBody(request: FastifyRequest): void {
  const inBody = findUnsafeText(request.body, '');
  if (inBody) throw refuse(`The request body (${inBody.path || 'value'})`, inBody.problem);
}

/** A synchronous check as a callback hook: no promise and no extra microtask per request. */
function callbackHook(check: (request: FastifyRequest) => void) {
  return (request: FastifyRequest, _reply: unknown, done: (err?: Error) => void): void => {
    try {
      check(request);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  };
}

export function installTextGuard(app: FastifyInstance): void {
  // Before the access gate's hook (registered later): a login name in the query never reaches it.
  app.addHook('onRequest', callbackHook(checkUrl));
  app.addHook('preValidation', callbackHook(checkBody));
}
