// FleetLock, the reboot-coordination protocol of Fedora CoreOS' Zincati (and coreos/airlock):
// POST /v1/pre-reboot = recursive lock, POST /v1/steady-state = unlock-if-held, on the lock
// `fleetlock-<group>`. Its own plugin scope, because FleetLock differs from the Foreman API in
// what it accepts (JSON without a Content-Type), who may call it (any node, optionally only
// from allowed networks or with a client certificate) and how errors look ({kind, value}).
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { isUtf8 } from 'node:buffer';
import proxyaddr from 'proxy-addr';
import { isCalendarReason } from 'keyholder-protocol';
import type { Config } from '../config/schema.js';
import { AppError } from '../errors.js';
import type { LockAnswer, LockService } from '../service/locks.js';
import { nextAdmission, type Calendar } from '../lock/calendar.js';
import { formatTimestamp } from '../lock/time.js';
import type { LockState } from '../lock/types.js';
import type { LevelCalendar } from '../lock/rules.js';
import { fromDatabaseText } from './errors.js';
import { checkProtocolHeader, FleetLockError, lockNameOf, parseClientParams } from './fleetlock-body.js';
import { noteAcquire } from './metrics-outcomes.js';

export interface FleetLockRoutesOptions {
  locks: LockService;
  config: Config['fleetlock'];
  trustedProxies: readonly string[];
}

/** Zincati's body is ~100 bytes; nothing a FleetLock client sends comes near this. */
const BODY_LIMIT = 16 * 1024;
const PATHS = ['/v1/pre-reboot', '/v1/steady-state'] as const;
const SHOWN_HOLDERS = 10;

function holdersText(lock: LockState): string {
  const names = lock.holders.map((h) => h.hostName);
  const shown = names.slice(0, SHOWN_HOLDERS).join(', ');
  return names.length > SHOWN_HOLDERS ? `${shown} and ${names.length - SHOWN_HOLDERS} more` : shown;
}

/** `; new holders from <time>` when the calendar says when acquiring becomes possible again */
function untilText(answer: Extract<LockAnswer, { ok: false }>, calendar: Calendar = answer.lock): string {
  const next = nextAdmission(calendar, answer.globalPause, answer.at);
  return next === undefined ? '' : `; new holders from ${formatTimestamp(next)}`;
}

function pausedText(answer: Extract<LockAnswer, { ok: false }>): string {
  const { lock, globalPause, at } = answer;
  const global = globalPause !== null && globalPause.until > at;
  const reason = global ? globalPause.reason : lock.pauseReason;
  const what = global ? 'all locks are paused' : `lock ${lock.name} is paused`;
  return `${what}${reason ? ` (${reason})` : ''}${untilText(answer)}`;
}

/** An ancestor's calendar refusal in words naming that level; undefined for other reasons. */
function ancestorCalendarText(
  answer: Extract<LockAnswer, { ok: false }>,
  level: LevelCalendar,
): string | undefined {
  const where = `lock ${level.name} above ${answer.lock.name}`;
  if (answer.reason === 'paused') {
    const why = level.pauseReason ? ` (${level.pauseReason})` : '';
    return `${where} is paused${why}${untilText(answer, level)}`;
  }
  if (answer.reason === 'blackout') return `${where} is in a blackout${untilText(answer, level)}`;
  if (answer.reason === 'outside_window') {
    return `${where} is outside its maintenance windows${untilText(answer, level)}`;
  }
  return undefined;
}

function refusal(answer: Extract<LockAnswer, { ok: false }>): FleetLockError {
  const { lock, hostName } = answer;
  // a failed health gate has its own kind, so Zincati's log says which gate and why
  if (answer.reason === 'gate_failed')
    return new FleetLockError(409, 'gate_failed', answer.gate ?? 'a gate failed');
  if (answer.level) {
    // nested locks: an ancestor's pause, blackout or closed window is the same kind as the
    // lock's own, so a fleet dashboard tells it from contention whichever level refused
    const levelCalendarText = answer.levelCalendar && ancestorCalendarText(answer, answer.levelCalendar);
    if (levelCalendarText) return new FleetLockError(409, answer.reason, levelCalendarText);
    // an ancestor of the group's lock refused otherwise (its holders are not at hand here)
    return new FleetLockError(
      409,
      'failed_lock',
      `lock ${answer.level} above ${lock.name} cannot be taken (${answer.reason}@${answer.level})`,
    );
  }
  // Not exhaustive on purpose: a reason added to the rules later still gets a readable answer.
  const why: Partial<Record<string, string>> = {
    held: `lock ${lock.name} is held by ${holdersText(lock)}`,
    full: `all ${lock.maxHolders} slots of lock ${lock.name} are taken (held by ${holdersText(lock)})`,
    queued: `hosts waiting for lock ${lock.name} come first`,
    disabled: `lock ${lock.name} is disabled`,
    host_barred: `${hostName} may not acquire locks (an operator turned can_acquire_locks off)`,
    outside_window: `lock ${lock.name} is outside its maintenance windows${untilText(answer)}`,
    paused: pausedText(answer),
    blackout: `lock ${lock.name} is in a blackout${untilText(answer)}`,
  };
  // the calendar's refusals (a pause, a blackout, a closed window) are kinds of their own, so a
  // fleet dashboard can tell "not now, by plan" from contention
  const kind = isCalendarReason(answer.reason) ? answer.reason : 'failed_lock';
  return new FleetLockError(
    409,
    kind,
    why[answer.reason] ?? `lock ${lock.name} cannot be taken (${answer.reason})`,
  );
}

