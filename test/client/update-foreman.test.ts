// `keyholder update` end to end against the foreman_dlm stub: the whole workflow, the reboot and
// resume, a failing hook keeping the lock, the run lock, and the dry run.
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startForemanStub, type ForemanStub } from './support/foreman-stub.js';
import { makePki, type TestPki } from './support/pki.js';
import { runCli } from './support/run-cli.js';
import { makeSimHost, type SimHost } from './support/sim-host.js';

let dir: string;
let pki: TestPki;
let stub: ForemanStub;
let counter = 0;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-update-'));
  pki = await makePki(path.join(dir, 'pki'));
  stub = await startForemanStub(pki.ca, pki.server);
});

afterAll(async () => {
  await stub.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  stub.locks.clear();
  stub.requests.length = 0;
});

async function newHost(acquire?: { timeout?: number }): Promise<SimHost> {
  const files = await pki.host(`host${++counter}.example.com`);
  return makeSimHost(dir, {
    url: stub.url,
    lock: 'updates',
    files,
    cacert: pki.caFile,
    ...(acquire && { acquire }),
  });
}

const update = (h: SimHost, ...args: string[]) => runCli(['update', '--config', h.config, ...args]);
const stateFile = (h: SimHost) => path.join(h.stateDir, 'update-state.json');

