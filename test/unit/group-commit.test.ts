// SQLite's group commit (src/store/sqlite/group-commit.ts): jobs that arrive together share one
// transaction, each in its own savepoint. A job that throws is rolled back alone; its
// batch-mates commit; nobody hears of a change before the log sync that makes it durable.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GroupCommit } from '../../src/store/sqlite/group-commit.js';
import { SqliteTx } from '../../src/store/sqlite/tx.js';

describe('group commit', () => {
  let dir: string;
  let db: Database.Database;
  let tx: SqliteTx;
  let syncs: number;
  let commits: GroupCommit;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'keyholder-group-commit-'));
    db = new Database(join(dir, 'db.sqlite'));
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)');
    tx = new SqliteTx(db);
    syncs = 0;
    commits = new GroupCommit(db, tx, async () => {
      syncs++;
    });
  });

  afterEach(async () => {
    await commits.drain();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const rows = () => db.prepare('SELECT id, v FROM t ORDER BY id').all();
  const insert = (id: number, v: string) => (q: SqliteTx) =>
    q.run('INSERT INTO t (id, v) VALUES (?, ?)', [id, v]);

  it('runs the jobs of one turn in one transaction with one log sync', async () => {
    const results = await Promise.all([1, 2, 3].map((id) => commits.run(insert(id, `v${id}`))));
    expect(results).toEqual([{ changes: 1 }, { changes: 1 }, { changes: 1 }]);
    expect(syncs).toBe(1);
    expect(rows()).toEqual([
      { id: 1, v: 'v1' },
      { id: 2, v: 'v2' },
      { id: 3, v: 'v3' },
    ]);
  });

  it('rolls back a job that throws after writing, and commits its batch-mates', async () => {
    const [first, failed, last] = await Promise.allSettled([
      commits.run(insert(1, 'kept')),
      commits.run(async (q) => {
        await insert(2, 'rolled back')(q);
        throw new Error('refused');
      }),
      commits.run(insert(3, 'kept too')),
    ]);
    expect(first.status).toBe('fulfilled');
    expect(failed).toMatchObject({ status: 'rejected', reason: new Error('refused') });
    expect(last.status).toBe('fulfilled');
    expect(rows()).toEqual([
      { id: 1, v: 'kept' },
      { id: 3, v: 'kept too' },
    ]);
    expect(db.inTransaction).toBe(false);
    // the savepoint is gone with its job: the next batch starts cleanly
    await commits.run(insert(2, 'later'));
    expect(rows()).toHaveLength(3);
  });

  it('answers nobody before the log sync, and nobody at all when it fails', async () => {
    let release!: () => void;
    const synced = new Promise<void>((resolve) => (release = resolve));
    let failNext = false;
    const gated = new GroupCommit(db, tx, async () => {
      await synced;
      if (failNext) throw new Error('fdatasync failed');
    });
    let answered = false;
    const job = gated.run(insert(1, 'v')).then(() => (answered = true));
    await new Promise((r) => setTimeout(r, 20));
    // committed to the file, but not yet durable: not answered
    expect(rows()).toHaveLength(1);
    expect(answered).toBe(false);
    release();
    await job;
    expect(answered).toBe(true);
    failNext = true;
    await expect(gated.run(insert(2, 'v'))).rejects.toThrow('fdatasync failed');
    await gated.drain();
  });
});
