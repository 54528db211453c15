// A full disk under SQLite (SPEC section 8): a real 2 MiB tmpfs is mounted as the data
// directory and filled up. Writes must be answered 503 with Retry-After (not a 500 with a stack
// trace per request), /readyz must say not ready, the log must say it once, and once space is
// free again everything recovers by itself. Mounting needs root: skipped only when neither root
// nor in CI (CI runs as root, and there the test must run).
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { httpsRequest, type TestResponse } from '../support/http.js';
import { testPki, type TestPki } from '../support/pki.js';

const canMount = process.getuid?.() === 0 || process.env.CI === 'true';

/** writes until the file system says ENOSPC */
function fillUp(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(16 * 1024, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    if ((err as { code?: string }).code !== 'ENOSPC') throw err;
  } finally {
    closeSync(fd);
  }
}

describe.skipIf(!canMount)('SQLite on a full disk', () => {
  const root = mkdtempSync(join(tmpdir(), 'keyholder-full-'));
  const dataDir = join(root, 'data');
  const filler = join(dataDir, 'filler');
  const log: string[] = [];
  let server: RunningServer;
  let pki: TestPki;
  let mounted = false;

  beforeAll(async () => {
    execFileSync('mkdir', ['-p', dataDir]);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dataDir]);
    mounted = true;
    pki = await testPki();
    server = await startServer(
      loadConfig({
        env: {},
        flags: {
          dataDir,
          host: '127.0.0.1',
          port: 0,
          tls: { cert: pki.serverCertPath, key: pki.serverKeyPath, ca: pki.caPath },
          adminPassword: 'full-disk-admin',
          log: { level: 'info' },
        },
      }),
      { logStream: { write: (line) => void log.push(line) } },
    );
  }, 60_000);
  afterAll(async () => {
    rmSync(filler, { force: true });
    await server?.close();
    if (mounted) execFileSync('umount', [dataDir]);
    rmSync(root, { recursive: true, force: true });
  });

  const acquire = async (host: string, lock: string): Promise<TestResponse> =>
    httpsRequest(server.url, pki.ca.certPem, 'PUT', `/api/dlmlocks/${lock}/lock`, {
      cert: await pki.host(host),
    });
  const readyz = () => httpsRequest(server.url, pki.ca.certPem, 'GET', '/readyz');
  const lines = (re: RegExp) => log.filter((l) => re.test(l));

  it('answers 503 while the disk is full, is not ready, logs it once and recovers by itself', async () => {
    expect((await acquire('full-host', 'before-full')).status).toBe(200);
    fillUp(filler);
    // New locks need new pages: keep creating them until the database cannot take more.
    const statuses: number[] = [];
    let full: TestResponse | undefined;
    for (let i = 0; i < 2000 && !full; i++) {
      const r = await acquire('full-host', `while-full-${i}-${'x'.repeat(200)}`);
      statuses.push(r.status);
      if (r.status === 503) full = r;
    }
    expect(full, `no 503 after ${statuses.length} writes`).toBeDefined();
    expect(full!.headers['retry-after']).toBeDefined();
    for (let i = 0; i < 20; i++) statuses.push((await acquire('full-host', `still-full-${i}`)).status);
    expect(statuses.filter((s) => s !== 200 && s !== 503)).toEqual([]);
    expect(statuses.slice(-20)).toEqual(Array(20).fill(503));
    expect((await readyz()).status).toBe(503);
    // reads still work
    expect((await acquire('full-host', 'before-full')).status).not.toBe(500);
    expect(lines(/database unavailable/)).toHaveLength(1);
    expect(lines(/unhandled error/)).toEqual([]);

    rmSync(filler);
    let after = await acquire('full-host', 'after-full');
    for (let i = 0; i < 50 && after.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 200));
      after = await acquire('full-host', 'after-full');
    }
    expect(after.status, after.text).toBe(200);
    expect((await readyz()).status).toBe(200);
    // the episode ends once writes have kept working for a moment (src/store/health.ts)
    for (let i = 0; i < 50 && lines(/database available again/).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(lines(/database available again/)).toHaveLength(1);
    expect(lines(/database unavailable/)).toHaveLength(1);
    // what was acknowledged before the disk filled up is still there
    const show = await httpsRequest(server.url, pki.ca.certPem, 'GET', '/api/dlmlocks/before-full/lock', {
      cert: await pki.host('full-host'),
    });
    expect(show.json.host).toEqual({ name: 'full-host', self: true });
  }, 60_000);
});
