// Shared set-up for the access tests: users of each role, API tokens in every state, and raw
// SQL against the test database (to age a session or a token without waiting for a clock).
import https from 'node:https';
import { hashPassword } from '../../../src/identity/passwords.js';
import { issueToken } from '../../../src/identity/tokens.js';
import type { TestDatabase } from '../../support/stores.js';
import type { TestServer } from '../../support/server.js';
import { querySql } from '../../support/db-sql.js';

export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type RoleName = (typeof ROLES)[number];

/** `<role>-password` for the users `viewer` and `operator`; the admin is the bootstrap admin. */
export const passwordOf = (login: string) => `${login}-password`;

export const CLI_ACTOR = { userId: null, login: '(test)', address: null };

export async function addUser(s: TestServer, login: string, role: RoleName, password = passwordOf(login)) {
  return s.server.store.accounts.createUser(
    { login, passwordHash: await hashPassword(password), role },
    null,
  );
}

/** A token of `login` that is active, revoked, or that expired a minute ago. */
export async function tokenFor(
  s: TestServer,
  login: string,
  state: 'active' | 'revoked' | 'expired',
): Promise<string> {
  const expiresAt = state === 'expired' ? Date.now() - 60_000 : null;
  const { token, secret } = await issueToken(
    s.server.store,
    { login, name: `${state} token`, expiresAt },
    CLI_ACTOR,
  );
  if (state === 'revoked') await s.server.store.accounts.revokeToken(token.id, CLI_ACTOR);
  return secret;
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** Runs one statement on the test database, from outside the server (as an operator's psql would). */
export async function execSql(db: TestDatabase, sql: string, params: unknown[] = []): Promise<void> {
  await querySql(db, sql, params);
}

/** Keep-alive connections for the many requests of a matrix (certificate-less and with). */
export function keepAliveAgent(): https.Agent {
  return new https.Agent({ keepAlive: true, maxSockets: 4 });
}
