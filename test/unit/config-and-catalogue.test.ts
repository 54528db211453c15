import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { ERRORS } from '../../src/errors.js';
import { connectionUrl } from '../../src/store/open.js';

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keyholder-config-'));

  it('has the documented defaults and freezes the result', () => {
    const c = loadConfig({ env: {} });
    expect(c).toMatchObject({ dataDir: './data', host: '0.0.0.0', port: 8443, trustedProxies: [] });
    expect(c.hosts.autoRegister).toBe(true);
    expect(c.locks.staleAfterSeconds).toBe(14_400);
    expect(Object.isFrozen(c.tls)).toBe(true);
  });

  it('layers file < env < flags, and reads *_FILE secrets', () => {
    const file = join(dir, 'k.yaml');
    writeFileSync(file, 'port: 9000\nhost: 127.0.0.1\ndataDir: /from/file\n');
    const pw = join(dir, 'pw');
    writeFileSync(pw, 'secret-from-file\n');
    const c = loadConfig({
      env: { KEYHOLDER_CONFIG: file, KEYHOLDER_PORT: '9100', KEYHOLDER_ADMIN_PASSWORD_FILE: pw },
      flags: { port: 9200 },
    });
    expect(c.port).toBe(9200);
    expect(c.host).toBe('127.0.0.1');
    expect(c.dataDir).toBe('/from/file');
    expect(c.adminPassword).toBe('secret-from-file');
    expect(
      loadConfig({ env: { KEYHOLDER_TRUSTED_PROXIES: '10.0.0.1, 192.168.0.0/16' } }).trustedProxies,
    ).toEqual(['10.0.0.1', '192.168.0.0/16']);
  });

  it('reads every documented KEYHOLDER_* setting, and a file value survives an unset variable', () => {
    const file = join(dir, 'locks.yaml');
    writeFileSync(file, 'locks:\n  staleAfterSeconds: 600\n');
    const c = loadConfig({
      file,
      env: {
        KEYHOLDER_HOSTS_MATCH_SAN: 'yes',
        KEYHOLDER_TLS_WATCH_SECONDS: '30',
        KEYHOLDER_LOCKS_EXPIRY_INTERVAL_SECONDS: '2',
        KEYHOLDER_EVENTS_RETENTION_DAYS: '30',
        KEYHOLDER_FLEETLOCK_ALLOWED_NETWORKS: '10.0.0.0/8, 127.0.0.1',
      },
    });
    expect(c.hosts.matchSan).toBe(true);
    expect(c.tls.watchSeconds).toBe(30);
    expect(c.locks).toMatchObject({ staleAfterSeconds: 600, expiryIntervalSeconds: 2 });
    expect(c.events.retentionDays).toBe(30);
    expect(c.fleetlock.allowedNetworks).toEqual(['10.0.0.0/8', '127.0.0.1']);
    expect(loadConfig({ env: { KEYHOLDER_LOCKS_STALE_AFTER_SECONDS: '60' } }).locks.staleAfterSeconds).toBe(
      60,
    );
  });

  it('reads the database password from KEYHOLDER_DATABASE_PASSWORD_FILE into a URL without one', () => {
    const pw = join(dir, 'db-pw');
    writeFileSync(pw, 'p@ss:w/rd%\n');
    const c = loadConfig({
      env: {
        KEYHOLDER_DATABASE_URL: 'postgres://keyholder@db.example.com:5433/keyholder',
        KEYHOLDER_DATABASE_PASSWORD_FILE: pw,
        KEYHOLDER_INSTANCE_ID: 'kh-a',
      },
    });
    expect(c.database.password).toBe('p@ss:w/rd%');
    expect(c.instanceId).toBe('kh-a');
    const url = new URL(connectionUrl(c.database)!);
    expect([url.username, decodeURIComponent(url.password), url.host, url.pathname]).toEqual([
      'keyholder',
      'p@ss:w/rd%',
      'db.example.com:5433',
      '/keyholder',
    ]);
    // a password written into the URL wins; without a URL there is nothing to connect to
    const inUrl = {
      url: 'postgres://keyholder:given@db/keyholder',
      password: 'other',
      poolSize: 1,
      connectTimeoutSeconds: 5,
    };
    expect(connectionUrl(inUrl)).toBe(inUrl.url);
    expect(connectionUrl({ password: 'other', poolSize: 1, connectTimeoutSeconds: 5 })).toBeUndefined();
  });

  it.each([
    [{ KEYHOLDER_PORT: 'eighty' }, /KEYHOLDER_PORT/],
    [{ KEYHOLDER_PORT: '70000' }, /port/],
    [{ KEYHOLDER_DATABASE_URL: 'mysql://x' }, /database\.url/],
    [{ KEYHOLDER_TRUSTED_PROXIES: 'not-an-ip' }, /trustedProxies/],
    [{ KEYHOLDER_HOSTS_AUTO_REGISTER: 'perhaps' }, /KEYHOLDER_HOSTS_AUTO_REGISTER/],
    [{ KEYHOLDER_ADMIN_PASSWORD: 'short' }, /adminPassword/],
  ])('rejects %o with a message naming the key', (env, message) => {
    expect(() => loadConfig({ env })).toThrow(ConfigError);
    expect(() => loadConfig({ env })).toThrow(message);
  });

  it('has safe connection limits by default and reads KEYHOLDER_HTTP_* (SPEC §8)', () => {
    expect(loadConfig({ env: {} }).http).toEqual({
      bodyLimit: 65536,
      keepAliveTimeoutSeconds: 60,
      requestTimeoutSeconds: 30,
      maxConnectionAgeSeconds: 600,
      maxConnections: 4096,
      maxEventStreams: 256,
      shutdownGraceSeconds: 10,
    });
    const http = loadConfig({
      env: {
        KEYHOLDER_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: '5',
        KEYHOLDER_HTTP_REQUEST_TIMEOUT_SECONDS: '7',
        KEYHOLDER_HTTP_MAX_CONNECTION_AGE_SECONDS: '120',
        KEYHOLDER_HTTP_MAX_CONNECTIONS: '50',
        KEYHOLDER_HTTP_SHUTDOWN_GRACE_SECONDS: '3',
      },
    }).http;
    expect(http).toMatchObject({
      keepAliveTimeoutSeconds: 5,
      requestTimeoutSeconds: 7,
      maxConnectionAgeSeconds: 120,
      maxConnections: 50,
      shutdownGraceSeconds: 3,
    });
    expect(() => loadConfig({ env: { KEYHOLDER_HTTP_MAX_CONNECTIONS: '0' } })).toThrow(
      /http\.maxConnections/,
    );
  });

  it('rejects unknown keys and unreadable files', () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'prot: 8443\n');
    expect(() => loadConfig({ env: {}, file })).toThrow(/prot|Unrecognized/);
    expect(() => loadConfig({ env: {}, file: join(dir, 'missing.yaml') })).toThrow(ConfigError);
  });
});

describe('the error catalogue', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  it.each(Object.entries(ERRORS))('%s is documented in the README with its status', (code, { status }) => {
    expect(readme).toMatch(new RegExp(`\\| \`${code}\` +\\| ${status} +\\|`));
  });
});
