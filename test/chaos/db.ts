// Reads the database behind the servers directly, the way an auditor would: who holds what
// (with the fencing token) and how many blocking acquires are queued. Survives the database
// going away: a failed read is reported as undefined and the next read reconnects.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import pg from 'pg';

export interface HolderRow {
  lock: string;
  host: string;
  token: number;
  maxHolders: number;
}

export interface DbReader {
  holders(): Promise<HolderRow[] | undefined>;
  waiters(lockName?: string): Promise<number | undefined>;
  close(): Promise<void>;
}

const HOLDERS_SQL = `SELECT l.name AS lock, h.name AS host, lh.fencing_token AS token, l.max_holders AS max
  FROM lock_holders lh JOIN locks l ON l.id = lh.lock_id JOIN hosts h ON h.id = lh.host_id`;
const WAITERS_SQL = 'SELECT COUNT(*) AS n FROM lock_waiters';
const WAITERS_OF_SQL = `${WAITERS_SQL} WHERE lock_id = (SELECT id FROM locks WHERE name = ?)`;

interface RawHolder {
  lock: string;
  host: string;
  token: number | string;
  max: number | string;
}

const toHolder = (r: RawHolder): HolderRow => ({
  lock: r.lock,
  host: r.host,
  token: Number(r.token),
  maxHolders: Number(r.max),
});

export function sqliteReader(dataDir: string): DbReader {
  let conn: Database.Database | undefined;
  const open = () => {
    conn ??= new Database(join(dataDir, 'keyholder.sqlite'), { readonly: true, fileMustExist: true });
    conn.pragma('busy_timeout = 2000');
    return conn;
  };
  const attempt = <T>(read: (c: Database.Database) => T): T | undefined => {
    try {
      return read(open());
    } catch {
      conn?.close();
      conn = undefined;
      return undefined;
    }
  };
  return {
    holders: async () => attempt((c) => (c.prepare(HOLDERS_SQL).all() as RawHolder[]).map(toHolder)),
    waiters: async (lockName) =>
      attempt((c) => {
        const row = (lockName ? c.prepare(WAITERS_OF_SQL).get(lockName) : c.prepare(WAITERS_SQL).get()) as {
          n: number;
        };
        return Number(row.n);
      }),
    close: async () => {
      conn?.close();
    },
  };
}

export function postgresReader(url: string): DbReader {
  let client: pg.Client | undefined;
  const attempt = async <T>(read: (c: pg.Client) => Promise<T>): Promise<T | undefined> => {
    try {
      if (!client) {
        const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
        // a restart ends this connection; the next read makes a new one
        c.on('error', () => undefined);
        await c.connect();
        client = c;
      }
      return await read(client);
    } catch {
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
      return undefined;
    }
  };
  return {
    holders: () => attempt(async (c) => (await c.query<RawHolder>(HOLDERS_SQL)).rows.map(toHolder)),
    waiters: (lockName) =>
      attempt(async (c) => {
        const r = lockName
          ? await c.query<{ n: string }>(WAITERS_OF_SQL.replace('?', '$1'), [lockName])
          : await c.query<{ n: string }>(WAITERS_SQL);
        return Number(r.rows[0]!.n);
      }),
    close: async () => {
      await client?.end().catch(() => undefined);
    },
  };
}
