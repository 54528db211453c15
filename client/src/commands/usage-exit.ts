// Commander exits 1 on a usage error (unknown option, missing argument, bad number), but for the
// client commands 1 means "lock not available, try again later": a typo in a systemd unit would
// then look like a busy lock forever. Usage errors exit 2 ("something needs fixing") instead;
// --help and --version still exit 0. Set on the program before its commands are added, so every
// command inherits it.
import type { Command } from 'commander';
import { EXIT_ERROR } from '../errors.js';

export function usageErrorsExitWithError(program: Command): Command {
  return program.exitOverride((err) => {
    process.exit(err.exitCode === 0 ? 0 : EXIT_ERROR);
  });
}
