// A throwaway PostgreSQL cluster for the test run: initdb into a temp directory, pg_ctl start
// on a free loopback port, stop and delete at the end. PostgreSQL refuses to run as root, so
// as root the cluster runs as the `postgres` user in a directory that user owns.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PgCluster {
  port: number;
  /** the cluster's directory, owned by the user the server runs as */
  dir: string;
  url(database: string): string;
  psql(sql: string, database?: string): string;
  /** kills the server the hard way (`-m immediate`: crash recovery on the next start) */
  crash(): void;
  /** stops the server (`fast`: sessions are terminated; `immediate`: a crash) and leaves it down */
  halt(mode: 'fast' | 'immediate'): void;
  /** `pg_ctl restart` in that mode: down and up again in one go (async: load goes on meanwhile) */
  restart(mode: 'fast' | 'immediate'): Promise<void>;
  start(): void;
  stop(): void;
}

export function findBin(name: string): string {
  const candidates = [name, ...['17', '16', '15', '14'].map((v) => `/usr/lib/postgresql/${v}/bin/${name}`)];
  for (const c of candidates) {
    try {
      execFileSync(c, ['--version'], { stdio: 'ignore' });
      return c;
    } catch {
      // try the next one
    }
  }
  throw new Error(`PostgreSQL's ${name} was not found (install postgresql; the tests need a real server)`);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface PgClusterOptions {
  /**
   * TCP logins other than `postgres` need a password (scram-sha-256), as on a real server;
   * by default every login is trusted
   */
  passwords?: boolean;
  /**
   * fsync=on, synchronous_commit=on, full_page_writes=on, as a production server runs (the
   * bench); by default the throwaway cluster skips fsync, which only a test can afford
   */
  durable?: boolean;
}

export async function startPgCluster(clusterOptions: PgClusterOptions = {}): Promise<PgCluster> {
  const initdb = findBin('initdb');
  const pgCtl = findBin('pg_ctl');
  const psqlBin = findBin('psql');
  const isRoot = process.getuid?.() === 0;
  const asPg = (bin: string, args: string[]) =>
    isRoot
      ? execFileSync('runuser', ['-u', 'postgres', '--', bin, ...args], { encoding: 'utf8' })
      : execFileSync(bin, args, { encoding: 'utf8' });
  const asPgAsync = async (bin: string, args: string[]) => {
    const [file, argv] = isRoot ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
    await promisify(execFile)(file, argv, { encoding: 'utf8' });
  };

  const dir = mkdtempSync(join(tmpdir(), 'keyholder-pg-'));
  if (isRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const port = await freePort();
  asPg(initdb, ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync']);
  if (clusterOptions.passwords) {
    const hba = [
      'local all all trust',
      'host all postgres 127.0.0.1/32 trust',
      'host all all 127.0.0.1/32 scram-sha-256',
    ];
    writeFileSync(join(data, 'pg_hba.conf'), `${hba.join('\n')}\n`);
  }
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c max_connections=300',
    ...(clusterOptions.durable
      ? ['-c fsync=on', '-c synchronous_commit=on', '-c full_page_writes=on']
      : ['-c fsync=off', '-c full_page_writes=off']),
  ].join(' ');
  const start = () => asPg(pgCtl, ['-D', data, '-l', join(dir, 'log'), '-o', options, '-w', 'start']);
  start();
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    port,
    dir,
    url,
    psql: (sql, database = 'postgres') =>
      execFileSync(psqlBin, ['-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', url(database), '-c', sql], {
        encoding: 'utf8',
      }),
    crash: () => asPg(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']),
    halt: (mode) => asPg(pgCtl, ['-D', data, '-m', mode, '-w', 'stop']),
    restart: (mode) =>
      asPgAsync(pgCtl, ['-D', data, '-l', join(dir, 'log'), '-o', options, '-m', mode, '-w', 'restart']),
    start,
    stop: () => {
      try {
        asPg(pgCtl, ['-D', data, '-m', 'immediate', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
