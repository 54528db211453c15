// The Debian packages (scripts/package-deb.mjs, docs/debian.md): built as `npm run package:deb`
// builds them, inspected with dpkg-deb, then installed with dpkg into a directory tree
// (`--root` plus `--force-script-chrootless`: the maintainer scripts run for real, on this
// machine's tools, with DPKG_ROOT naming the tree). The host's own status entries for the
// packages keyholder depends on are copied into the tree's dpkg database, so dpkg checks the
// Depends line against this machine's nodejs instead of being told to ignore it.
// The installed server runs from the tree as the user postinst created, takes a lock, and is
// upgraded from an older version (its database made to look like one from before the newest
// migration): postinst must migrate it as the service user, and the lock must survive.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { querySql } from '../support/db-sql.js';
import { httpsRequest } from '../support/http.js';
import { testPki, type TestPki } from '../support/pki.js';
import { listeningUrl } from '../support/process.js';
import { createTestDatabase, STORES, type StoreKind, type TestDatabase } from '../support/stores.js';
import { haveTool, run } from '../support/tools.js';
import { clientBundle, removeClientBundle, ROOT } from '../client/support/bundle.js';

const OLD = '0.0.9';
const NEW = '0.1.0-test.1'; // a pre-release: Debian spells it 0.1.0~test.1, still newer than OLD
const NEW_DEB = '0.1.0~test.1';
const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }
).version;
/** dpkg unpacks ~6000 files per install: slow on a loaded machine */
const DPKG_TIMEOUT = 180_000;
const isRoot = process.getuid?.() === 0;
/** What the server package depends on, registered in the tree as this host has them installed. */
const HOST_PACKAGES = ['nodejs', 'libc6', 'libstdc++6', 'passwd', 'util-linux'];

let outdir: string;
/** every directory a test made, removed after the file */
const made: string[] = [];
const deb = (name: string, version: string, arch: string) =>
  path.join(outdir, `${name}_${version}_${arch}.deb`);
const arch = () => run('dpkg', ['--print-architecture'], {}).stdout.trim();

function dpkgDeb(args: string[]): string {
  const result = run('dpkg-deb', args);
  expect(result.status, result.stderr).toBe(0);
  return result.stdout;
}

