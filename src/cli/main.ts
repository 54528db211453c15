#!/usr/bin/env node
// The one `keyholder` executable. Each command lives in its own file and registers itself here.
import { Command } from 'commander';
import { registerServerCommands } from './server.js';
import { registerCaCommands } from './ca.js';
import { registerUserCommands } from './user.js';
import { registerEventCommands } from './events.js';
import { registerDoctorCommand } from './doctor.js';
import { registerBackupCommands } from './backup.js';
// the host-side commands (lock, update, locks/hosts/events) come from the client package
import { registerClientCommands, usageErrorsExitWithError } from 'keyholder-client';
import { registerCompletionCommand } from './completion.js';

const program = new Command('keyholder')
  .description('Distributed lock manager for server fleets (Foreman DLM compatible, FleetLock)')
  .version('0.1.0')
  .showHelpAfterError();
usageErrorsExitWithError(program);

registerServerCommands(program);
registerCaCommands(program);
registerUserCommands(program);
registerEventCommands(program);
registerDoctorCommand(program);
registerBackupCommands(program);
registerClientCommands(program);
// last: it describes every command registered before it
registerCompletionCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  console.error(`keyholder: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
});
