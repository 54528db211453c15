// An acknowledged acquire survives `kill -9`: a real SQLite server process is killed the
// moment acquires have been answered 200, restarted on the same files, and asked again.
import https from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpsRequest, type TestResponse } from '../support/http.js';
import { testPki } from '../support/pki.js';
import { serverEnv, startServerProcess, type ServerProcess } from '../support/process.js';

const LOCKS = 200;
const ADMIN: [string, string] = ['admin', 'durability-admin'];

describe('kill -9 right after acquires were acknowledged (SQLite)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'keyholder-kill-'));
  let server: ServerProcess | undefined;
  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps every lock whose acquire got a 200', async () => {
    const pki = await testPki();
    const env = serverEnv({ dataDir }, pki, ADMIN[1]);
    server = await startServerProcess(env);
    const first = server;
    const cert = await pki.host('durable01');
    const agent = new https.Agent({ keepAlive: true, maxSockets: 16 });
    const acknowledged: string[] = [];
    let killed: Promise<void> | undefined;
    // Fire all acquires at once; kill the server the instant half of them have been answered,
    // while the rest are still in flight (those may or may not have happened — both are fine).
    await Promise.all(
      Array.from({ length: LOCKS }, async (_, i) => {
        const name = `durable-${i}`;
        let r: TestResponse;
        try {
          r = await httpsRequest(first.url, pki.ca.certPem, 'PUT', `/api/dlmlocks/${name}/lock`, {
            cert,
            agent,
          });
        } catch {
          return; // the connection died with the server
        }
        if (r.status === 200) acknowledged.push(name);
        if (acknowledged.length === LOCKS / 2) killed ??= first.kill9();
      }),
    );
    await killed;
    agent.destroy();
    expect(acknowledged.length).toBeGreaterThanOrEqual(LOCKS / 2);

    server = await startServerProcess(env);
    const list = await httpsRequest(server.url, pki.ca.certPem, 'GET', '/api/dlmlocks?per_page=1000', {
      user: ADMIN,
    });
    const held = new Map<string, string | undefined>(
      list.json.results.map((l: { name: string; host: { name: string } | null }) => [l.name, l.host?.name]),
    );
    for (const name of acknowledged) expect(held.get(name), name).toBe('durable01');
    // and a lock acknowledged before the kill still refuses another host
    const other = await httpsRequest(
      server.url,
      pki.ca.certPem,
      'PUT',
      `/api/dlmlocks/${acknowledged[0]}/lock`,
      {
        cert: await pki.host('durable02'),
      },
    );
    expect(other.status).toBe(412);
  });
});
