// The `keyholder` command tree: each command lives in its own file and registers itself here.
// Built without parsing anything, so the man pages and tests can read the very program the
// executable (src/cli/main.ts) runs.
import { Command } from 'commander';
import { registerServerCommands } from './server.js';
import { registerCaCommands } from './ca.js';
import { registerUserCommands } from './user.js';
import { registerEventCommands } from './events.js';
import { registerDoctorCommand } from './doctor.js';
import { registerBackupCommands } from './backup.js';
import { registerImportForemanCommand } from './import-foreman.js';
// the host-side commands (lock, update, locks/hosts/events) come from the client package
import { registerClientCommands, usageErrorsExitWithError } from 'keyholder-client';
import { registerCompletionCommand } from './completion.js';
import { registerManCommand } from './man.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('keyholder')
    .description('Distributed lock manager for server fleets (Foreman DLM compatible, FleetLock)')
    .version(VERSION)
    .showHelpAfterError();
  usageErrorsExitWithError(program);

  registerServerCommands(program);
  registerCaCommands(program);
  registerUserCommands(program);
  registerEventCommands(program);
  registerDoctorCommand(program);
  registerBackupCommands(program);
  registerImportForemanCommand(program);
  registerClientCommands(program);
  // last: it describes every command registered before it
  registerCompletionCommand(program);
  registerManCommand(program);
  return program;
}
