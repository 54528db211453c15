// The Containerfile's promises, checked without building the image (test/image builds and runs
// it): multi-stage, production dependencies only, non-root,
// a data volume, a health check on /healthz, OCI labels; and keyholder started with the image's
// environment refuses to make up a CA and says what to mount.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { CLI } from '../support/process.js';

const REPO = new URL('../../', import.meta.url);
const CONTAINERFILE = readFileSync(new URL('Containerfile', REPO), 'utf8');

/** [INSTRUCTION, arguments] with continuation lines joined and comments dropped */
const instructions: [string, string][] = CONTAINERFILE.split('\n')
  .filter((line) => !/^\s*#/.test(line))
  .join('\n')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter(Boolean)
  .map((line) => {
    const [, name, rest] = /^(\S+)\s*(.*)$/.exec(line)!;
    return [name!.toUpperCase(), rest!];
  });
const all = (name: string) => instructions.filter(([n]) => n === name).map(([, args]) => args);
const finalStage = instructions.slice(instructions.findLastIndex(([n]) => n === 'FROM'));
const inFinal = (name: string) => finalStage.filter(([n]) => n === name).map(([, args]) => args);
/** the `app` stage: /opt/keyholder, which builds without a registry give ready-made */
const appStart = instructions.findIndex(([n, args]) => n === 'FROM' && /\bAS app$/i.test(args));
const appStage = instructions.slice(
  appStart,
  instructions.findIndex(([n], i) => i > appStart && n === 'FROM'),
);
const inApp = (name: string) => appStage.filter(([n]) => n === name).map(([, args]) => args);

/** ENV of the final stage as variables */
function imageEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of inFinal('ENV')) {
    for (const [, name, value] of args.matchAll(/(\w+)=("[^"]*"|\S+)/g))
      env[name!] = value!.replace(/^"|"$/g, '');
  }
  return env;
}

describe('the Containerfile', () => {
  it('builds in stages and ships production dependencies and dist/ only', () => {
    expect(all('FROM').length).toBeGreaterThanOrEqual(3);
    expect(all('RUN').join('\n')).toMatch(/npm ci --omit=dev/);
    expect(appStart).toBeGreaterThan(0);
    expect(inApp('FROM')).toEqual(['scratch AS app']);
    const assembled = inApp('COPY').join('\n');
    expect(assembled).toMatch(/--from=deps \/src\/node_modules/);
    expect(assembled).toMatch(/--from=build \/src\/dist/);
    // the image takes the application from the app stage only, and never the whole context
    const copied = inFinal('COPY');
    expect(copied).toEqual(['--from=app /opt/keyholder /opt/keyholder']);
    expect(assembled).not.toMatch(/^\S+ \.$|^\. /m);
  });

  it('runs as a numeric non-root user, with a volume, a health check, a stop signal and labels', () => {
    expect(inFinal('USER')).toEqual(['10001:10001']);
    expect(inFinal('VOLUME')).toEqual(['/var/lib/keyholder']);
    expect(inFinal('HEALTHCHECK').join()).toMatch(/CMD \["node", "\/opt\/keyholder\/healthcheck\.mjs"\]/);
    expect(readFileSync(new URL('contrib/container/healthcheck.mjs', REPO), 'utf8')).toMatch(
      /path: '\/healthz'/,
    );
    expect(inFinal('STOPSIGNAL')).toEqual(['SIGTERM']);
    const labels = inFinal('LABEL').join(' ');
    for (const label of ['version', 'source', 'licenses']) {
      expect(labels).toMatch(`org.opencontainers.image.${label}=`);
    }
    expect(imageEnv()).toMatchObject({
      KEYHOLDER_DATA_DIR: '/var/lib/keyholder',
      KEYHOLDER_TLS_DEV_PKI: 'false',
    });
  });

  it("keyholder server with the image's environment and no certificates refuses and says what to mount", () => {
    const dataDir = mkdtempSync(join(inject('tmpRoot'), 'keyholder-image-env-'));
    const result = spawnSync(process.execPath, [CLI, 'server', '--port', '0'], {
      env: { PATH: process.env.PATH ?? '', ...imageEnv(), KEYHOLDER_DATA_DIR: dataDir },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status, result.stdout).toBe(2);
    expect(result.stderr).toMatch(/KEYHOLDER_TLS_CERT/);
    expect(result.stderr).toMatch(/-v \S+:\/etc\/keyholder\/tls:ro/);
    expect(result.stderr).toMatch(/KEYHOLDER_TLS_DEV_PKI=true/);
  });
});
