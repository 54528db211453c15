// `keyholder events expire --days N`: apply an event retention now (the server does it hourly
// with events.retentionDays), e.g. before a backup or after lowering the retention.
import type { Command } from 'commander';
import { storeOptions, withStore, type StoreFlags } from './store-options.js';

export function registerEventCommands(program: Command): void {
  const events = program.command('events').description('lock events');
  storeOptions(events.command('expire').description('delete lock events older than N days'))
    .requiredOption('--days <n>', 'keep the events of the last N days')
    .action(async (flags: StoreFlags & { days: string }) => {
      if (!/^\d{1,5}$/.test(flags.days) || Number(flags.days) < 1) {
        throw new Error(`--days must be a whole number of days from 1, got '${flags.days}'`);
      }
      const deleted = await withStore(flags, (store) => store.events.expire(Number(flags.days)));
      console.log(`deleted ${deleted} event${deleted === 1 ? '' : 's'} older than ${flags.days} days`);
    });
}
