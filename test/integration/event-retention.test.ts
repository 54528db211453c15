// Event retention: events older than the retention go (by the database clock), newer ones
// and the locks stay; the same through `keyholder events expire`.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../support/process.js';
import { STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { expireEventsOnce } from '../../src/jobs/expiry.js';
import { querySql } from '../support/db-sql.js';

const DAY = 86_400_000;

describe.each(STORES)('event retention on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  const eventCount = async (lock: string) =>
    (await s.asAdmin('GET', `/api/dlmlocks/${lock}/dlmlock_events`)).json.total as number;

  it('deletes only events older than the retention', async () => {
    await s.asHost('r1', 'PUT', '/api/dlmlocks/retained/lock');
    await s.asHost('r1', 'DELETE', '/api/dlmlocks/retained/lock');
    expect(await eventCount('retained')).toBe(3);
    // the create and acquire events become 20 days old
    await querySql(
      s.db,
      `UPDATE lock_events SET created_at = created_at - ? WHERE event_type IN ('create', 'acquire')
       AND lock_name = 'retained'`,
      [20 * DAY],
    );
    expect(await s.server.store.events.expire(14)).toBe(2);
    expect(await eventCount('retained')).toBe(1);
    expect((await s.asAdmin('GET', '/api/dlmlocks/retained')).status).toBe(200);
  });

  it('keeps the audit trail for its own, longer retention', async () => {
    await s.asAdmin('POST', '/api/users', {
      body: { login: 'auditee', password: 'auditee-password', role: 'viewer' },
    });
    const audit = async () => (await s.asAdmin('GET', '/api/audit?per_page=1000')).json.total as number;
    const before = await audit();
    expect(before).toBeGreaterThan(0);
    await querySql(s.db, 'UPDATE audit_events SET created_at = created_at - ?', [100 * DAY]);
    await expireEventsOnce(s.server.store, { retentionDays: 14, auditRetentionDays: 365 });
    expect(await audit()).toBe(before);
    await querySql(s.db, 'UPDATE audit_events SET created_at = created_at - ?', [300 * DAY]);
    await expireEventsOnce(s.server.store, { retentionDays: 14, auditRetentionDays: 365 });
    expect(await audit()).toBe(0);
  });

  it('`keyholder events expire --days N` does the same from the command line', async () => {
    await s.asHost('r2', 'PUT', '/api/dlmlocks/cli-retained/lock');
    await querySql(
      s.db,
      `UPDATE lock_events SET created_at = created_at - ? WHERE lock_name = 'cli-retained'`,
      [3 * DAY],
    );
    const where = kind === 'sqlite' ? ['--data-dir', s.db.dataDir] : ['--database-url', s.db.url!];
    const out = execFileSync(process.execPath, [CLI, 'events', 'expire', '--days', '2', ...where], {
      encoding: 'utf8',
    });
    expect(out).toMatch(/deleted 2 events older than 2 days/);
    expect(await eventCount('cli-retained')).toBe(0);
    expect(() =>
      execFileSync(process.execPath, [CLI, 'events', 'expire', '--days', 'zero', ...where], {
        stdio: 'pipe',
      }),
    ).toThrow(/--days must be a whole number/);
  });
});
