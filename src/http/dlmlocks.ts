// The foreman_dlm API (/api/dlmlocks…). Handlers parse, identify, call the lock service and
// render; the rules live in src/lock and every change is one store transaction.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HEADERS, MAX_WAIT_SECONDS, type LockJson } from 'keyholder-protocol';
import { AppError, ERRORS, validationError } from '../errors.js';
import type { LockAnswer, LockService } from '../service/locks.js';
import { parseLockAttributes } from './body.js';
import { eventFilterQuerySchema, parseEventFilter } from './event-filter.js';
import { noteAcquire } from './metrics-outcomes.js';
import { parseIndexParams, parsePaging, toListQuery } from './query.js';
import { eventSchema, indexSchema, lockBodySchema, lockSchema, renderEvent, renderLock } from './render.js';
import type { Access } from '../identity/access.js';
import { formatTimestamp } from '../lock/time.js';
import type { LockState } from '../lock/types.js';
import { LOOKAHEAD_DAYS, nextAdmission, type Pause } from '../lock/calendar.js';
import type { PauseService } from '../service/pause.js';
import type { LevelCalendar } from '../lock/rules.js';

export interface DlmlockRoutesOptions {
  locks: LockService;
  staleAfterMs: number;
  /** the global pause for the lock JSON's next_window_at (omitted: not shown there) */
  pauses?: PauseService;
}

export function preconditionFailed(lockId: number) {
  return { error: { id: lockId, message: ERRORS.precondition_failed.message } };
}

/**
 * Outside its maintenance windows a lock says when the next one opens. Only windowed locks
 * (a keyholder extension) get this longer body; every other 412 stays foreman_dlm's.
 */
function outsideWindow(lock: LockState, now: number, globalPause: Pause | null, level?: LevelCalendar) {
  // the next opening the blackouts and pauses let through, not merely the next window;
  // nested locks: of the ancestor that refused, named in the message
  const next = nextAdmission(level ?? lock, globalPause, now);
  const when =
    next === undefined
      ? `no window opens within the next ${LOOKAHEAD_DAYS} days`
      : `the next window opens ${formatTimestamp(next)}`;
  const what = level ? `The lock's ancestor '${level.name}' is` : 'The lock is';
  return {
    error: {
      id: lock.id,
      message: `${ERRORS.precondition_failed.message} ${what} outside its maintenance windows; ${when}.`,
      next_window_at: next === undefined ? null : formatTimestamp(next),
    },
  };
}

/** A header value: printable ASCII only (an upstream's text may carry anything), kept short. */
export function headerSafe(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 200 ? `${clean.slice(0, 197)}...` : clean;
}

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/**
 * The create/update body schema is there for the OpenAPI document only: fastify's validator
 * would coerce types (`1` → `true`) before src/http/body.ts could refuse them with Rails-style
 * per-field messages, so these routes compile it to a no-op.
 */
const documentationOnly = () => () => true;

/** `?wait=SECONDS` of a blocking acquire: 0 to 300 whole seconds. */
function parseWait(raw: unknown): number {
  if (raw === undefined || raw === '') return 0;
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || Number(raw) > MAX_WAIT_SECONDS) {
    throw validationError({ wait: [`must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS}`] });
  }
  return Number(raw);
}

const access = (a: Access) => ({ access: a });
const lockResponse = { response: { 200: lockSchema } };

function actorOf(request: FastifyRequest) {
  const user = request.who.user;
  return user ? { user: { id: user.id, login: user.login } } : {};
}

