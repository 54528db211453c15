import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { PostgresStore } from './postgres/index.js';
import { SqliteStore } from './sqlite/index.js';
import type { Store } from './store.js';

/** PostgreSQL when a database URL is configured, otherwise SQLite in the data directory. */
export function openStore(config: Config): Store {
  if (config.database.url) {
    return new PostgresStore({
      url: config.database.url,
      poolSize: config.database.poolSize,
      connectTimeoutMs: config.database.connectTimeoutSeconds * 1000,
    });
  }
  return new SqliteStore(join(config.dataDir, 'keyholder.sqlite'));
}
