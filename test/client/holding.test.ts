// The rules that decide whether a host still holds its lock, and which failures leave the
// outcome of a request unknown (an acquire that may have been granted) or map to which exit code.
import { describe, expect, it } from 'vitest';
import { ClientError, exitCodeFor, outcomeUnknown } from '../../client/src/errors.js';
import { judgeHolding } from '../../client/src/holding.js';
import { parseLockJson } from '../../client/src/lock-json.js';

const hold = { lock: 'web', host: 'web01.example.com', fencingToken: '7' };
const lockWith = (holders: { name: string; fencing_token?: number }[], extra: object = {}) =>
  parseLockJson({
    id: 1,
    name: 'web',
    host: holders[0] ? { name: holders[0].name } : null,
    holders,
    ...extra,
  });

describe('judgeHolding', () => {
  it('holds with the same token, and tells the lease', () => {
    expect(
      judgeHolding(lockWith([{ name: 'web01.example.com', fencing_token: 7 }], { lease_seconds: 30 }), hold),
    ).toMatchObject({
      held: true,
      leaseSeconds: 30,
    });
  });

  it('is lost when another host or nobody holds it, or it is gone', () => {
    expect(judgeHolding(lockWith([{ name: 'web02.example.com', fencing_token: 8 }]), hold)).toEqual({
      held: false,
      why: "this host no longer holds lock 'web' (held by web02.example.com)",
    });
    expect(judgeHolding(lockWith([]), hold)).toEqual({
      held: false,
      why: "this host no longer holds lock 'web' (it is free)",
    });
    expect(judgeHolding(undefined, hold)).toMatchObject({ held: false });
  });

  it('is lost when this host holds it again under a new token (lost and taken afresh)', () => {
    expect(judgeHolding(lockWith([{ name: 'web01.example.com', fencing_token: 9 }]), hold)).toEqual({
      held: false,
      why: "lock 'web' was lost and taken again meanwhile (fencing token 7, now 9)",
    });
  });

  it('compares names only against a server without tokens (Foreman)', () => {
    const foreman = parseLockJson({ id: 1, name: 'web', host: { name: 'web01.example.com', self: true } });
    expect(judgeHolding(foreman, { ...hold, fencingToken: undefined })).toMatchObject({ held: true });
  });
});

describe('failure kinds', () => {
  it('maps to exit codes: 1 busy, 2 error, 3 unreachable, 4 lost', () => {
    expect(exitCodeFor(new ClientError('unavailable', 'x'))).toBe(1);
    expect(exitCodeFor(new ClientError('tls', 'x'))).toBe(2);
    expect(exitCodeFor(new ClientError('hook', 'x'))).toBe(2);
    expect(exitCodeFor(new Error('x'))).toBe(2);
    expect(exitCodeFor(new ClientError('unreachable', 'x'))).toBe(3);
    expect(exitCodeFor(new ClientError('lost', 'x'))).toBe(4);
  });

  it('counts a broken connection, an interruption and a 5xx as an unknown outcome, an answer not', () => {
    expect(outcomeUnknown(new ClientError('unreachable', 'x'))).toBe(true);
    expect(outcomeUnknown(new ClientError('interrupted', 'x'))).toBe(true);
    expect(outcomeUnknown(new ClientError('protocol', 'x', { status: 504 }))).toBe(true);
    expect(outcomeUnknown(new ClientError('protocol', 'x', { status: 404 }))).toBe(false);
    expect(outcomeUnknown(new ClientError('unavailable', 'x', { status: 412 }))).toBe(false);
    expect(outcomeUnknown(new ClientError('tls', 'x'))).toBe(false);
    expect(outcomeUnknown(new ClientError('auth', 'x', { status: 403 }))).toBe(false);
  });
});