export async function dlmlockRoutes(app: FastifyInstance, opts: DlmlockRoutesOptions): Promise<void> {
  const { locks, staleAfterMs, pauses } = opts;
  const globalPause = async () => (pauses ? await pauses.forRendering() : null);
  const gateStatus = (lock: LockState) => locks.gateStatus(lock);
  const renderWith = (lock: LockState, hostName: string | undefined, pause: Pause | null) =>
    renderLock(lock, { hostName, now: Date.now(), staleAfterMs, globalPause: pause, gateStatus });
  // no promise while the pause read for rendering is fresh: the lock path's usual case
  const render = (lock: LockState, hostName?: string): LockJson | Promise<LockJson> => {
    const pause = pauses ? pauses.forRendering() : null;
    return pause instanceof Promise
      ? pause.then((p) => renderWith(lock, hostName, p))
      : renderWith(lock, hostName, pause);
  };

  const answer = async (reply: FastifyReply, result: LockAnswer) => {
    if (!result.ok) {
      // The body is foreman_dlm's, byte for byte; why it failed travels in headers clients may read.
      // nested locks: an ancestor's refusal names it (`full@dc-berlin`); the lock's own stays plain
      reply.header(HEADERS.lockReason, result.level ? `${result.reason}@${result.level}` : result.reason);
      if (result.gate !== undefined) reply.header(HEADERS.lockGate, headerSafe(result.gate));
      if (result.lock.holders.length > 0) {
        reply.header(
          HEADERS.lockHolders,
          result.lock.holders.map((h) => encodeURIComponent(h.hostName)).join(','),
        );
      }
      // nested locks: an ancestor's calendar refusal says when that level opens
      const calendar = result.level === undefined ? result.lock : result.levelCalendar;
      if (result.reason === 'outside_window' && calendar) {
        const body = outsideWindow(result.lock, result.at, result.globalPause, result.levelCalendar);
        if (body.error.next_window_at) reply.header(HEADERS.lockNextWindow, body.error.next_window_at);
        return reply.code(412).send(body);
      }
      if ((result.reason === 'paused' || result.reason === 'blackout') && calendar) {
        // foreman_dlm's body unchanged; when acquiring becomes possible travels in a header
        const next = nextAdmission(calendar, result.globalPause, result.at);
        if (next !== undefined) reply.header(HEADERS.lockNextWindow, formatTimestamp(next));
      }
      return reply.code(412).send(preconditionFailed(result.lock.id));
    }
    const body = render(result.lock, result.hostName);
    // the token goes out only with the lock JSON (a failed pause read is a 503 without it)
    const send = (json: LockJson) => {
      const mine = result.lock.holders.find((h) => h.hostName === result.hostName);
      if (mine) reply.header(HEADERS.fencingToken, String(mine.fencingToken));
      return reply.send(json);
    };
    return body instanceof Promise ? body.then(send) : send(body);
  };

  app.get(
    '/dlmlocks/:id/lock',
    { config: access({ kind: 'host_or_user', role: 'viewer' }), schema: lockResponse },
    async (request: IdRequest) => {
      const hostName = request.who.user ? undefined : request.who.hostName;
      const lock = hostName
        ? await locks.showForHost(request.params.id, hostName)
        : await locks.show(request.params.id);
      return render(lock, hostName);
    },
  );

  app.put(
    '/dlmlocks/:id/lock',
    { config: access({ kind: 'host' }), schema: lockResponse },
    async (request: IdRequest, reply) => {
      const waitSeconds = parseWait((request.query as Record<string, unknown>).wait);
      if (!waitSeconds)
        return answer(
          reply,
          noteAcquire(request, 'dlmlocks', await locks.acquire(request.params.id, request.who.hostName!)),
        );
      // A waiter whose client goes away must leave the queue and never be granted.
      const gone = new AbortController();
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) gone.abort();
      });
      return answer(
        reply,
        noteAcquire(
          request,
          'dlmlocks',
          await locks.acquire(request.params.id, request.who.hostName!, { waitSeconds, signal: gone.signal }),
        ),
      );
    },
  );

  app.delete(
    '/dlmlocks/:id/lock',
    { config: access({ kind: 'host' }), schema: lockResponse },
    async (request: IdRequest, reply) =>
      answer(reply, await locks.release(request.params.id, request.who.hostName!)),
  );

  app.get(
    '/dlmlocks',
    {
      config: access({ kind: 'user', role: 'viewer' }),
      schema: { response: { 200: indexSchema(lockSchema) } },
    },
    async (request) => {
      const params = parseIndexParams(request.query as Record<string, unknown>);
      const { total, subtotal, locks: page, now } = await locks.list(toListQuery(params, staleAfterMs));
      const pause = await globalPause();
      return {
        total,
        subtotal,
        page: params.page,
        per_page: params.perPage,
        search: params.search,
        sort: params.order.given
          ? { by: params.order.by, order: params.order.desc ? 'DESC' : 'ASC' }
          : { by: null, order: null },
        results: page.map((l) => renderLock(l, { now, staleAfterMs, globalPause: pause, gateStatus })),
      };
    },
  );

  app.get(
    '/dlmlocks/:id',
    { config: access({ kind: 'user', role: 'viewer' }), schema: lockResponse },
    async (request: IdRequest) => render(await locks.show(request.params.id)),
  );

  app.post(
    '/dlmlocks',
    {
      config: access({ kind: 'user', role: 'operator' }),
      schema: { body: lockBodySchema, response: { 201: lockSchema } },
      validatorCompiler: documentationOnly,
    },
    async (request, reply) => {
      const lock = await locks.create(parseLockAttributes(request.body), actorOf(request));
      return reply.code(201).send(await render(lock));
    },
  );

  app.put(
    '/dlmlocks/:id',
    {
      config: access({ kind: 'user', role: 'operator' }),
      schema: { body: lockBodySchema, ...lockResponse },
      validatorCompiler: documentationOnly,
    },
    async (request: IdRequest) =>
      render(await locks.update(request.params.id, parseLockAttributes(request.body), actorOf(request))),
  );

  app.delete(
    '/dlmlocks/:id',
    { config: access({ kind: 'user', role: 'admin' }), schema: lockResponse },
    async (request: IdRequest) => render(await locks.remove(request.params.id, actorOf(request))),
  );

  app.get(
    '/dlmlocks/:id/dlmlock_events',
    {
      config: access({ kind: 'user', role: 'viewer' }),
      schema: {
        querystring: {
          type: 'object',
          properties: { ...eventFilterQuerySchema, page: {}, per_page: {}, search: {} },
        },
        response: { 200: indexSchema(eventSchema) },
      },
    },
    async (request: IdRequest) => {
      const query = request.query as Record<string, unknown>;
      if (query.search !== undefined && query.search !== '') {
        throw new AppError(
          'invalid_search',
          'Invalid search query: events cannot be searched; filter them with type= and host=',
        );
      }
      const { page, perPage } = parsePaging(query);
      const filter = parseEventFilter(query);
      const { total, subtotal, events } = await locks.events(
        request.params.id,
        perPage,
        (page - 1) * perPage,
        filter,
      );
      return {
        total,
        subtotal,
        page,
        per_page: perPage,
        search: null,
        sort: { by: 'created_at', order: 'DESC' },
        results: events.map(renderEvent),
      };
    },
  );
}