function toFleetLockError(error: FastifyError | Error): FleetLockError | undefined {
  if (error instanceof FleetLockError) return error;
  const appError = error instanceof AppError ? error : fromDatabaseText(error);
  if (appError) return new FleetLockError(appError.status, appError.code, appError.message);
  const fastifyError = error as FastifyError;
  if (fastifyError.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return new FleetLockError(413, 'body_too_large', `the request body is larger than ${BODY_LIMIT} bytes`);
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return new FleetLockError(status, 'bad_request', error.message);
  }
  return undefined;
}

export async function fleetlockRoutes(app: FastifyInstance, opts: FleetLockRoutesOptions): Promise<void> {
  const { locks, config } = opts;
  const trustedProxy = proxyaddr.compile([...opts.trustedProxies]);
  const allowed = config.allowedNetworks.length > 0 ? proxyaddr.compile([...config.allowedNetworks]) : null;
  // The node id is a claim, not a credential, so hosts.autoRegister (which trusts the CA's
  // word) does not apply; with certificates required, the usual registration rules do.
  const autoRegister = config.requireClientCertificate ? undefined : true;
  const declared = new Map(
    Object.entries(config.groups).map(([name, g]) => [name, g.maxHolders ?? config.defaultMaxHolders]),
  );
  const unknownGroup = (group: string) =>
    new FleetLockError(
      404,
      'unknown_group',
      `group ${group} is not declared here (fleetlock.groups) and has no lock ${lockNameOf(group)}`,
    );

  // Zincati sends its JSON without a Content-Type; take every body as text and parse it here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: BODY_LIMIT }, (_request, raw, done) =>
    isUtf8(raw as Buffer)
      ? done(null, (raw as Buffer).toString('utf8'))
      : done(new FleetLockError(400, 'bad_text', 'the request body is not valid UTF-8')),
  );

  app.setErrorHandler((error: FastifyError, request, reply) => {
    const known = toFleetLockError(error);
    if (!known) {
      request.log.error({ err: error }, 'unhandled error');
      return reply.code(500).send({ kind: 'internal_error', value: 'internal server error' });
    }
    if (known.status >= 500) request.log.warn({ err: error }, known.message);
    return reply.code(known.status).send(known.body());
  });

  // Who may speak FleetLock, decided before a byte of the body is read.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'POST') {
      reply.header('allow', 'POST');
      throw new FleetLockError(405, 'method_not_allowed', `${request.method} is not allowed; use POST`);
    }
    if (!config.enabled) {
      throw new FleetLockError(404, 'fleetlock_disabled', 'FleetLock is disabled on this server');
    }
    if (allowed) {
      // Behind a trusted proxy the client is the address it forwards (X-Forwarded-For).
      const address = proxyaddr(request.raw, trustedProxy);
      if (!allowed(address, 0)) {
        throw new FleetLockError(403, 'forbidden_client', `client address ${address} may not use FleetLock`);
      }
    }
    if (config.requireClientCertificate && !request.who.hostName) {
      throw new FleetLockError(
        403,
        'client_certificate_required',
        'FleetLock here needs a valid client certificate; its CN names the lock holder',
      );
    }
    checkProtocolHeader(request.headers['fleet-lock-protocol']);
  });

  const holderOf = (request: FastifyRequest) => {
    const params = parseClientParams(request.body as string | undefined);
    const holder = config.requireClientCertificate ? request.who.hostName! : params.id;
    return { ...params, holder, lockName: lockNameOf(params.group) };
  };

  const route = (url: string, handler: (request: FastifyRequest, reply: FastifyReply) => Promise<void>) =>
    app.route({
      method: ['POST', 'GET', 'PUT', 'DELETE', 'PATCH'],
      url,
      config: { access: { kind: 'public' } },
      handler,
    });

  route(PATHS[0], async (request, reply) => {
    const { id, group, holder, lockName } = holderOf(request);
    const maxHolders = declared.get(group);
    // Cheap reads first, so a flood of strangers costs no write transactions.
    if (maxHolders === undefined && !(await locks.exists(lockName))) throw unknownGroup(group);
    const known = await locks.hostExists(holder);
    const answer = await locks.fleetAcquire(lockName, holder, {
      createIfMissing: maxHolders !== undefined,
      createMaxHolders: maxHolders,
      autoRegister,
      // a node never seen that is refused leaves no trace (it retries in a few minutes)
      nothingOnRefusal: !known,
    });
    if (!answer) throw unknownGroup(group);
    noteAcquire(request, 'fleetlock', answer);
    if (!answer.ok) throw refusal(answer);
    const mine = answer.lock.holders.find((h) => h.hostName === holder);
    if (mine) reply.header('x-fencing-token', String(mine.fencingToken));
    request.log.info({ fleetlock: { id, group, holder } }, 'fleetlock reboot slot granted');
    return reply.code(200).send();
  });

  route(PATHS[1], async (request, reply) => {
    const { id, group, holder, lockName } = holderOf(request);
    // Unlock-if-held: a node that holds nothing is done. Checking first keeps every booting
    // node from writing a `fail` event onto a lock another node holds.
    const current = await locks.show(lockName).catch((err: unknown) => {
      if (err instanceof AppError && err.code === 'not_found') return undefined;
      throw err;
    });
    if (!current && !declared.has(group)) throw unknownGroup(group);
    // No lock yet, or not ours: nothing to release and nothing to write.
    if (!current || !current.holders.some((h) => h.hostName === holder)) return reply.code(200).send();
    const answer = await locks.release(lockName, holder, { autoRegister });
    // `held`: someone else holds it and we do not (an operator freed our slot meanwhile).
    if (!answer.ok && answer.reason !== 'held') {
      throw new FleetLockError(
        409,
        'failed_unlock',
        `lock ${lockName} cannot be released (${answer.reason})`,
      );
    }
    request.log.info({ fleetlock: { id, group, holder } }, 'fleetlock reboot slot released');
    return reply.code(200).send();
  });
}