describe('keyholder update against foreman_dlm', () => {
  it('does nothing (and takes no lock) when no check says updates are needed', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-check', 'exit 0');
    await h.hook('update.d', '10-apply');
    const r = await update(h);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no updates needed');
    expect(await h.marks()).toEqual([`needs_update 10-check updates ${h.name}`]);
    expect(stub.requests).toHaveLength(0);
  });

  it('does nothing without any needs_update.d check', async () => {
    const h = await newHost();
    await h.hook('update.d', '10-apply');
    const r = await update(h);
    expect(r.code).toBe(0);
    expect(await h.marks()).toEqual([]);
    expect(stub.requests).toHaveLength(0);
  });

  it('runs every step in order without a reboot and releases the lock', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-uptodate', 'exit 0');
    await h.hook('needs_update.d', '20-pending', 'exit 1');
    await h.hook('pre_update.d', '10-drain', 'test -z "$KEYHOLDER_FENCING_TOKEN"');
    await h.hook('update.d', '20-second', 'echo "installing second"');
    await h.hook('update.d', '10-first', 'echo "installing first"; echo "to stderr" >&2');
    await h.hook('needs_reboot.d', '10-kernel', 'exit 0');
    await h.hook('post_update.d', '10-undrain', `test "$KEYHOLDER_URL" = "${stub.url}"`);
    const r = await update(h);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(await h.marks()).toEqual(
      [
        'needs_update 10-uptodate',
        'needs_update 20-pending',
        'pre_update 10-drain',
        'update 10-first',
        'update 20-second',
        'needs_reboot 10-kernel',
        'post_update 10-undrain',
      ].map((m) => `${m} updates ${h.name}`),
    );
    expect(stub.requests.map((q) => `${q.method} ${q.url}`)).toEqual([
      'PUT /api/dlmlocks/updates/lock',
      'DELETE /api/dlmlocks/updates/lock',
    ]);
    expect(stub.locks.get('updates')?.host).toBeNull();
    expect(existsSync(stateFile(h))).toBe(false);
    expect(await h.rebootCount()).toBe(0);
    // every log line is time-stamped, hook output included
    for (const line of r.stdout.trim().split('\n'))
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    expect(r.stdout).toMatch(/\[update\.d\/10-first\] installing first/);
    expect(r.stdout).toMatch(/\[update\.d\/10-first\] to stderr/);
  });

  it('reboots, keeps the lock across the reboot, and --resume finishes', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('update.d', '10-apply');
    await h.hook('needs_reboot.d', '10-kernel', 'exit 1');
    await h.hook('post_update.d', '10-check');
    const first = await update(h);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('reboot requested');
    expect(await h.rebootCount()).toBe(1);
    expect(stub.locks.get('updates')?.host).toBe(h.name);
    expect(JSON.parse(await readFile(stateFile(h), 'utf8'))).toMatchObject({
      lock: 'updates',
      step: 'post_update',
      status: 'rebooting',
      host: h.name,
    });
    expect((await h.marks()).map((m) => m.split(' ')[0])).toEqual(['needs_update', 'update', 'needs_reboot']);

    const resumed = await update(h, '--resume');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('resuming after the reboot');
    expect((await h.marks()).map((m) => m.split(' ')[0])).toEqual([
      'needs_update',
      'update',
      'needs_reboot',
      'post_update',
    ]);
    expect(stub.locks.get('updates')?.host).toBeNull();
    expect(existsSync(stateFile(h))).toBe(false);

    const again = await update(h, '--resume');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('no interrupted update to resume');
  });

  it('a failing update.d hook stops the run, keeps the lock and names the hook with its output', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('update.d', '10-ok');
    await h.hook('update.d', '20-broken', 'echo "E: dpkg was interrupted"; exit 3');
    await h.hook('update.d', '30-never');
    await h.hook('post_update.d', '10-never');
    const r = await update(h);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'hook update.d/20-broken failed with exit code 3; its output ended with:\n  | E: dpkg was interrupted',
    );
    expect(r.stderr).toContain("lock 'updates' stays held");
    expect((await h.marks()).map((m) => m.split(' ')[1])).toEqual(['10-pending', '10-ok', '20-broken']);
    expect(stub.locks.get('updates')?.host).toBe(h.name);
    expect(JSON.parse(await readFile(stateFile(h), 'utf8'))).toMatchObject({
      step: 'update',
      status: 'failed',
    });

    // unattended runs (timer, boot) do not repeat a broken update
    const timer = await update(h);
    expect(timer.code).toBe(2);
    expect(timer.stderr).toContain('previous run failed at step update');
    expect(timer.stderr).toContain('keyholder update --retry');
    const boot = await update(h, '--resume');
    expect(boot.code).toBe(2);
    expect(await h.marks()).toHaveLength(3);

    // the operator fixes it and retries from the failed step
    await h.hook('update.d', '20-broken', 'exit 0');
    const retry = await update(h, '--retry');
    expect(retry.code).toBe(0);
    expect((await h.marks()).map((m) => m.split(' ')[1])).toEqual([
      '10-pending',
      '10-ok',
      '20-broken',
      '10-ok',
      '20-broken',
      '30-never',
      '10-never',
    ]);
    expect(stub.locks.get('updates')?.host).toBeNull();
  });

  it('gives up with exit 1 when the lock stays held elsewhere, without running update hooks', async () => {
    const h = await newHost({ timeout: 2 });
    stub.setLock('updates', { host: 'someone-else.example.com' });
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('pre_update.d', '10-never');
    const r = await update(h);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      "cannot acquire lock 'updates': held by someone-else.example.com; trying again",
    );
    expect(r.stderr).toContain("cannot acquire lock 'updates': held by someone-else.example.com");
    expect((await h.marks()).map((m) => m.split(' ')[0])).toEqual(['needs_update']);
    expect(existsSync(stateFile(h))).toBe(false);
    expect(stub.requests.filter((q) => q.method === 'PUT').length).toBeGreaterThan(1);
  });

  it('a hook that runs too long is killed and counts as failed', async () => {
    const files = await pki.host(`slow${++counter}.example.com`);
    const h = await makeSimHost(dir, {
      url: stub.url,
      lock: 'updates',
      files,
      cacert: pki.caFile,
      hookTimeout: 1,
    });
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('pre_update.d', '10-hang', 'sleep 30');
    const started = Date.now();
    const r = await update(h);
    expect(r.code).toBe(2);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(r.stderr).toContain('hook pre_update.d/10-hang timed out and was killed');
    expect(stub.locks.get('updates')?.host).toBe(h.name);
  });

  it('refuses a second concurrent run on the same host', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-slow', 'sleep 4; exit 0');
    const first = update(h);
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const second = await update(h);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('another keyholder update is running on this host');
    expect((await first).code).toBe(0);
  });

  it('--dry-run shows the plan and does nothing', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('update.d', '10-apply');
    const r = await update(h, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dry run: nothing is executed');
    expect(r.stdout).toMatch(/needs_update: .*needs_update\.d: 10-pending/);
    expect(r.stdout).toMatch(/update: .*update\.d: 10-apply/);
    expect(r.stdout).toMatch(/pre_update: .*\(no hooks\)/);
    expect(r.stdout).toContain("release: release 'updates'");
    expect(await h.marks()).toEqual([]);
    expect(stub.requests).toHaveLength(0);
  });
});
