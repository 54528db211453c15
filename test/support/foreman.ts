// A Foreman-shaped PostgreSQL database in the test cluster: foreman_dlm's schema recreated
// from its migrations (foreman-dlm-schema.sql) and filled the way foreman_dlm would have
// filled it — hosts, a user, locks mid-rollout and their events.
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { inject } from 'vitest';

const SCHEMA = readFileSync(new URL('./foreman-dlm-schema.sql', import.meta.url), 'utf8');

export interface ForemanDatabase {
  url: string;
  query(sql: string): Promise<void>;
  dispose(): Promise<void>;
}

let counter = 0;

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: `${inject('pgBaseUrl')}postgres` });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createForemanDatabase(): Promise<ForemanDatabase> {
  const name = `foreman_${process.pid}_${Date.now()}_${counter++}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = `${inject('pgBaseUrl')}${name}`;
  const query = async (sql: string) => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await query(SCHEMA);
  return {
    url,
    query,
    dispose: () => admin(async (c) => void (await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))),
  };
}

/**
 * A rollout under way: `katello` held by web1 (it took over from web2, and web2's next try
 * failed), `db patch` held by db1, `db cluster` disabled by the admin, `web rollout` free with
 * events of a host Foreman has since deleted (id 99), and one event of a deleted lock.
 */
export const ROLLOUT = `
INSERT INTO hosts (id, name, created_at, updated_at) VALUES
  (1, 'web1.example.com', '2019-01-01 00:00:00', '2019-01-01 00:00:00'),
  (2, 'web2.example.com', '2019-01-01 00:00:00', '2019-01-01 00:00:00'),
  (3, 'db1.example.com', '2019-01-01 00:00:00', '2019-01-01 00:00:00'),
  (4, 'unused.example.com', '2019-01-01 00:00:00', '2019-01-01 00:00:00');
INSERT INTO users (id, login) VALUES (1, 'admin'), (7, 'ops');
INSERT INTO dlmlocks (id, name, type, enabled, host_id, created_at, updated_at) VALUES
  (1, 'katello', 'ForemanDlm::Dlmlock::Update', true, 1, '2019-06-13 12:14:53', '2019-07-10 18:33:47'),
  (2, 'db cluster', 'ForemanDlm::Dlmlock::Update', false, NULL, '2019-06-13 12:15:00', '2019-07-01 08:00:00'),
  (3, 'web rollout', NULL, true, NULL, '2019-06-14 09:00:00', '2019-07-03 10:00:05'),
  (5, 'db patch', 'ForemanDlm::Dlmlock::Update', true, 3, '2019-06-15 09:00:00', '2019-07-11 07:00:00');
INSERT INTO dlmlock_events (dlmlock_id, event_type, host_id, user_id, created_at, updated_at) VALUES
  (1, 'acquire', 2, NULL, '2019-07-01 10:00:00', '2019-07-01 10:00:00'),
  (1, 'release', 2, NULL, '2019-07-01 10:30:00', '2019-07-01 10:30:00'),
  (1, 'acquire', 1, NULL, '2019-07-10 18:30:00', '2019-07-10 18:30:00'),
  (1, 'fail', 2, NULL, '2019-07-10 18:40:00', '2019-07-10 18:40:00'),
  (2, 'disable', NULL, 7, '2019-07-01 08:00:00', '2019-07-01 08:00:00'),
  (3, 'acquire', 99, NULL, '2019-07-03 10:00:00', '2019-07-03 10:00:00'),
  (3, 'release', 99, NULL, '2019-07-03 10:00:05', '2019-07-03 10:00:05'),
  (4, 'acquire', 2, NULL, '2019-05-01 00:00:00', '2019-05-01 00:00:00'),
  (5, 'acquire', 3, NULL, '2019-07-11 06:59:00', '2019-07-11 06:59:00');
INSERT INTO dlm_facets (host_id, last_checkin_at, created_at, updated_at) VALUES
  (1, '2019-07-10 18:33:47', '2019-01-01 00:00:00', '2019-07-10 18:33:47');
`;
