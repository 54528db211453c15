// The pure parts of fault handling: which store errors mean "the database is unavailable",
// outage episodes (one report at the start, one at the end), and when a queued waiter counts.
import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { waiterIsLive } from '../../src/lock/queue.js';
import { StoreHealth, isUnavailableError, type HealthEvent } from '../../src/store/health.js';

describe('isUnavailableError', () => {
  it.each([
    ['08006', 'connection failure'],
    ['08001', 'cannot connect'],
    ['57P01', 'terminating connection due to administrator command'],
    ['57P03', 'the database system is starting up'],
    ['53300', 'too many connections'],
    ['53100', 'could not extend file: No space left on device'],
    ['ECONNREFUSED', 'connect ECONNREFUSED'],
    ['ECONNRESET', 'read ECONNRESET'],
    ['EPIPE', 'write EPIPE'],
    ['ETIMEDOUT', 'timeout'],
    ['SQLITE_FULL', 'database or disk is full'],
    ['SQLITE_IOERR_WRITE', 'disk I/O error'],
    [undefined, 'Connection terminated unexpectedly'],
    [undefined, 'Client has encountered a connection error and is not queryable'],
    [undefined, 'timeout exceeded when trying to connect'],
    // ALTER DATABASE … ALLOW_CONNECTIONS false (a maintenance switch): SQLSTATE 55000 at connect
    ['55000', 'database "keyholder" is not currently accepting connections'],
  ])('%s %s: unavailable', (code, message) => {
    expect(isUnavailableError(Object.assign(new Error(message), { code }))).toBe(true);
  });

  it.each([
    ['23505', 'duplicate key value'],
    ['22021', 'invalid byte sequence for encoding "UTF8": 0x00'],
    ['42P01', 'relation does not exist'],
    ['55000', 'cannot execute in a read-only transaction state'],
    ['SQLITE_CONSTRAINT_UNIQUE', 'UNIQUE constraint failed'],
    [undefined, 'something else'],
  ])('%s %s: not unavailable', (code, message) => {
    expect(isUnavailableError(Object.assign(new Error(message), { code }))).toBe(false);
  });

  it('knows its own 503 and no other catalogue error', () => {
    expect(isUnavailableError(new AppError('unavailable'))).toBe(true);
    expect(isUnavailableError(new AppError('not_found'))).toBe(false);
  });
});

describe('StoreHealth episodes', () => {
  const setup = () => {
    let now = 1_000_000;
    const health = new StoreHealth(() => now);
    const events: HealthEvent['kind'][] = [];
    health.onEvent((e) => events.push(e.kind));
    return { health, events, advance: (ms: number) => (now += ms) };
  };

  it('reports many failures as one outage and its end once', () => {
    const { health, events, advance } = setup();
    for (let i = 0; i < 100; i++) health.failed(new Error('Connection terminated unexpectedly'));
    expect(health.isDown).toBe(true);
    advance(5000);
    health.succeeded();
    health.succeeded();
    expect(events).toEqual(['unavailable', 'available']);
    expect(health.isDown).toBe(false);
  });

  it('does not end an outage on a success right next to a failure', () => {
    const { health, events, advance } = setup();
    health.failed(new Error('x'));
    advance(10);
    health.succeeded();
    health.failed(new Error('x'));
    expect(events).toEqual(['unavailable']);
    advance(2000);
    health.succeeded();
    expect(events).toEqual(['unavailable', 'available']);
  });

  it('reports the notification connection lost and restored once each', () => {
    const { health, events } = setup();
    health.notificationsRestored();
    health.notificationsLost(new Error('a'));
    health.notificationsLost(new Error('b'));
    health.notificationsRestored();
    health.notificationsRestored();
    expect(events).toEqual(['notifications-lost', 'notifications-restored']);
  });
});

describe('waiterIsLive', () => {
  it('needs both its deadline and its instance lease ahead', () => {
    expect(waiterIsLive({ deadline: 200, instanceExpiresAt: 150 }, 100)).toBe(true);
    expect(waiterIsLive({ deadline: 100, instanceExpiresAt: 150 }, 100)).toBe(false);
    expect(waiterIsLive({ deadline: 200, instanceExpiresAt: 100 }, 100)).toBe(false);
    expect(waiterIsLive({ deadline: 200, instanceExpiresAt: null }, 100)).toBe(false);
  });
});