/** An empty system for dpkg: its database, and /etc files useradd expects. */
function newTree(): string {
  const tree = mkdtempSync(path.join(tmpdir(), 'keyholder-deb-'));
  made.push(tree);
  chmodSync(tree, 0o755); // the service user must reach the files inside
  mkdirSync(path.join(tree, 'var/lib/dpkg/info'), { recursive: true });
  mkdirSync(path.join(tree, 'var/lib/dpkg/updates'), { recursive: true });
  mkdirSync(path.join(tree, 'etc'));
  const status = run('dpkg-query', ['--status', ...HOST_PACKAGES]);
  expect(status.status, status.stderr).toBe(0);
  writeFileSync(path.join(tree, 'var/lib/dpkg/status'), status.stdout);
  writeFileSync(path.join(tree, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(path.join(tree, 'etc/group'), 'root:x:0:\n');
  writeFileSync(path.join(tree, 'etc/shadow'), 'root:*::0:99999:7:::\n', { mode: 0o640 });
  writeFileSync(path.join(tree, 'etc/gshadow'), 'root:*::\n', { mode: 0o640 });
  return tree;
}

function dpkg(tree: string, args: string[]): string {
  // unsafe-io: no fsync per unpacked file, which a throwaway tree does not need and which makes
  // up most of an install's time on a busy disk
  const result = run('dpkg', [`--root=${tree}`, '--force-script-chrootless', '--force-unsafe-io', ...args]);
  expect(result.status, result.stdout + result.stderr).toBe(0);
  return result.stdout + result.stderr;
}

function idsOf(tree: string, name: string): { uid: number; gid: number } {
  const field = (file: string) =>
    readFileSync(path.join(tree, 'etc', file), 'utf8')
      .split('\n')
      .map((line) => line.split(':'))
      .find((f) => f[0] === name)?.[2];
  const uid = field('passwd');
  const gid = field('group');
  expect(uid, `user ${name} in the tree`).toBeDefined();
  return { uid: Number(uid), gid: Number(gid) };
}

interface Installed {
  proc: ChildProcess;
  url: string;
  stop(): Promise<void>;
}

/** The installed server, from the tree, as the service user, on 127.0.0.1 with a test config. */
async function startInstalled(tree: string, db: TestDatabase): Promise<Installed> {
  const { uid, gid } = idsOf(tree, 'keyholder');
  const config = path.join(tree, 'test-server.yaml');
  const tls = path.join(tree, 'etc/keyholder/tls');
  writeFileSync(
    config,
    [
      `dataDir: ${path.join(tree, 'var/lib/keyholder')}`,
      'tls:',
      `  cert: ${tls}/server.crt`,
      `  key: ${tls}/server.key`,
      `  ca: ${tls}/ca.crt`,
      ...(db.url ? ['database:', `  url: ${db.url}`] : []),
    ].join('\n'),
  );
  const proc = spawn(
    process.execPath,
    [
      path.join(tree, 'usr/lib/keyholder/dist/cli/main.js'),
      'server',
      '-c',
      config,
      '-H',
      '127.0.0.1',
      '-p',
      '0',
    ],
    {
      uid,
      gid,
      env: {
        PATH: process.env.PATH ?? '',
        KEYHOLDER_LOG_LEVEL: 'warn',
        KEYHOLDER_ADMIN_PASSWORD: 'deb-admin-1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const { url } = await listeningUrl(proc, 'installed server', 30_000);
  return {
    proc,
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** The server certificate and CA where keyholder.yaml expects them: root-owned, group keyholder. */
function installCertificates(tree: string, pki: TestPki): void {
  const { gid } = idsOf(tree, 'keyholder');
  const tls = path.join(tree, 'etc/keyholder/tls');
  for (const [from, to] of [
    [pki.serverCertPath, 'server.crt'],
    [pki.serverKeyPath, 'server.key'],
    [pki.caPath, 'ca.crt'],
  ] as const) {
    copyFileSync(from, path.join(tls, to));
    chownSync(path.join(tls, to), 0, gid);
    chmodSync(path.join(tls, to), 0o640);
  }
}

/**
 * Both package versions run the same migrations, so the test winds the database back: it undoes
 * migration 5 (instances and fencing counters) and forgets it was applied, as a database of a
 * release before it would be. A postinst that does not migrate leaves it so.
 */
async function undoNewestMigration(db: TestDatabase): Promise<void> {
  for (const sql of [
    'DROP TABLE instances',
    'DROP TABLE fencing_counters',
    'DROP INDEX lock_waiters_instance',
    'ALTER TABLE lock_waiters DROP COLUMN instance_id',
    'DELETE FROM schema_migrations WHERE version = 5',
  ]) {
    await querySql(db, sql);
  }
}

describe.runIf(isRoot && haveTool('dpkg-deb', 'dpkg'))('Debian packages', { timeout: DPKG_TIMEOUT }, () => {
  beforeAll(async () => {
    outdir = mkdtempSync(path.join(tmpdir(), 'keyholder-debs-'));
    made.push(outdir);
    const client = path.dirname(await clientBundle());
    // zstd: several times faster than the default xz here, and dpkg ≥ 1.21.18 (bookworm) reads it
    const built = run(process.execPath, [
      path.join(ROOT, 'scripts/package-deb.mjs'),
      ...['--outdir', outdir, '--client', client, '--compression', 'zstd'],
      ...['--version', OLD, '--version', NEW],
    ]);
    expect(built.status, built.stderr).toBe(0);
  }, 300_000);
  afterAll(async () => {
    await removeClientBundle();
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
  });

  it('the server package: native, so per architecture, pinned to the Node.js major it was built for', () => {
    const file = deb('keyholder', NEW_DEB, arch());
    const field = (name: string) => dpkgDeb(['--field', file, name]).trim();
    expect(field('Version')).toBe(NEW_DEB);
    expect(field('Architecture')).toBe(arch());
    expect(field('Depends')).toContain(`nodejs (>= ${NODE_MAJOR}), nodejs (<< ${NODE_MAJOR + 1})`);
    expect(dpkgDeb(['--info', file, 'conffiles']).trim()).toBe('/etc/keyholder/keyholder.yaml');
    const listing = dpkgDeb(['--contents', file]).trim().split('\n');
    const paths = listing.map((line) => line.split(/\s+/).at(-1)!.replace(/^\./, ''));
    for (const wanted of [
      '/usr/bin/keyholder',
      '/usr/lib/keyholder/dist/cli/main.js',
      '/usr/lib/keyholder/dist/ui/index.html',
      '/usr/lib/keyholder/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
      '/usr/lib/keyholder/node_modules/fastify/package.json',
      '/usr/lib/keyholder/node_modules/pg/package.json',
      '/lib/systemd/system/keyholder.service',
      '/etc/keyholder/keyholder.yaml',
      '/usr/share/doc/keyholder/CHANGELOG.md',
      '/usr/share/man/man1/keyholder.1.gz',
      '/usr/share/man/man1/keyholder-lock.1.gz',
    ]) {
      expect(paths, wanted).toContain(wanted);
    }
    // production dependencies only, and no C sources of the native module
    const modules = paths.filter((p) => /^\/usr\/lib\/keyholder\/node_modules\/[^/]+\/$/.test(p));
    expect(modules.length).toBeGreaterThan(50);
    for (const devOnly of ['typescript', 'vitest', 'esbuild', 'react', 'eslint']) {
      expect(modules, devOnly).not.toContain(`/usr/lib/keyholder/node_modules/${devOnly}/`);
    }
    expect(
      paths.filter((p) => p.includes('better-sqlite3/deps/') || p.includes('better-sqlite3/src/')),
    ).toEqual([]);
    expect(listing.filter((line) => !line.includes(' root/root '))).toEqual([]);
  });

  it('the client package: plain JavaScript for any architecture, its units calling /usr/bin/keyholder', () => {
    const file = deb('keyholder-client', NEW_DEB, 'all');
    expect(dpkgDeb(['--field', file, 'Architecture']).trim()).toBe('all');
    expect(dpkgDeb(['--field', file, 'Conflicts']).trim()).toBe('keyholder');
    expect(dpkgDeb(['--info', file, 'conffiles']).trim()).toBe('/etc/keyholder/client.yaml');
    const paths = dpkgDeb(['--contents', file])
      .split('\n')
      .map((l) => l.split(/\s+/).at(-1)!.replace(/^\./, ''));
    for (const wanted of [
      '/usr/bin/keyholder',
      '/usr/lib/keyholder-client/keyholder.cjs',
      '/lib/systemd/system/keyholder-update.timer',
      '/lib/systemd/system/keyholder-update.service',
      '/lib/systemd/system/keyholder-resume.service',
    ]) {
      expect(paths, wanted).toContain(wanted);
    }
    expect(paths.filter((p) => p.includes('node_modules'))).toEqual([]);
  });

  it('the client package installs, runs, and purges its state', () => {
    const tree = newTree();
    dpkg(tree, ['-i', deb('keyholder-client', NEW_DEB, 'all')]);
    const version = run(process.execPath, [
      path.join(tree, 'usr/lib/keyholder-client/keyholder.cjs'),
      '--version',
    ]);
    // the bundle says the version it was built with (package.json's), not the --version of the test
    expect(version.stdout.trim()).toBe(PACKAGE_VERSION);
    const unit = readFileSync(path.join(tree, 'lib/systemd/system/keyholder-update.service'), 'utf8');
    expect(unit).toMatch(/^ExecStart=\/usr\/bin\/keyholder update$/m);
    expect(readFileSync(path.join(tree, 'usr/bin/keyholder'), 'utf8')).toContain(
      'exec /usr/bin/node /usr/lib/keyholder-client/keyholder.cjs "$@"',
    );
    mkdirSync(path.join(tree, 'var/lib/keyholder'));
    writeFileSync(path.join(tree, 'var/lib/keyholder/update-state.json'), '{}');
    dpkg(tree, ['--remove', 'keyholder-client']);
    expect(existsSync(path.join(tree, 'etc/keyholder/client.yaml'))).toBe(true);
    dpkg(tree, ['--purge', 'keyholder-client']);
    expect(existsSync(path.join(tree, 'etc/keyholder'))).toBe(false);
    expect(existsSync(path.join(tree, 'var/lib/keyholder'))).toBe(false);
  });

  describe.each(STORES)('the server package on %s', (kind: StoreKind) => {
    let db: TestDatabase;
    let tree: string;
    let server: Installed | undefined;
    beforeAll(async () => {
      db = await createTestDatabase(kind);
      tree = newTree();
    });
    afterAll(async () => {
      await server?.stop();
      await db?.dispose();
    });

    it('installs: a system user, its state directory, empty credentials, a working CLI', () => {
      const out = dpkg(tree, ['-i', deb('keyholder', OLD, arch())]);
      expect(out).toContain('put the server certificate, key and CA bundle into /etc/keyholder/tls/');
      const { uid, gid } = idsOf(tree, 'keyholder');
      expect(uid).toBeGreaterThan(0);
      expect(uid).toBeLessThan(1000); // a system user
      const state = statSync(path.join(tree, 'var/lib/keyholder'));
      expect([state.uid, state.gid, state.mode & 0o777]).toEqual([uid, gid, 0o750]);
      const credential = statSync(path.join(tree, 'etc/keyholder/credentials/database-url'));
      expect([credential.uid, credential.mode & 0o777, credential.size]).toEqual([0, 0o600, 0]);
      const version = run(process.execPath, [
        path.join(tree, 'usr/lib/keyholder/dist/cli/main.js'),
        '--version',
      ]);
      expect(version.stdout.trim()).toBe(OLD);
    });

    it('serves: the installed server, as the service user, hands out a lock', async () => {
      installCertificates(tree, await testPki());
      if (db.url) writeFileSync(path.join(tree, 'etc/keyholder/credentials/database-url'), `${db.url}\n`);
      server = await startInstalled(
        tree,
        kind === 'sqlite' ? { ...db, dataDir: path.join(tree, 'var/lib/keyholder') } : db,
      );
      const pki = await testPki();
      const lock = await httpsRequest(server.url, pki.ca.certPem, 'PUT', '/api/dlmlocks/deb-upgrade/lock', {
        cert: await pki.host('web1.example.com'),
      });
      expect(lock.status, lock.text).toBe(200);
      await server.stop();
      server = undefined;
    });

    it('upgrades: postinst migrates the database as the service user, the lock and the edited config stay', async () => {
      const data = kind === 'sqlite' ? { ...db, dataDir: path.join(tree, 'var/lib/keyholder') } : db;
      await undoNewestMigration(data);
      const yaml = path.join(tree, 'etc/keyholder/keyholder.yaml');
      writeFileSync(yaml, `${readFileSync(yaml, 'utf8')}# edited by the operator\n`);

      const out = dpkg(tree, ['-i', deb('keyholder', NEW_DEB, arch())]);
      expect(out).toContain(`upgrade from ${OLD}: applying database migrations`);
      expect(out).toContain('migrations applied');
      const applied = await querySql<{ version: number }>(
        data,
        'SELECT version FROM schema_migrations WHERE version = 5',
      );
      expect(applied).toHaveLength(1);
      expect(readFileSync(yaml, 'utf8')).toContain('# edited by the operator');
      if (kind === 'sqlite') {
        expect(statSync(path.join(tree, 'var/lib/keyholder/keyholder.sqlite')).uid).toBe(
          idsOf(tree, 'keyholder').uid,
        );
      }

      server = await startInstalled(tree, data);
      const pki = await testPki();
      const shown = await httpsRequest(server.url, pki.ca.certPem, 'GET', '/api/dlmlocks/deb-upgrade/lock', {
        cert: await pki.host('web1.example.com'),
      });
      expect(shown.status, shown.text).toBe(200);
      expect(JSON.stringify(shown.json)).toContain('web1.example.com');
      await server.stop();
      server = undefined;
      const version = run(process.execPath, [
        path.join(tree, 'usr/lib/keyholder/dist/cli/main.js'),
        '--version',
      ]);
      expect(version.stdout.trim()).toBe(NEW);
    });

    it('remove keeps configuration, credentials and data; purge deletes them', () => {
      dpkg(tree, ['--remove', 'keyholder']);
      expect(existsSync(path.join(tree, 'usr/lib/keyholder'))).toBe(false);
      expect(existsSync(path.join(tree, 'etc/keyholder/keyholder.yaml'))).toBe(true);
      expect(existsSync(path.join(tree, 'etc/keyholder/credentials/admin-password'))).toBe(true);
      expect(existsSync(path.join(tree, 'var/lib/keyholder'))).toBe(true);
      dpkg(tree, ['--purge', 'keyholder']);
      expect(existsSync(path.join(tree, 'etc/keyholder'))).toBe(false);
      expect(existsSync(path.join(tree, 'var/lib/keyholder'))).toBe(false);
    });
  });
});
