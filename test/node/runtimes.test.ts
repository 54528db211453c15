// DESIGN.md "Stack": the server and the client also run on Node 22 and 24. On each runtime
// (test/support/node-runtime.ts): the built server, with better-sqlite3 compiled for that
// runtime, on SQLite and on PostgreSQL, over real TLS; the single-file client on the same
// runtime takes and gives back a lock through it.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { clientBundle, removeClientBundle } from '../client/support/bundle.js';
import { httpsRequest } from '../support/http.js';
import { prepareRuntime, type Runtime } from '../support/node-runtime.js';
import { testPki } from '../support/pki.js';
import { listeningUrl, serverEnv } from '../support/process.js';
import { createTestDatabase, STORES, type TestDatabase } from '../support/stores.js';
import { run } from '../support/tools.js';

const MAJORS = [22, 24];

async function startOn(runtime: Runtime, env: Record<string, string>) {
  const proc = spawn(
    runtime.node,
    [path.join(runtime.app, 'dist/cli/main.js'), 'server', '-H', '127.0.0.1', '-p', '0'],
    {
      env: { PATH: process.env.PATH ?? '', KEYHOLDER_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const { url } = await listeningUrl(proc, `server on Node ${runtime.version}`, 60_000);
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        proc.once('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

describe.each(MAJORS)('Node %i', (major) => {
  let runtime: Runtime;
  beforeAll(() => {
    runtime = prepareRuntime(major, { sqlite: true });
  });
  afterAll(removeClientBundle);

  it('is the runtime asked for', () => {
    expect(run(runtime.node, ['--version']).stdout.trim()).toBe(`v${runtime.version}`);
    expect(runtime.version.split('.')[0]).toBe(String(major));
  });

  describe.each(STORES)('%s', (kind) => {
    let db: TestDatabase;
    beforeAll(async () => {
      db = await createTestDatabase(kind);
    });
    afterAll(() => db?.dispose());

    it('the server answers over TLS and the single-file client takes and gives back a lock', async () => {
      const pki = await testPki();
      const server = await startOn(runtime, serverEnv(db, pki, 'runtime-admin-1'));
      try {
        const host = await pki.host(`node${major}.example.com`);
        const dir = mkdtempSync(path.join(inject('tmpRoot'), 'keyholder-runtime-'));
        writeFileSync(path.join(dir, 'host.crt'), host.certPem);
        writeFileSync(path.join(dir, 'host.key'), host.keyPem);
        const client = await clientBundle();
        const connection = ['--url', server.url, '--cert', `${dir}/host.crt`, '--key', `${dir}/host.key`];
        const cli = (args: string[]) =>
          run(runtime.node, [client, 'lock', ...args, ...connection, '--cacert', pki.caPath], {
            cwd: tmpdir(),
          });

        const lock = `runtime-${major}-${kind}`;
        const acquired = cli(['acquire', lock]);
        expect(acquired.status, acquired.stdout + acquired.stderr).toBe(0);
        const held = await httpsRequest(server.url, pki.ca.certPem, 'GET', `/api/dlmlocks/${lock}/lock`, {
          cert: host,
        });
        expect(held.json.host, held.text).not.toBeNull();
        const released = cli(['release', lock]);
        expect(released.status, released.stdout + released.stderr).toBe(0);
        const free = await httpsRequest(server.url, pki.ca.certPem, 'GET', `/api/dlmlocks/${lock}/lock`, {
          cert: host,
        });
        expect(free.json.host, free.text).toBeNull();
      } finally {
        await server.stop();
      }
    });
  });
});
