// tls.devPki: without certificate files a packaged or containerised server (devPki false) stops
// and says what to mount, instead of making up a development CA.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkTlsSource } from '../../src/cli/server.js';
import { loadConfig } from '../../src/config/load.js';

describe('tls.devPki', () => {
  it('defaults to generating a development CA, as `keyholder server` out of the box does', () => {
    expect(loadConfig({ env: {} }).tls.devPki).toBe(true);
    expect(() => checkTlsSource(loadConfig({ env: {} }))).not.toThrow();
  });

  it('switched off, refuses to start without certificates and says how to provide them', () => {
    const config = loadConfig({ env: { KEYHOLDER_TLS_DEV_PKI: 'false' } });
    expect(() => checkTlsSource(config)).toThrow(
      /KEYHOLDER_TLS_CERT[\s\S]*-v [\s\S]*KEYHOLDER_TLS_DEV_PKI=true/,
    );
  });

  it('switched off, starts with configured certificates', () => {
    const env = {
      KEYHOLDER_TLS_DEV_PKI: 'no',
      KEYHOLDER_TLS_CERT: '/tls/server.crt',
      KEYHOLDER_TLS_KEY: '/tls/server.key',
      KEYHOLDER_TLS_CA: '/tls/ca.crt',
    };
    expect(() => checkTlsSource(loadConfig({ env }))).not.toThrow();
  });

  it('an empty *_FILE secret counts as not set', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keyholder-secret-')), 'database-url');
    writeFileSync(file, '\n');
    expect(loadConfig({ env: { KEYHOLDER_DATABASE_URL_FILE: file } }).database.url).toBeUndefined();
  });
});
