// keyholder-client as a library: the client's commands, for a program that offers them among
// its own. The server's `keyholder` executable registers them this way (server code may import
// the client, never the reverse); the client's own executable is main.ts.
import { Command } from 'commander';
import { registerLockCommands } from './commands/lock.js';
import { registerOperatorCommands } from './commands/operator.js';
import { registerUpdateCommands } from './commands/update.js';
import { usageErrorsExitWithError } from './commands/usage-exit.js';

export { registerLockCommands, registerOperatorCommands, registerUpdateCommands, usageErrorsExitWithError };

/** lock, update and the operator commands (locks, hosts, events), in the order `--help` lists them. */
export function registerClientCommands(program: Command): Command {
  registerLockCommands(program);
  registerUpdateCommands(program);
  registerOperatorCommands(program);
  return program;
}

/** A program with only the client commands, under the given executable name. */
export function createClientProgram(name: string, version: string): Command {
  const program = new Command(name)
    .description('keyholder client: take Foreman DLM / keyholder locks and run unattended updates')
    .version(version)
    .showHelpAfterError();
  usageErrorsExitWithError(program);
  return registerClientCommands(program);
}

/** Runs a program the way every keyholder executable does: a failure outside a command exits 2. */
export function runProgram(program: Command, argv: string[]): void {
  program.parseAsync(argv).catch((err: unknown) => {
    console.error(`${program.name()}: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  });
}
