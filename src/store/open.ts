import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { PostgresStore } from './postgres/index.js';
import { SqliteStore } from './sqlite/index.js';
import type { Store } from './store.js';

/**
 * The URL to connect with: `database.password` (e.g. from KEYHOLDER_DATABASE_PASSWORD_FILE)
 * goes into a URL that has none, so the password never has to be written into the URL itself.
 * (pg's own `password` option loses to the URL's empty password, hence the URL.)
 */
export function connectionUrl(database: Config['database']): string | undefined {
  if (!database.url || !database.password) return database.url;
  const url = new URL(database.url);
  if (url.password === '') url.password = encodeURIComponent(database.password);
  return url.toString();
}

/** PostgreSQL when a database URL is configured, otherwise SQLite in the data directory. */
export function openStore(config: Config): Store {
  const url = connectionUrl(config.database);
  if (url) {
    return new PostgresStore({
      url,
      poolSize: config.database.poolSize,
      connectTimeoutMs: config.database.connectTimeoutSeconds * 1000,
    });
  }
  return new SqliteStore(join(config.dataDir, 'keyholder.sqlite'));
}
