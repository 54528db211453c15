// contrib/systemd/keyholder.service, the server unit: systemd's own checks (verify, and the
// sandboxing score of `systemd-analyze security`), and that the unit's environment with the
// packaged /etc/keyholder/keyholder.yaml makes a valid configuration.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { CLI } from '../support/process.js';
import { haveTool, run } from '../support/tools.js';

const UNIT_PATH = new URL('../../contrib/systemd/keyholder.service', import.meta.url);
const UNIT = readFileSync(UNIT_PATH, 'utf8');
const DEFAULT_CONFIG = new URL('../../contrib/server/keyholder.yaml', import.meta.url).pathname;
/** `systemd-analyze security` exposure, 0 (locked down) … 10 (unprotected); 1.5 is "OK" */
const MAX_EXPOSURE = 1.5;

/** Values of a key in [Service], in order. */
function directives(key: string): string[] {
  return [...UNIT.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!);
}

/** The unit as verify must see it here, where /usr/bin/keyholder is the freshly built CLI. */
function unitAt(dir: string, text = UNIT): string {
  const path = join(dir, 'keyholder.service');
  writeFileSync(path, text.replace('ExecStart=/usr/bin/keyholder ', `ExecStart=${process.execPath} ${CLI} `));
  return path;
}

function verify(path: string): string[] {
  const result = run('systemd-analyze', ['verify', path]);
  expect(result.status, result.stderr).toBe(0);
  // verify exits 0 on unknown keys and bad values: its warnings are what count
  return result.stderr.split('\n').filter((line) => line.includes('keyholder'));
}

describe.runIf(haveTool('systemd-analyze', 'systemd'))('the server systemd unit', () => {
  const dir = () => mkdtempSync(join(inject('tmpRoot'), 'keyholder-unit-'));

  it('passes systemd-analyze verify without a warning', () => {
    expect(verify(unitAt(dir()))).toEqual([]);
    // …and verify does notice a mistake
    const broken = UNIT.replace('ProtectHome=yes', 'ProtectHome=maybe');
    expect(verify(unitAt(dir(), broken)).join('\n')).toMatch(/ProtectHome|protect home/i);
  });

  it(`is sandboxed to an exposure of at most ${MAX_EXPOSURE}`, () => {
    const result = run('systemd-analyze', [
      'security',
      '--offline=true',
      `--threshold=${MAX_EXPOSURE * 10}`,
      unitAt(dir()),
    ]);
    const exposure = /Overall exposure level for keyholder\.service: ([\d.]+)/.exec(result.stdout);
    expect(exposure, result.stdout + result.stderr).not.toBeNull();
    expect(Number(exposure![1])).toBeLessThanOrEqual(MAX_EXPOSURE);
    expect(result.status, result.stdout).toBe(0);
  });

  it('runs as its own user, keeps state in /var/lib/keyholder, restarts, reloads on SIGHUP', () => {
    expect(directives('User')).toEqual(['keyholder']);
    expect(directives('StateDirectory')).toEqual(['keyholder']);
    expect(directives('Restart')).toEqual(['on-failure']);
    expect(directives('ExecReload')).toEqual(['/bin/kill -HUP $MAINPID']);
    expect(directives('CapabilityBoundingSet')).toEqual(['']);
    for (const key of ['NoNewPrivileges', 'PrivateTmp', 'ProtectHome', 'PrivateDevices']) {
      expect(directives(key), key).toEqual(['yes']);
    }
    expect(directives('ProtectSystem')).toEqual(['strict']);
  });

  it('with the packaged keyholder.yaml and its credentials, makes the configuration it says', () => {
    // systemd's %d: the directory it copies the LoadCredential= files into
    const credentials = dir();
    writeFileSync(join(credentials, 'admin-password'), 'from-the-credential\n');
    writeFileSync(join(credentials, 'database-url'), ''); // shipped empty: SQLite
    for (const credential of directives('LoadCredential')) {
      expect(credential).toMatch(/^[a-z-]+:\/etc\/keyholder\/credentials\/[a-z-]+$/);
    }
    const env: Record<string, string> = {};
    for (const assignment of directives('Environment')) {
      const [name, value] = assignment.split(/=(.*)/s) as [string, string];
      env[name] = value.replace('%d', credentials);
    }
    env.KEYHOLDER_CONFIG = DEFAULT_CONFIG; // installed as /etc/keyholder/keyholder.yaml
    const config = loadConfig({ env });
    expect(config.adminPassword).toBe('from-the-credential');
    expect(config.database.url).toBeUndefined();
    expect(config.dataDir).toBe('/var/lib/keyholder');
    expect(config.tls).toMatchObject({
      devPki: false,
      cert: '/etc/keyholder/tls/server.crt',
      key: '/etc/keyholder/tls/server.key',
      ca: '/etc/keyholder/tls/ca.crt',
    });
  });
});
