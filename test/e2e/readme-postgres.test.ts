// The README's "Several instances on PostgreSQL" commands, run as printed against a fresh
// PostgreSQL that asks for passwords like a real one: the database part as the `postgres` user,
// the instance part as the service. Only the database address, /etc/keyholder, the listen
// address and `npx keyholder` differ (the test cannot count on 5432, 8443 or /etc).
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpsRequest } from '../support/http.js';
import { testPki, type TestPki } from '../support/pki.js';
import { findBin, startPgCluster, type PgCluster } from '../support/postgres.js';
import { CLI } from '../support/process.js';
import { inject } from 'vitest';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The ```sh blocks of one README section, in order. */
function sectionShellBlocks(heading: string): string[] {
  const at = README.indexOf(`\n${heading}\n`);
  expect(at, heading).toBeGreaterThan(0);
  const section = README.slice(at + heading.length + 2).split(/\n## /)[0]!;
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

interface Started {
  url?: string;
  code?: number | null;
  output: string;
  stop(): Promise<void>;
}

/** Runs an instance block in bash; resolves when it listens or exits. */
function runInstance(script: string): Promise<Started> {
  const proc = spawn('bash', ['-euo', 'pipefail', '-c', script], {
    env: { PATH: process.env.PATH ?? '', KEYHOLDER_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const stop = async () => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('exit', r));
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start and no exit:\n${output}`)), 60_000);
    const collect = (d: Buffer) => {
      output += d.toString();
      const m = /keyholder listening on (https:\/\/\S+)/.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], output, stop });
      }
    };
    proc.stdout.on('data', collect);
    proc.stderr.on('data', collect);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output, stop });
    });
  });
}

describe('the README: several instances on PostgreSQL', () => {
  let cluster: PgCluster;
  let pki: TestPki;
  let etc: string;
  const running: Started[] = [];

  beforeAll(async () => {
    cluster = await startPgCluster({ passwords: true });
    pki = await testPki();
  }, 60_000);
  afterAll(async () => {
    await Promise.all(running.map((r) => r.stop()));
    cluster?.stop();
  });

  it('works verbatim: role, owned database, password file, an instance that takes locks', async () => {
    const [database, instance, ...rest] = sectionShellBlocks('## Several instances on PostgreSQL');
    expect(rest).toEqual([]);

    // on the database server, as the postgres user (PG* say where the test cluster is)
    const isRoot = process.getuid?.() === 0;
    const work = mkdtempSync(join(cluster.dir, 'dba-'));
    if (isRoot) chownSync(work, statSync(cluster.dir).uid, statSync(cluster.dir).gid);
    const pgBin = findBin('initdb').replace(/\/?initdb$/, '');
    const env = {
      PATH: `${pgBin ? `${pgBin}:` : ''}${process.env.PATH ?? ''}`,
      PGHOST: '127.0.0.1',
      PGPORT: String(cluster.port),
    };
    const bash = ['bash', '-euo', 'pipefail', '-c', database!];
    execFileSync(isRoot ? 'runuser' : bash[0]!, isRoot ? ['-u', 'postgres', '--', ...bash] : bash.slice(1), {
      cwd: work,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(statSync(join(work, 'keyholder-db.password')).mode & 0o077).toBe(0);

    // the files an instance has in /etc/keyholder
    etc = mkdtempSync(join(inject('tmpRoot'), 'keyholder-etc-'));
    copyFileSync(join(work, 'keyholder-db.password'), join(etc, 'db.password'));
    copyFileSync(pki.serverCertPath, join(etc, 'server.crt'));
    copyFileSync(pki.serverKeyPath, join(etc, 'server.key'));
    copyFileSync(pki.caPath, join(etc, 'ca.crt'));
    copyFileSync(await pki.crlRevoking([]), join(etc, 'crl.pem'));
    const lines = instance!
      .replaceAll('db.example.com:5432', `127.0.0.1:${cluster.port}`)
      .replaceAll('/etc/keyholder/', `${etc}/`)
      .replace(
        'npx keyholder server --host 0.0.0.0 --port 8443',
        `exec "${process.execPath}" "${CLI}" server --host 127.0.0.1 --port 0`,
      )
      .trim()
      .split('\n');
    expect(lines.at(-1)).toMatch(/^exec /);

    // without the password file, the instance stops and says what to set
    const withoutPassword = await runInstance(
      lines.filter((l) => !l.includes('KEYHOLDER_DATABASE_PASSWORD_FILE')).join('\n'),
    );
    running.push(withoutPassword);
    expect(withoutPassword.url, withoutPassword.output).toBeUndefined();
    expect(withoutPassword.code).not.toBe(0);
    expect(withoutPassword.output).toContain('KEYHOLDER_DATABASE_PASSWORD_FILE');
    expect(withoutPassword.output).not.toContain('SASL');

    // with a wrong one, it says which password was refused
    writeFileSync(join(etc, 'wrong.password'), 'not-the-password\n');
    const wrongPassword = await runInstance(
      lines.join('\n').replace(`${etc}/db.password`, `${etc}/wrong.password`),
    );
    running.push(wrongPassword);
    expect(wrongPassword.url, wrongPassword.output).toBeUndefined();
    expect(wrongPassword.output).toContain('PostgreSQL refused the password of user keyholder');

    const started = await runInstance(lines.join('\n'));
    running.push(started);
    expect(started.url, started.output).toBeDefined();
    // a host takes a lock; the tables belong to the keyholder role
    const host = await pki.host('web01.example.com');
    const acquired = await httpsRequest(started.url!, pki.ca.certPem, 'PUT', '/api/dlmlocks/readme-pg/lock', {
      cert: host,
    });
    expect(acquired.status, acquired.text).toBe(200);
    expect(
      cluster
        .psql("SELECT tableowner FROM pg_tables WHERE tablename = 'schema_migrations'", 'keyholder')
        .trim(),
    ).toBe('keyholder');
    const metrics = await httpsRequest(started.url!, pki.ca.certPem, 'GET', '/metrics');
    expect(metrics.text).toMatch(/keyholder_build_info\{version="[^"]+",instance="keyholder1"\} 1/);
    expect(metrics.text).toMatch(/keyholder_locks_held 1\n/);
  }, 120_000);
});
