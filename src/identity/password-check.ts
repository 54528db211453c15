// The one place a user's password is checked, for the UI login and for HTTP Basic alike, so
// both share the failure limits and neither reveals which logins exist.
import type { ErrorCode } from '../errors.js';
import { textProblem } from '../safe-text.js';
import type { Store, UserRow } from '../store/store.js';
import { hashPassword, VerifiedCredentials, verifyPassword } from './passwords.js';
import { LoginLimiter, type LoginLimits } from './rate-limit.js';

export type PasswordCheck =
  { ok: true; user: UserRow } | { ok: false; rejection: ErrorCode; retryAfterSeconds?: number };

export class PasswordChecker {
  private readonly verified = new VerifiedCredentials();
  private readonly limiter: LoginLimiter;
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly store: Store,
    limits: LoginLimits,
  ) {
    this.limiter = new LoginLimiter(limits);
  }

  /**
   * A failure is audited (`login_failed`, detail `basic` for HTTP Basic) unless the limit
   * refused the attempt unchecked, so the trail cannot be flooded past the limit.
   */
  async check(
    login: string,
    password: string,
    address: string,
    via: 'basic' | 'session' = 'basic',
  ): Promise<PasswordCheck> {
    // A login no store can hold (NUL, broken Unicode) names nobody; asking PostgreSQL would fail.
    const user = textProblem(login) ? undefined : await this.store.accounts.getCredentials(login);
    // A password verified moments ago passes even while the limit is reached: an attacker
    // hammering a login must not lock out the script that knows the password.
    if (user && this.verified.has(login, password, user.passwordHash)) return { ok: true, user };
    const wait = this.limiter.retryAfterSeconds(login, address);
    if (wait > 0) return { ok: false, rejection: 'too_many_attempts', retryAfterSeconds: wait };
    // Unknown logins cost one scrypt too, so response times do not tell which logins exist.
    const hash = user?.passwordHash ?? (await (this.dummyHash ??= hashPassword('keyholder-no-such-user')));
    const matches = await verifyPassword(password, hash);
    if (!user || !matches) {
      this.limiter.fail(login, address);
      // a login no store can hold is not written anywhere, not even here
      if (!textProblem(login)) {
        await this.store.audit.record(
          'login_failed',
          { userId: null, login: null, address },
          login.slice(0, 64),
          via === 'basic' ? 'basic' : null,
        );
      }
      return { ok: false, rejection: 'unauthorized' };
    }
    this.limiter.succeed(login, address);
    this.verified.add(login, password, user.passwordHash);
    return { ok: true, user };
  }
}
