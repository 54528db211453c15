// `keyholder update`: the unattended update workflow (see client/src/workflow.ts), run by
// keyholder-update.timer and, with --resume, by keyholder-resume.service at boot.
import { Command, Option } from 'commander';
import { resolveUpdateSettings, stateDirOf } from '../config.js';
import { EXIT_OK, exitCodeFor } from '../errors.js';
import { createLogger } from '../log.js';
import { connectWith, loadClientConfig, type CommonFlags } from '../setup.js';
import { interruptOnSignals } from '../signals.js';
import { readState } from '../state.js';
import { runUpdate } from '../update-runner.js';
import { addConnectionOptions, seconds } from './lock.js';

interface UpdateFlags extends CommonFlags {
  lock?: string;
  hooksDir?: string;
  stateDir?: string;
  acquireTimeout?: number;
  wait?: number;
  resume?: boolean;
  retry?: boolean;
  dryRun?: boolean;
}

/**
 * Whether a run left state behind. The state directory comes from --state-dir, else from the
 * config file if it can be read at all, else the default; a missing or broken config file is
 * fine here (it is reported by the run that has something to do).
 */
async function hasSavedState(flags: UpdateFlags): Promise<boolean> {
  const file = flags.stateDir ? {} : await loadClientConfig(flags).catch(() => ({}));
  return (await readState(stateDirOf(flags, file)).catch(() => 'unreadable')) !== undefined;
}

export function registerUpdateCommands(program: Command): void {
  addConnectionOptions(
    program
      .command('update')
      .description(
        'run the update workflow: needs_update.d → acquire → pre_update.d → update.d → needs_reboot.d → reboot → post_update.d → release',
      ),
  )
    .option('-l, --lock <name>', 'lock that serialises updates (config: update.lock)')
    .option('--hooks-dir <dir>', 'directory holding the *.d hook directories (default /etc/keyholder)')
    .option('--state-dir <dir>', 'state file and run lock, must survive reboots (default /var/lib/keyholder)')
    .addOption(
      new Option(
        '--acquire-timeout <seconds>',
        'give up acquiring after this long (a paused or closed lock that opens later: at once)',
      ).argParser(seconds),
    )
    .addOption(
      new Option(
        '-w, --wait <seconds>',
        'blocking wait per acquire request on keyholder, 0 to poll (above 300 counts as 300)',
      ).argParser(seconds),
    )
    .option('--resume', 'continue an update interrupted by its reboot (run at boot); no-op otherwise')
    .option('--retry', 'continue from a step that failed, after fixing its cause')
    .option('-n, --dry-run', 'show what would be done, do nothing')
    .action(async (flags: UpdateFlags) => {
      const log = createLogger();
      const interruption = interruptOnSignals((name) => log.warn(`received ${name}, stopping`));
      try {
        if (flags.resume && !flags.retry && !flags.dryRun && !(await hasSavedState(flags))) {
          // The common case at every boot. It must not depend on the server, the network, the
          // certificates or even a valid config: a host not yet enrolled would fail its
          // boot-time unit forever.
          log.info('no interrupted update to resume');
          process.exitCode = EXIT_OK;
          return;
        }
        const file = await loadClientConfig(flags);
        const settings = resolveUpdateSettings(flags, file);
        const { client, host } = await connectWith(flags, file);
        await runUpdate(
          { settings, client, host, log, env: process.env, signal: interruption.signal },
          { resume: flags.resume === true, retry: flags.retry === true, dryRun: flags.dryRun === true },
        );
        process.exitCode = EXIT_OK;
      } catch (err) {
        log.error(err instanceof Error ? err.message : String(err));
        process.exitCode = exitCodeFor(err);
      } finally {
        interruption.dispose();
      }
    });
}
