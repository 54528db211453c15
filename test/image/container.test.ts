// The container image, built from the Containerfile here with buildah on a locally made base and
// this checkout's build as the `app` stage (docs/container.md), and its command run with
// `buildah run --isolation chroot`: it refuses to start without certificates, serves a host with
// mounted ones, passes its own health check, and ends on SIGTERM with exit 0. Part of npm test:
// vitest.config.ts runs this file first, so its build (niced) overlaps the other files; a cold
// run (no cached base) adds about a minute of Debian download and unpacking.
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { httpsRequest } from '../support/http.js';
import {
  buildahGlobal,
  buildah,
  buildImage,
  ensureBaseImage,
  makeAppTree,
  removeImage,
} from '../support/image.js';
import { testPki } from '../support/pki.js';
import { freePort } from '../support/postgres.js';
import { haveTool } from '../support/tools.js';

// one tag per run: two runs on one machine share the storage (and its base)
const TAG = `localhost/keyholder:test-${process.pid}`;
const UID = 10001;

interface ImageConfig {
  User: string;
  Env: string[];
  Entrypoint: string[];
  Cmd: string[];
  Volumes: Record<string, object>;
  Labels: Record<string, string>;
  StopSignal: string;
  Healthcheck: { Test: string[] };
}

/** pids of the processes below `root` (buildah run → chroot runtime → exec → node) */
function descendants(root: number): { pid: number; command: string }[] {
  const parent = new Map<number, number>();
  const command = new Map<number, string>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
      command.set(Number(entry), readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // gone in the meantime
    }
  }
  const below = (pid: number): boolean => {
    for (let p = parent.get(pid); p; p = parent.get(p)) if (p === root) return true;
    return false;
  };
  return [...parent.keys()].filter(below).map((pid) => ({ pid, command: command.get(pid) ?? '' }));
}

// Without CI a missing tool skips (and says so); with CI=true haveTool throws: .ci/run installs them.
const tools = haveTool('buildah', 'buildah') && haveTool('mmdebstrap', 'mmdebstrap');
if (!tools)
  console.warn('test/image skipped: buildah and mmdebstrap are missing (apt-get install buildah mmdebstrap)');

