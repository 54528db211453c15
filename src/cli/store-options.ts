// What every command that works on the database directly shares: where the database is
// (config file, data directory or URL), and opening it migrated for the length of one call.
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/store.js';
import type { Config } from '../config/schema.js';

export interface StoreFlags {
  config?: string;
  dataDir?: string;
  databaseUrl?: string;
}

/** The configuration the flags point at; `extra` adds command-specific flags (host, port). */
export function configFromFlags(flags: StoreFlags, extra: Record<string, unknown> = {}): Config {
  return loadConfig({
    file: flags.config,
    flags: { dataDir: flags.dataDir, database: { url: flags.databaseUrl }, ...extra },
  });
}

export async function withStore<T>(flags: StoreFlags, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = openStore(configFromFlags(flags));
  try {
    await store.migrate();
    return await fn(store);
  } finally {
    await store.close();
  }
}

export function storeOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config file (YAML or JSON); default $KEYHOLDER_CONFIG')
    .option('-d, --data-dir <dir>', 'data directory: SQLite file and development PKI (default ./data)')
    .option('--database-url <url>', 'postgres:// URL; default SQLite in the data directory');
}
