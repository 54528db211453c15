// The client package as a host gets it: `npm pack` of client/ (its prepack bundles the
// executable), `npm install -g` of the tarball into a temporary prefix with no registry
// (--offline: the package has no runtime dependencies), then the installed `keyholder-client`
// answers --help and takes and frees a lock on a real server, on each store.
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeHostFiles, type HostFiles } from '../client/support/pki.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const exec = promisify(execFile);
let tmp: string;
let bin: string;

/** Runs the installed executable; the exit code instead of a throw. */
async function client(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(bin, args, { env: { ...process.env, NO_COLOR: '1' } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'keyholder-client-pack-'));
  await exec('npm', ['pack', '--pack-destination', tmp], { cwd: path.join(ROOT, 'client') });
  const [tarball] = (await readdir(tmp)).filter((f) => f.endsWith('.tgz'));
  expect(tarball).toMatch(/^keyholder-client-\d+\.\d+\.\d+\.tgz$/);
  const prefix = path.join(tmp, 'prefix');
  await exec(
    'npm',
    ['install', '-g', '--prefix', prefix, '--offline', '--no-audit', '--no-fund', path.join(tmp, tarball!)],
    { cwd: tmp },
  );
  bin = path.join(prefix, 'bin', 'keyholder-client');
}, 180_000);
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe('the packed client package', () => {
  it('installs with no registry and runs keyholder-client --help', async () => {
    const installed = await readdir(path.join(tmp, 'prefix', 'lib', 'node_modules', 'keyholder-client'));
    // one bundled file, no node_modules: nothing to fetch
    expect(installed.sort()).toEqual(['README.md', 'dist', 'package.json']);
    const help = await client(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: keyholder-client \[options\] \[command\]/);
    for (const command of ['lock', 'update', 'locks', 'hosts', 'events']) {
      expect(help.stdout).toMatch(new RegExp(`\\n  ${command}\\b`));
    }
  });

  describe.each(STORES)('against a server on %s', (kind) => {
    let s: TestServer;
    let web01: HostFiles;
    beforeAll(async () => {
      s = await startTestServer(kind);
      web01 = await writeHostFiles(
        path.join(tmp, kind),
        'web01.example.com',
        await s.host('web01.example.com'),
      );
    });
    afterAll(() => s?.close());

    it('acquires and releases a lock', async () => {
      const conn = ['--url', s.url, '--cert', web01.cert, '--key', web01.key, '--cacert', s.pki.caPath];
      const holder = async () =>
        (
          (await s.asAdmin('GET', '/api/dlmlocks/packed')).json as { holders: { name: string }[] }
        ).holders.map((h) => h.name);
      const acquired = await client(['lock', 'acquire', 'packed', ...conn]);
      expect([acquired.code, acquired.stderr]).toEqual([0, '']);
      expect(await holder()).toEqual(['web01.example.com']);
      const released = await client(['lock', 'release', 'packed', ...conn]);
      expect([released.code, released.stderr]).toEqual([0, '']);
      expect(await holder()).toEqual([]);
    });
  });
});
