// `keyholder import-foreman`: moves a fleet from foreman_dlm. Reads the Foreman database
// (never writes it), shows what it found, and on --yes (or a "y" at the prompt) writes the
// locks, their holders and events into this keyholder in one transaction — only into a
// keyholder without locks, so nothing is merged or overwritten.
import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { describeSummary, planForemanImport } from '../ops/foreman-plan.js';
import { readForemanDatabase } from '../ops/foreman-source.js';
import { withStore } from './store-options.js';

interface ImportForemanFlags {
  databaseUrl: string;
  dryRun?: boolean;
  yes?: boolean;
  config?: string;
  dataDir?: string;
  targetDatabaseUrl?: string;
}

async function confirmed(flags: ImportForemanFlags): Promise<boolean> {
  if (flags.yes) return true;
  if (!process.stdin.isTTY) {
    throw new Error('not a terminal to ask on: add --yes to import (or --dry-run to only look)');
  }
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question('import this into keyholder? [y/N] ')).trim());
  } finally {
    rl.close();
  }
}

export function registerImportForemanCommand(program: Command): void {
  program
    .command('import-foreman')
    .description(
      "bring foreman_dlm's locks, holders, enabled flags and events into a keyholder without locks",
    )
    .requiredOption('--database-url <url>', 'the Foreman PostgreSQL database (postgres://…), only read')
    .option('--dry-run', 'show what would be imported and write nothing')
    .option('-y, --yes', 'import without asking')
    .option('-c, --config <file>', "this keyholder's config file; default $KEYHOLDER_CONFIG")
    .option('-d, --data-dir <dir>', "this keyholder's data directory (SQLite; default ./data)")
    .option('--target-database-url <url>', "this keyholder's postgres:// URL; default from the config")
    .addHelpText(
      'after',
      `
Examples:
  keyholder import-foreman --database-url postgres://foreman@db/foreman --dry-run
  keyholder import-foreman --database-url postgres://foreman@db/foreman --yes -c /etc/keyholder/config.yaml`,
    )
    .action(async (flags: ImportForemanFlags) => {
      const plan = planForemanImport(await readForemanDatabase(flags.databaseUrl));
      process.stdout.write(describeSummary(plan.summary));
      if (plan.summary.problems.length > 0) {
        throw new Error(`${plan.summary.problems.length} problem(s) above: nothing imported`);
      }
      if (flags.dryRun) {
        console.log('dry run: nothing written');
        return;
      }
      if (!(await confirmed(flags))) {
        console.log('nothing imported');
        return;
      }
      const target = { config: flags.config, dataDir: flags.dataDir, databaseUrl: flags.targetDatabaseUrl };
      const counts = await withStore(target, (store) => store.importLocks(plan.data));
      console.log(
        `imported ${counts.locks} locks, ${counts.lock_holders} holders, ${counts.lock_events} events, ${counts.lock_members} members; ` +
          `${counts.hosts_created} hosts created, ${counts.hosts_existing} already known`,
      );
    });
}
