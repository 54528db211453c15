// The client commands on their own, as `keyholder` registers them, so the client tests do not
// depend on the server's build. Run as: node --import tsx test/client/support/cli.ts lock ...
import { Command } from 'commander';
import { registerLockCommands } from '../../../src/cli/lock.js';
import { registerUpdateCommands } from '../../../src/cli/update.js';

const program = new Command('keyholder').showHelpAfterError();
registerLockCommands(program);
registerUpdateCommands(program);
program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`keyholder: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
