#!/usr/bin/env node
// The client-only `keyholder`: the lock and update commands without the server, its database
// drivers and web stack. `npm run build:client` bundles this file into one JavaScript file that
// runs on any host with Node 20 (see docs/client.md); the full executable is src/cli/main.ts.
import { Command } from 'commander';
import { registerLockCommands } from '../cli/lock.js';
import { usageErrorsExitWithError } from '../cli/usage-exit.js';
import { registerCompletionCommand } from '../cli/completion.js';
import { registerOperatorCommands } from '../cli/operator.js';
import { registerUpdateCommands } from '../cli/update.js';

// Set by the bundler from package.json; a source checkout run through tsx has no version baked in.
declare const KEYHOLDER_VERSION: string | undefined;

const program = new Command('keyholder')
  .description('keyholder client: take Foreman DLM / keyholder locks and run unattended updates')
  .version(typeof KEYHOLDER_VERSION === 'string' ? KEYHOLDER_VERSION : 'development')
  .showHelpAfterError();
usageErrorsExitWithError(program);

registerLockCommands(program);
registerUpdateCommands(program);
registerOperatorCommands(program);
// last: it describes every command registered before it
registerCompletionCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`keyholder: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
