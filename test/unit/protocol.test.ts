// keyholder-protocol: the rules server and client share, and that each side really uses them
// (the client refuses before sending exactly the names the server refuses).
import {
  clampWait,
  isLockReason,
  lockNameProblems,
  LOCK_REASONS,
  MAX_WAIT_SECONDS,
} from 'keyholder-protocol';
import { describe, expect, it } from 'vitest';
import { validateLockName } from '../../client/src/config.js';
import { ClientError } from '../../client/src/errors.js';
import { assertLockName } from '../../src/lock/validate.js';

const clientRefuses = (name: string) => {
  try {
    validateLockName(name);
    return false;
  } catch (err) {
    expect(err).toBeInstanceOf(ClientError);
    return true;
  }
};
const serverRefuses = (name: string) => {
  try {
    assertLockName(name);
    return false;
  } catch {
    return true;
  }
};

describe('keyholder-protocol', () => {
  it.each([
    ['web-cluster', []],
    ['patch window 2.0', []],
    ['', ["can't be blank"]],
    ['   ', ["can't be blank"]],
    ['a/b', ['must not contain /']],
    ['tab\there', ['must not contain control characters']],
    ['x'.repeat(255), []],
    ['x'.repeat(256), ['is too long (maximum is 255 characters)']],
  ])('lock name %j: %j; client and server agree', (name, problems) => {
    expect(lockNameProblems(name)).toEqual(problems);
    expect(clientRefuses(name)).toBe(problems.length > 0);
    expect(serverRefuses(name)).toBe(problems.length > 0);
  });

  it('caps a blocking wait at 300 seconds', () => {
    expect(MAX_WAIT_SECONDS).toBe(300);
    expect([0, 299, 300, 301, 900].map(clampWait)).toEqual([0, 299, 300, 300, 300]);
  });

  it('knows the X-Lock-Reason values and nothing else', () => {
    expect(LOCK_REASONS.every(isLockReason)).toBe(true);
    expect(['', 'HELD', 'busy'].some(isLockReason)).toBe(false);
  });
});
