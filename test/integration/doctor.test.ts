// `keyholder doctor`: finds what would stop or endanger a server, changes nothing.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { runDoctor, type Finding } from '../../src/ops/doctor.js';
import { ensureDevPki } from '../../src/pki/dev.js';
import { createCa, createCrl, issueCertificate } from '../../src/pki/x509.js';
import { SqliteStore } from '../../src/store/sqlite/index.js';
import { querySql } from '../support/db-sql.js';
import { CLI } from '../support/process.js';
import { testPki } from '../support/pki.js';
import { createTestDatabase } from '../support/stores.js';

const DAY = 86_400_000;
const failures = (f: Finding[]) => f.filter((x) => x.level === 'fail').map((x) => x.message);
const warnings = (f: Finding[]) => f.filter((x) => x.level === 'warn').map((x) => x.message);
// inside the run's temp folder, removed by the global teardown
const tempDir = () => mkdtempSync(join(inject('tmpRoot'), 'keyholder-doctor-'));

async function migratedSqlite(dir: string): Promise<void> {
  const store = new SqliteStore(join(dir, 'keyholder.sqlite'));
  await store.migrate();
  await store.close();
}

describe('keyholder doctor', () => {
  it('on a fresh directory: warns about the development PKI to come, creates nothing', async () => {
    const dir = tempDir();
    const findings = await runDoctor(loadConfig({ env: {}, flags: { dataDir: dir } }));
    expect(failures(findings)).toEqual([]);
    expect(warnings(findings).join('\n')).toMatch(/development CA/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('is content with a development PKI and a migrated SQLite database', async () => {
    const dir = tempDir();
    await ensureDevPki(dir);
    await migratedSqlite(dir);
    const findings = await runDoctor(
      loadConfig({ env: {}, flags: { dataDir: dir, fleetlock: { allowedNetworks: ['10.0.0.0/8'] } } }),
    );
    expect(failures(findings)).toEqual([]);
    expect(warnings(findings)).toEqual([]);
    expect(findings.map((f) => f.message).join('\n')).toMatch(/schema up to date/);
  });

  it('fails an expired server certificate, a key of another certificate, and an expired CRL', async () => {
    const pki = await testPki();
    const dir = tempDir();
    const expired = await issueCertificate(pki.ca, {
      commonName: 'localhost',
      usage: 'server',
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    const other = await issueCertificate(pki.ca, { commonName: 'other', usage: 'server' });
    writeFileSync(join(dir, 'server.crt'), expired.certPem);
    writeFileSync(join(dir, 'server.key'), other.keyPem);
    writeFileSync(
      join(dir, 'crl.pem'),
      await createCrl(pki.ca, [], {
        thisUpdate: new Date(Date.now() - 10 * DAY),
        nextUpdate: new Date(Date.now() - DAY),
      }),
    );
    const config = loadConfig({
      env: {},
      flags: {
        dataDir: dir,
        tls: {
          cert: join(dir, 'server.crt'),
          key: join(dir, 'server.key'),
          ca: pki.caPath,
          crl: join(dir, 'crl.pem'),
        },
      },
    });
    const problems = failures(await runDoctor(config)).join('\n');
    expect(problems).toMatch(/server certificate .* expired/);
    expect(problems).toMatch(/does not belong to the server certificate/);
    expect(problems).toMatch(/CRL .* expired .* every host certificate will be refused/);
  });

  it('warns about a CA or certificate that ends within 30 days, and an unparseable bundle fails', async () => {
    const dir = tempDir();
    const ca = await createCa('short-lived CA', 10);
    writeFileSync(join(dir, 'ca.crt'), ca.certPem);
    const server = await issueCertificate(ca, { commonName: 'localhost', usage: 'server' });
    writeFileSync(join(dir, 'server.crt'), server.certPem);
    writeFileSync(join(dir, 'server.key'), server.keyPem);
    writeFileSync(join(dir, 'junk.crt'), 'not a certificate');
    const tls = { cert: join(dir, 'server.crt'), key: join(dir, 'server.key'), ca: join(dir, 'ca.crt') };
    const soon = await runDoctor(loadConfig({ env: {}, flags: { dataDir: dir, tls } }));
    expect(warnings(soon).join('\n')).toMatch(/client CA .* valid until/);
    const junk = await runDoctor(
      loadConfig({ env: {}, flags: { dataDir: dir, tls: { ...tls, ca: join(dir, 'junk.crt') } } }),
    );
    expect(failures(junk).join('\n')).toMatch(/holds no certificate/);
  });

  it('reports pending migrations, and a database newer than this keyholder', async () => {
    const db = await createTestDatabase('sqlite');
    await migratedSqlite(db.dataDir);
    await querySql(db, 'DELETE FROM schema_migrations WHERE version = 3');
    const config = loadConfig({ env: {}, flags: { dataDir: db.dataDir } });
    expect(warnings(await runDoctor(config)).join('\n')).toMatch(/1 migration\(s\) pending/);
    await querySql(db, 'INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, ?, 0)', [
      'future',
    ]);
    expect(failures(await runDoctor(config)).join('\n')).toMatch(/schema version 999 is newer/);
    await db.dispose();
  });

  it('reaches PostgreSQL and compares clocks; an unreachable one fails', async () => {
    const db = await createTestDatabase('postgres');
    const ok = await runDoctor(
      loadConfig({ env: {}, flags: { dataDir: db.dataDir, database: { url: db.url } } }),
    );
    expect(failures(ok)).toEqual([]);
    expect(ok.find((f) => f.check === 'clock')?.message).toMatch(/database clock/);
    await db.dispose();
    const down = await runDoctor(
      loadConfig({
        env: {},
        flags: { dataDir: tempDir(), database: { url: 'postgres://nobody@127.0.0.1:1/none' } },
      }),
    );
    expect(failures(down).join('\n')).toMatch(/postgresql/);
  });

  it('as a command: exit 0 when nothing failed, 2 otherwise', async () => {
    const dir = tempDir();
    const out = execFileSync(process.execPath, [CLI, 'doctor', '--data-dir', dir], { encoding: 'utf8' });
    expect(out).toMatch(/no problems \(\d warning/);
    expect(existsSync(join(dir, 'keyholder.sqlite'))).toBe(false);
    let status = 0;
    let stdout = '';
    try {
      execFileSync(
        process.execPath,
        [CLI, 'doctor', '--data-dir', dir, '--database-url', 'postgres://nobody@127.0.0.1:1/none'],
        {
          encoding: 'utf8',
          stdio: 'pipe',
        },
      );
    } catch (err) {
      status = (err as { status: number }).status;
      stdout = (err as { stdout: string }).stdout;
    }
    expect(status).toBe(2);
    expect(stdout).toMatch(/FAIL +database/);
  });
});