describe.runIf(tools)(
  tools ? 'the container image' : 'the container image (skipped: buildah or mmdebstrap missing)',
  () => {
    let config: ImageConfig;
    let container: string;
    const running: ChildProcess[] = [];

    beforeAll(() => {
      ensureBaseImage();
      const app = join(inject('tmpRoot'), 'image-app');
      makeAppTree(app);
      buildImage(TAG, app);
      const inspected = buildah(['inspect', '--type', 'image', TAG]);
      expect(inspected.status, inspected.stderr).toBe(0);
      config = (JSON.parse(inspected.stdout) as { Docker: { config: ImageConfig } }).Docker.config;
      const from = buildah(['from', '--pull-never', TAG]);
      expect(from.status, from.stderr).toBe(0);
      container = from.stdout.trim();
    }, 15 * 60_000);

    afterAll(() => {
      for (const proc of running) if (proc.exitCode === null) proc.kill('SIGKILL');
      if (container) buildah(['rm', container]);
      removeImage(TAG);
    });

    /** the image's command (ENTRYPOINT + CMD) in the working container */
    function start(env: Record<string, string>, mounts: string[] = []) {
      const args = ['run', '--isolation', 'chroot'];
      for (const [name, value] of Object.entries(env)) args.push('-e', `${name}=${value}`);
      for (const mount of mounts) args.push('-v', mount);
      const proc = spawn(
        'buildah',
        [...buildahGlobal(), ...args, container, '--', ...config.Entrypoint, ...config.Cmd],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      running.push(proc);
      let output = '';
      proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
      return { proc, exit, output: () => output };
    }

    it('runs as a non-root user with a data volume, a health check, OCI labels and SIGTERM', () => {
      expect(config.User).toBe(`${UID}:${UID}`);
      expect(Object.keys(config.Volumes)).toEqual(['/var/lib/keyholder']);
      expect(config.Healthcheck.Test).toEqual(['CMD', 'node', '/opt/keyholder/healthcheck.mjs']);
      expect(config.StopSignal).toBe('SIGTERM');
      expect(config.Labels).toMatchObject({
        'org.opencontainers.image.version': JSON.parse(readFileSync('package.json', 'utf8')).version,
        'org.opencontainers.image.licenses': 'MIT',
      });
      expect(config.Labels).toHaveProperty(['org.opencontainers.image.source']);
      expect(config.Env).toContain('KEYHOLDER_TLS_DEV_PKI=false');
      // production dependencies only: no compiler, test runner or UI toolkit in the image
      const listed = buildah([
        'run',
        '--isolation',
        'chroot',
        container,
        '--',
        'ls',
        '/opt/keyholder/node_modules',
      ]);
      expect(listed.stdout).toContain('better-sqlite3');
      for (const dev of ['typescript', 'vitest', 'vite', 'react', 'eslint'])
        expect(listed.stdout).not.toMatch(new RegExp(`^${dev}$`, 'm'));
    }, 120_000);

    it('without certificates, refuses to make up a CA and says what to mount', async () => {
      const server = start({});
      expect(await server.exit).not.toBe(0);
      expect(server.output()).toMatch(/generating a development CA is switched off/);
      expect(server.output()).toMatch(/-v \S+:\/etc\/keyholder\/tls:ro/);
    }, 120_000);

    it('with mounted certificates: healthy, a host takes and releases a lock, SIGTERM ends it with 0', async () => {
      const pki = await testPki();
      // the mounted folder as an operator would make it: readable by the image's user only where needed
      const tls = join(inject('tmpRoot'), 'image-tls');
      mkdirSync(tls, { mode: 0o755 });
      copyFileSync(pki.serverCertPath, join(tls, 'server.crt'));
      copyFileSync(pki.caPath, join(tls, 'ca.crt'));
      copyFileSync(pki.serverKeyPath, join(tls, 'server.key'));
      chownSync(join(tls, 'server.key'), UID, UID);
      chmodSync(join(tls, 'server.key'), 0o600);
      for (const f of ['server.crt', 'ca.crt']) chmodSync(join(tls, f), 0o644);
      chmodSync(tls, 0o755);

      const port = await freePort();
      const server = start(
        {
          KEYHOLDER_HOST: '127.0.0.1',
          KEYHOLDER_PORT: String(port),
          KEYHOLDER_TLS_CERT: '/etc/keyholder/tls/server.crt',
          KEYHOLDER_TLS_KEY: '/etc/keyholder/tls/server.key',
          KEYHOLDER_TLS_CA: '/etc/keyholder/tls/ca.crt',
          KEYHOLDER_ADMIN_PASSWORD: 'image-admin-password',
        },
        [`${tls}:/etc/keyholder/tls:ro`],
      );
      for (let i = 0; i < 600 && !/keyholder listening on/.test(server.output()); i++) {
        if (server.proc.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      expect(server.output()).toMatch(`keyholder listening on https://127.0.0.1:${port}`);

      const health = buildah([
        'run',
        '--isolation',
        'chroot',
        '-e',
        `KEYHOLDER_PORT=${port}`,
        container,
        '--',
        ...config.Healthcheck.Test.slice(1),
      ]);
      expect(health.status, health.stderr).toBe(0);

      const url = `https://127.0.0.1:${port}`;
      const cert = await pki.host('web1.example.com');
      const call = (method: string, path: string) =>
        httpsRequest(url, pki.ca.certPem, method, path, { cert });
      const taken = await call('PUT', '/api/dlmlocks/image-test/lock');
      expect(taken.status).toBe(200);
      expect(taken.json.host).toEqual({ name: 'web1.example.com', self: true });
      expect((await call('DELETE', '/api/dlmlocks/image-test/lock')).status).toBe(200);
      expect((await call('GET', '/api/dlmlocks/image-test/lock')).json.host).toBeNull();

      // SIGTERM to keyholder itself (buildah run answers its own SIGTERM with a SIGKILL)
      const node = descendants(server.proc.pid!).find(
        (p) => p.command.includes('dist/cli/main.js server') && p.command.startsWith('/usr/local/bin/node'),
      );
      expect(node, JSON.stringify(descendants(server.proc.pid!))).toBeDefined();
      process.kill(node!.pid, 'SIGTERM');
      expect(await server.exit).toBe(0);
      expect(server.output()).toMatch(/shutting down/);
    }, 120_000);
  },
);
