// Whether the database answers. Store errors are sorted into "the database is unavailable"
// (a lost connection, a restart, too many connections, a full disk) and everything else; the
// first kind becomes a 503 with Retry-After. An outage is one episode, reported once when it
// starts and once when it ends, however many requests fail meanwhile (SPEC section 8).
import { AppError } from '../errors.js';

/**
 * PostgreSQL SQLSTATE classes and codes that mean "the server or the connection is gone", not
 * "this statement is wrong": 08 connection exception, 53 insufficient resources (53300 too many
 * connections, 53100 disk full), 57P01-57P05 shutdown/crash/cannot connect now, 58 system error.
 */
const PG_UNAVAILABLE_CLASSES = ['08', '53', '58'];
const PG_UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '57P04', '57P05']);
/** Socket and file-system errors from node itself. */
const NODE_UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ENOSPC',
  'EDQUOT',
  'EIO',
]);
/** pg reports a dead connection with messages only, without a code. */
const UNAVAILABLE_MESSAGES =
  /Connection terminated|not queryable|Connection ended unexpectedly|timeout exceeded when trying to connect|the database system is (starting up|shutting down|in recovery mode)|is not currently accepting connections/i;

/** Whether a store error means the database cannot be used right now (retry later). */
export function isUnavailableError(err: unknown): boolean {
  if (err instanceof AppError) return err.code === 'unavailable';
  const e = err as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^[0-9A-Z]{5}$/.test(code)) {
    if (PG_UNAVAILABLE_CODES.has(code) || PG_UNAVAILABLE_CLASSES.includes(code.slice(0, 2))) return true;
  }
  // SQLITE_FULL (disk full), SQLITE_IOERR and its extended codes (write or sync failed), and a
  // database file that cannot be opened any more.
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR') || code === 'SQLITE_CANTOPEN') return true;
  if (NODE_UNAVAILABLE_CODES.has(code)) return true;
  return typeof e?.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message);
}

/** A short description of a store error for the log: its code and message, no stack. */
export function describeStoreError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return typeof e?.code === 'string' ? `${e.code}: ${message}` : message;
}

export type HealthEvent =
  | { kind: 'unavailable'; cause: string }
  | { kind: 'available'; downMs: number }
  | { kind: 'notifications-lost'; cause: string }
  | { kind: 'notifications-restored'; downMs: number };

/**
 * A success this soon after a failure does not end an episode: when one killed connection
 * fails its requests while a fresh one already succeeds, that is still one outage, not many.
 */
const SETTLE_MS = 1000;

export class StoreHealth {
  private downSince: number | undefined;
  private lastFailureAt = 0;
  private lastSuccessAt = 0;
  private settling: NodeJS.Timeout | undefined;
  private notificationsLostAt: number | undefined;
  private readonly listeners = new Set<(event: HealthEvent) => void>();

  constructor(private readonly clock: () => number = Date.now) {}

  /** true from the first failure of an episode until a later success ends it */
  get isDown(): boolean {
    return this.downSince !== undefined;
  }

  onEvent(listener: (event: HealthEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  failed(err: unknown): void {
    const now = this.clock();
    this.lastFailureAt = now;
    if (this.downSince !== undefined) return;
    this.downSince = now;
    this.emit({ kind: 'unavailable', cause: describeStoreError(err) });
  }

  succeeded(): void {
    if (this.downSince === undefined) return;
    const now = this.clock();
    this.lastSuccessAt = now;
    const settled = now - this.lastFailureAt >= SETTLE_MS;
    if (!settled) {
      // Decided once the window has passed: recovered unless something failed after this success.
      this.settling ??= setTimeout(() => {
        this.settling = undefined;
        if (this.lastSuccessAt > this.lastFailureAt) this.succeeded();
      }, SETTLE_MS).unref();
      return;
    }
    const downMs = now - this.downSince;
    this.downSince = undefined;
    this.emit({ kind: 'available', downMs });
  }

  /** the connection that receives other instances' change notifications was lost */
  notificationsLost(err: unknown): void {
    if (this.notificationsLostAt !== undefined) return;
    this.notificationsLostAt = this.clock();
    this.emit({ kind: 'notifications-lost', cause: describeStoreError(err) });
  }

  notificationsRestored(): void {
    if (this.notificationsLostAt === undefined) return;
    const downMs = this.clock() - this.notificationsLostAt;
    this.notificationsLostAt = undefined;
    this.emit({ kind: 'notifications-restored', downMs });
  }

  private emit(event: HealthEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** The error a request gets while the database is unavailable. */
export function unavailable(): AppError {
  return new AppError('unavailable');
}

interface HealthLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** One log line per episode boundary. */
export function logHealthEvent(log: HealthLog, event: HealthEvent): void {
  switch (event.kind) {
    case 'unavailable':
      log.error({ cause: event.cause }, 'database unavailable: answering 503 until it is back');
      break;
    case 'available':
      log.info({ downMs: event.downMs }, 'database available again');
      break;
    case 'notifications-lost':
      log.warn({ cause: event.cause }, 'change notifications lost: reconnecting the LISTEN connection');
      break;
    case 'notifications-restored':
      log.info({ downMs: event.downMs }, 'change notifications restored');
      break;
  }
}
