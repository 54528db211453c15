// What a browser downloads on its first visit: index.html, then the JS and CSS it names. Both
// must arrive precompressed (brotli, else gzip) with a year-long immutable cache, and the
// whole initial transfer must stay under the budget below. Fonts and images load later, on use,
// and are not counted.
import https from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.js';
import { uiTestsRunnable } from './browser.js';

/** The initial JS + CSS + HTML over the wire with brotli; about 230 KB when this was written. */
const BUDGET_BYTES = 300 * 1024;

interface Raw {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  bytes: Buffer;
}

describe.skipIf(!uiTestsRunnable())('the UI assets', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
  });
  afterAll(async () => {
    await s?.close();
  });

  // the raw bytes on the wire: no client-side decompression
  const get = (path: string, encoding: string) =>
    new Promise<Raw>((resolve, reject) => {
      const url = new URL(s.url);
      https
        .get(
          {
            host: url.hostname,
            port: url.port,
            path,
            headers: { 'accept-encoding': encoding },
            ca: s.pki.ca.certPem,
            servername: 'localhost',
            agent: false,
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, bytes: Buffer.concat(chunks) }),
            );
            res.on('error', reject);
          },
        )
        .on('error', reject);
    });

  it(`serves JS and CSS precompressed, cached for a year, within ${BUDGET_BYTES / 1024} KB`, async () => {
    const index = await get('/locks', 'br, gzip');
    expect(index.status).toBe(200);
    expect(index.headers['cache-control']).toBe('no-cache');
    const html = index.bytes.toString('utf8');
    const named = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
    expect(named.some((a) => a.endsWith('.js'))).toBe(true);
    expect(named.some((a) => a.endsWith('.css'))).toBe(true);
    // the small entry loads the app at once (its chunks are listed in it): they count too; the
    // pages loaded on first use (users, audit, hosts) do not
    const entry = (
      await get(
        named.find((a) => a.endsWith('.js'))!,
        'identity',
      )
    ).bytes.toString('utf8');
    const loaded = [...entry.matchAll(/"(assets\/[^"]+\.(?:js|css))"/g)].map((m) => `/${m[1]!}`);
    expect(loaded.some((a) => /\/boot-[^/]+\.js$/.test(a))).toBe(true);
    const assets = [...new Set([...named, ...loaded])];

    let total = index.bytes.length;
    for (const path of assets) {
      const br = await get(path, 'br, gzip');
      expect(br.status).toBe(200);
      expect(br.headers['content-encoding'], path).toBe('br');
      expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(br.headers.vary).toMatch(/accept-encoding/i);
      total += br.bytes.length;

      const gz = await get(path, 'gzip');
      expect(gz.headers['content-encoding'], path).toBe('gzip');
      const plain = await get(path, 'identity');
      expect(plain.headers['content-encoding']).toBeUndefined();
      // compression that pays: at least three times smaller (a few KB, like the entry, less so)
      if (plain.bytes.length > 20_000) expect(br.bytes.length * 3, path).toBeLessThan(plain.bytes.length);
      else expect(br.bytes.length * 2, path).toBeLessThan(plain.bytes.length);
    }
    console.log(`initial transfer with brotli: ${Math.round(total / 1024)} KB in ${assets.length + 1} files`);
    expect(total).toBeLessThan(BUDGET_BYTES);
  });
});
