// `keyholder user …`: manage users and API tokens straight in the database (the same one the
// server uses), e.g. before the first start or when every admin password is lost. Passwords
// are read from standard input or generated and printed once, never taken from argv (`ps`).
import type { Command } from 'commander';
import { AppError, fullMessages } from '../errors.js';
import { hashPassword, randomPassword } from '../identity/passwords.js';
import { issueToken, tokenState } from '../identity/tokens.js';
import { checkValue, loginSchema, passwordSchema, roleSchema } from '../identity/user-input.js';
import { formatNullableTimestamp, formatTimestamp } from '../lock/time.js';
import type { AuditActor } from '../store/store.js';
import { storeOptions, withStore, type StoreFlags } from './store-options.js';

export interface UserCliIo {
  out(line: string): void;
  /** all of standard input */
  readStdin(): Promise<string>;
}

const processIo: UserCliIo = {
  out: (line) => console.log(line),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

const CLI_ACTOR: AuditActor = { userId: null, login: '(cli)', address: null };

/** The store's 422s (duplicate login, last admin) as a plain message for the terminal. */
function rethrowValidation(err: unknown): never {
  if (err instanceof AppError && err.fieldErrors) throw new Error(fullMessages(err.fieldErrors).join('; '));
  throw err;
}

/** From stdin (first line) with --password-stdin, else a random one that is printed once. */
async function newPassword(
  io: UserCliIo,
  fromStdin: boolean | undefined,
): Promise<{ password: string; show: boolean }> {
  if (!fromStdin) return { password: randomPassword(), show: true };
  const line = (await io.readStdin()).split(/\r?\n/)[0] ?? '';
  return { password: checkValue(passwordSchema, line, 'the password'), show: false };
}

export function registerUserCommands(program: Command, io: UserCliIo = processIo): void {
  const user = program.command('user').description('manage users (viewer, operator, admin) and API tokens');

  storeOptions(user.command('add').argument('<login>').description('create a user'))
    .option('-r, --role <role>', 'viewer, operator or admin', 'viewer')
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .action(async (login: string, flags: StoreFlags & { role: string; passwordStdin?: boolean }) => {
      checkValue(loginSchema, login, 'the login');
      const role = checkValue(roleSchema, flags.role, '--role');
      const { password, show } = await newPassword(io, flags.passwordStdin);
      const passwordHash = await hashPassword(password);
      await withStore(flags, (store) =>
        store.accounts.createUser({ login, passwordHash, role }, CLI_ACTOR),
      ).catch(rethrowValidation);
      io.out(`created user ${login} (${role})${show ? `  password: ${password}  (shown once)` : ''}`);
    });

  storeOptions(
    user.command('passwd').argument('<login>').description("set a user's password (ends their sessions)"),
  )
    .option('--password-stdin', 'read the password from standard input instead of generating one')
    .action(async (login: string, flags: StoreFlags & { passwordStdin?: boolean }) => {
      const { password, show } = await newPassword(io, flags.passwordStdin);
      const passwordHash = await hashPassword(password);
      const updated = await withStore(flags, (store) =>
        store.accounts.updateUser(login, { passwordHash }, CLI_ACTOR),
      );
      if (!updated) throw new Error(`no user '${login}'`);
      io.out(`password of ${login} changed${show ? `: ${password}  (shown once)` : ''}`);
    });

  storeOptions(
    user.command('role').argument('<login>').argument('<role>').description("change a user's role"),
  ).action(async (login: string, roleText: string, flags: StoreFlags) => {
    const role = checkValue(roleSchema, roleText, 'the role');
    const updated = await withStore(flags, (store) =>
      store.accounts.updateUser(login, { role }, CLI_ACTOR),
    ).catch(rethrowValidation);
    if (!updated) throw new Error(`no user '${login}'`);
    io.out(`${login} is now ${role}`);
  });

  storeOptions(user.command('list').description('list users')).action(async (flags: StoreFlags) => {
    const { users } = await withStore(flags, (store) => store.accounts.listUsers(10_000, 0));
    io.out(['LOGIN', 'ROLE', 'CREATED'].join('\t'));
    for (const u of users) io.out([u.login, u.role, formatTimestamp(u.createdAt)].join('\t'));
  });

  storeOptions(
    user.command('remove').argument('<login>').description('delete a user with their tokens and sessions'),
  ).action(async (login: string, flags: StoreFlags) => {
    const removed = await withStore(flags, (store) => store.accounts.deleteUser(login, CLI_ACTOR)).catch(
      rethrowValidation,
    );
    if (!removed) throw new Error(`no user '${login}'`);
    io.out(`removed user ${login}`);
  });

  storeOptions(
    user.command('token').argument('<login>').description('issue an API token for a user (printed once)'),
  )
    .option('-n, --name <name>', 'what the token is for', 'cli')
    .option('--expires-in-days <days>', 'expiry (default: never)')
    .action(async (login: string, flags: StoreFlags & { name: string; expiresInDays?: string }) => {
      let expiresAt: number | null = null;
      if (flags.expiresInDays !== undefined) {
        const days = Number(flags.expiresInDays);
        if (!Number.isInteger(days) || days < 1 || days > 3650) {
          throw new Error(
            `--expires-in-days must be an integer from 1 to 3650, got '${flags.expiresInDays}'`,
          );
        }
        expiresAt = Date.now() + days * 86_400_000;
      }
      const { token, secret } = await withStore(flags, (store) =>
        issueToken(store, { login, name: flags.name, expiresAt }, CLI_ACTOR),
      ).catch(rethrowValidation);
      io.out(
        `token ${token.id} for ${login} ("${token.name}", expires ${formatNullableTimestamp(token.expiresAt) ?? 'never'}):`,
      );
      io.out(secret);
      io.out('Shown once: use it as "Authorization: Bearer <token>".');
    });

  storeOptions(
    user.command('tokens').argument('[login]').description("list API tokens (a user's, or all)"),
  ).action(async (login: string | undefined, flags: StoreFlags) => {
    const { tokens } = await withStore(flags, (store) => store.accounts.listTokens({ login }, 10_000, 0));
    const now = Date.now();
    io.out(['ID', 'USER', 'NAME', 'PREFIX', 'STATE', 'LAST USED'].join('\t'));
    for (const t of tokens) {
      io.out(
        [
          t.id,
          t.userLogin,
          t.name,
          t.prefix,
          tokenState(t, now),
          formatNullableTimestamp(t.lastUsedAt) ?? '-',
        ].join('\t'),
      );
    }
  });

  storeOptions(user.command('revoke-token').argument('<id>').description('revoke an API token')).action(
    async (idText: string, flags: StoreFlags) => {
      const id = Number(idText);
      if (!Number.isInteger(id) || id < 1)
        throw new Error(`the token id must be a positive integer, got '${idText}'`);
      const token = await withStore(flags, (store) => store.accounts.revokeToken(id, CLI_ACTOR));
      if (!token) throw new Error(`no token ${id}`);
      io.out(`token ${id} of ${token.userLogin} revoked`);
    },
  );
}
