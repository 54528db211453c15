// The one-line explanations of a refused (412) request: from keyholder's X-Lock-* headers when
// present, from the lock as seen right after when the server is Foreman.
import { describe, expect, it } from 'vitest';
import { GENERIC_412, type LockJson } from '../../client/src/lock-json.js';
import { explain412 } from '../../client/src/messages.js';

const lock = (patch: Partial<LockJson>): LockJson => ({ name: 'l', enabled: true, host: null, ...patch });

describe('explain412', () => {
  it('uses the reason and holders keyholder sends', () => {
    const error = { message: GENERIC_412 };
    expect(
      explain412('acquire', { ...error, reason: 'held', holders: ['a', 'b c'] }, undefined, 'me'),
    ).toEqual({
      reason: 'held',
      why: 'held by a, b c',
    });
    expect(
      explain412('acquire', { ...error, reason: 'full', holders: ['a', 'b'] }, undefined, 'me').why,
    ).toBe('all holder slots are taken (held by a, b)');
    expect(explain412('acquire', { ...error, reason: 'disabled' }, undefined, 'me').why).toBe(
      'the lock is disabled',
    );
    expect(explain412('acquire', { ...error, reason: 'host_barred' }, undefined, 'me').why).toBe(
      'this host is not allowed to take locks',
    );
    expect(explain412('acquire', { ...error, reason: 'outside_window' }, undefined, 'me').why).toBe(
      "outside the lock's maintenance window",
    );
    const windowed = {
      message: `${GENERIC_412} The lock is outside its maintenance windows; the next window opens 2026-11-29 01:00:00 UTC.`,
      reason: 'outside_window',
    };
    expect(explain412('acquire', windowed, undefined, 'me').why).toBe(
      "outside the lock's maintenance window; the next window opens 2026-11-29 01:00:00 UTC",
    );
    expect(explain412('acquire', { ...error, reason: 'queued' }, undefined, 'me').why).toBe(
      'other hosts are queued for it (blocking acquire) and go first',
    );
    expect(
      explain412(
        'acquire',
        { ...error, reason: 'gate_failed', gate: 'no-alerts: 2 series' },
        undefined,
        'me',
      ),
    ).toEqual({ reason: 'gate_failed', why: 'health gate no-alerts: 2 series' });
    expect(explain412('acquire', { ...error, reason: 'gate_failed' }, undefined, 'me').why).toBe(
      'a health gate failed',
    );
    expect(explain412('acquire', { ...error, reason: 'quota' }, undefined, 'me').why).toBe(
      'refused by the server (quota)',
    );
  });

  it('reads the lock when Foreman gives only its generic message', () => {
    const error = { message: GENERIC_412 };
    expect(explain412('acquire', error, lock({ host: { name: 'other' } }), 'me')).toEqual({
      reason: 'held',
      why: 'held by other',
    });
    expect(explain412('release', error, lock({ enabled: false, host: { name: 'me' } }), 'me')).toEqual({
      reason: 'disabled',
      why: 'the lock is disabled',
    });
    expect(explain412('acquire', error, lock({}), 'me').why).toMatch(/refused although the lock is free now/);
    expect(explain412('acquire', error, undefined, 'me')).toEqual({ reason: undefined, why: GENERIC_412 });
  });

  it('passes on a server message that says more than the generic one', () => {
    expect(explain412('acquire', { message: 'Next window opens Sat 02:00 UTC' }, undefined, 'me').why).toBe(
      'Next window opens Sat 02:00 UTC',
    );
  });
});
