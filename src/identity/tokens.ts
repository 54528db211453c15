// API tokens for automation: a random `kh_…` secret shown once at creation, kept only as a
// hash, used as `Authorization: Bearer …` with the role its user has at the time of use.
import type { AuditActor, Store, TokenRow } from '../store/store.js';
import { newApiToken } from './secrets.js';

export type TokenState = 'active' | 'expired' | 'revoked';

export function tokenState(token: TokenRow, now: number): TokenState {
  if (token.revokedAt !== null) return 'revoked';
  if (token.expiresAt !== null && token.expiresAt <= now) return 'expired';
  return 'active';
}

export async function issueToken(
  store: Store,
  input: { login: string; name: string; expiresAt: number | null },
  actor: AuditActor,
): Promise<{ token: TokenRow; secret: string }> {
  const fresh = newApiToken();
  const token = await store.accounts.createToken(
    {
      login: input.login,
      name: input.name,
      tokenHash: fresh.hash,
      prefix: fresh.prefix,
      expiresAt: input.expiresAt,
    },
    actor,
  );
  return { token, secret: fresh.secret };
}
