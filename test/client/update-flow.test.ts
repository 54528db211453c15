// `keyholder update` on one host, against a real keyholder and against the foreman_dlm stub:
// the whole workflow, reboot and resume, a failing hook keeping the lock, the run lock, signals
// and the dry run.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, isWaiting, startBackend, type Backend } from './support/backends.js';
import { removeClientBundle } from './support/bundle.js';
import { runCli, startCli, waitFor } from './support/run-cli.js';
import {
  makeSimHost,
  readLines,
  waitForFile,
  type SimHost,
  type SimHostOptions,
} from './support/sim-host.js';

afterAll(removeClientBundle);

let counter = 0;
const stepsOf = async (h: SimHost) => (await h.marks()).map((m) => m.split(' ')[0]);
const hooksOf = async (h: SimHost) => (await h.marks()).map((m) => m.split(' ')[1]);

describe.each(BACKENDS)('keyholder update against %s', (kind) => {
  let b: Backend;
  let dir: string;

  beforeAll(async () => {
    b = await startBackend(kind);
    dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-update-'));
  });
  afterAll(async () => {
    await b?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A host with its own certificate, directories and lock name (the server lives for the file). */
  async function newHost(opts: Partial<SimHostOptions> = {}): Promise<SimHost & { lock: string }> {
    const n = ++counter;
    const lock = `updates-${n}`;
    const files = await b.host(`host${n}.example.com`);
    const h = await makeSimHost(dir, { url: b.url, lock, files, cacert: b.caFile, ...opts });
    return { ...h, lock };
  }
  const update = (h: SimHost, ...args: string[]) => runCli(['update', '--config', h.config, ...args]);
  const readState = async (h: SimHost) =>
    JSON.parse(await readFile(h.stateFile, 'utf8')) as Record<string, unknown>;

  it('does nothing, and takes no lock, when no check says updates are needed', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-check', 'exit 0');
    await h.hook('update.d', '10-apply');
    const r = await update(h);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no updates needed');
    expect(await h.marks()).toEqual([`needs_update 10-check ${h.lock} ${h.name}`]);
    expect(await b.holderOf(h.lock)).toBeUndefined();
  });

  it('does nothing without any needs_update.d check', async () => {
    const h = await newHost();
    await h.hook('update.d', '10-apply');
    const r = await update(h);
    expect(r.code).toBe(0);
    expect(await h.marks()).toEqual([]);
    expect(await b.holderOf(h.lock)).toBeUndefined();
  });

  it('runs every step in lexical order without a reboot, tells the hooks where they are, releases', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-uptodate', 'exit 0');
    await h.hook('needs_update.d', '20-pending', 'exit 1');
    // keyholder hands the fencing token to the hooks; Foreman has none
    const token =
      kind === 'keyholder' ? 'test -n "$KEYHOLDER_FENCING_TOKEN"' : 'test -z "$KEYHOLDER_FENCING_TOKEN"';
    await h.hook('pre_update.d', '10-drain', `${token} && test "$KEYHOLDER_HOOK" = pre_update.d/10-drain`);
    await h.hook('update.d', '20-second', 'echo "installing second"');
    await h.hook('update.d', '10-first', 'echo "installing first"; echo "to stderr" >&2');
    await h.hook('update.d', '15-skipped.dpkg-old', 'exit 1');
    await writeFile(path.join(h.hooksDir, 'update.d', '12-not-executable'), '#!/bin/sh\nexit 1\n');
    await h.hook('needs_reboot.d', '10-kernel', 'exit 0');
    await h.hook('post_update.d', '10-undrain', `test "$KEYHOLDER_URL" = "${b.url}"`);
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
      ].map((m) => `${m} ${h.lock} ${h.name}`),
    );
    expect(await b.holderOf(h.lock)).toBeNull();
    expect(existsSync(h.stateFile)).toBe(false);
    expect(await h.rebootCount()).toBe(0);
    // every log line is time-stamped, hook output included
    for (const line of r.stdout.trim().split('\n'))
      expect(line).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z /);
    expect(r.stdout).toMatch(/\[update\.d\/10-first\] installing first/);
    expect(r.stdout).toMatch(/\[update\.d\/10-first\] to stderr/);
    expect(r.stdout).toContain(`update finished, lock '${h.lock}' released`);
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
    expect(await b.holderOf(h.lock)).toBe(h.name);
    expect(await readState(h)).toMatchObject({
      lock: h.lock,
      step: 'post_update',
      status: 'rebooting',
      host: h.name,
    });
    expect(await stepsOf(h)).toEqual(['needs_update', 'update', 'needs_reboot']);

    const resumed = await update(h, '--resume');
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('resuming after the reboot');
    expect(await stepsOf(h)).toEqual(['needs_update', 'update', 'needs_reboot', 'post_update']);
    expect(await b.holderOf(h.lock)).toBeNull();
    expect(existsSync(h.stateFile)).toBe(false);

    const again = await update(h, '--resume');
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('no interrupted update to resume');
    expect(await h.rebootCount()).toBe(1);
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
      `hook update.d/20-broken failed with exit code 3; lock '${h.lock}' stays held; its output ended with:\n  | E: dpkg was interrupted\n`,
    );
    expect(await hooksOf(h)).toEqual(['10-pending', '10-ok', '20-broken']);
    expect(await b.holderOf(h.lock)).toBe(h.name);
    expect(await readState(h)).toMatchObject({ step: 'update', status: 'failed' });
    // the whole reason, with the hook's output, not just its first line
    expect((await readState(h)).failure).toContain('E: dpkg was interrupted');

    // unattended runs (timer, boot) do not repeat a broken update
    const timer = await update(h);
    expect(timer.code).toBe(2);
    expect(timer.stderr).toContain('previous run failed at step update');
    expect(timer.stderr).toContain('keyholder update --retry');
    expect(timer.stderr).toContain('E: dpkg was interrupted');
    const boot = await update(h, '--resume');
    expect(boot.code).toBe(2);
    expect(await h.marks()).toHaveLength(3);
    expect(await b.holderOf(h.lock)).toBe(h.name);

    // the operator fixes it and retries from the failed step
    await h.hook('update.d', '20-broken', 'exit 0');
    const retry = await update(h, '--retry');
    expect(retry.code).toBe(0);
    expect(await hooksOf(h)).toEqual([
      '10-pending',
      '10-ok',
      '20-broken',
      '10-ok',
      '20-broken',
      '30-never',
      '10-never',
    ]);
    expect(await b.holderOf(h.lock)).toBeNull();
  });

  it('gives up with exit 1 when the lock stays held elsewhere, without running update hooks', async () => {
    const h = await newHost({ acquire: { timeout: 2 } });
    await b.holdAs(h.lock, 'someone-else.example.com');
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('pre_update.d', '10-never');
    const r = await update(h);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `cannot acquire lock '${h.lock}': held by someone-else.example.com; trying again`,
    );
    expect(r.stderr).toContain(`cannot acquire lock '${h.lock}': held by someone-else.example.com`);
    expect(await stepsOf(h)).toEqual(['needs_update']);
    expect(existsSync(h.stateFile)).toBe(false);
    expect(await b.acquireAttempts(h.lock, h.name)).toBeGreaterThan(1);
  });

  it('a hook that runs too long is killed, with its children, and counts as failed', async () => {
    const h = await newHost({ hookTimeout: 1 });
    const pidFile = path.join(h.root, 'grandchild.pid');
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('pre_update.d', '10-hang', `sleep 60 & echo $! > '${pidFile}'; wait`);
    const r = await update(h);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('hook pre_update.d/10-hang timed out and was killed');
    expect(await b.holderOf(h.lock)).toBe(h.name);
    const pid = Number((await readFile(pidFile, 'utf8')).trim());
    await waitFor('the hook’s child to be gone', () => !isAlive(pid), 10_000);
  });

  it('refuses a second concurrent run on the same host', async () => {
    const h = await newHost();
    const started = path.join(h.root, 'first-started');
    const go = path.join(h.root, 'go');
    await h.hook('needs_update.d', '10-slow', `touch '${started}'; ${waitForFile(go)}; exit 0`);
    const first = await startCli(['update', '--config', h.config]);
    // hooks run only once the run lock is held
    await waitFor('the first run to be inside its hook', () => existsSync(started));
    const second = await update(h);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain('another keyholder update is running on this host');
    await writeFile(go, '');
    expect((await first.done).code).toBe(0);
  });

  it('SIGTERM during update.d stops the hook, keeps the lock, and records where the run stopped', async () => {
    const h = await newHost();
    const inside = path.join(h.root, 'inside');
    const pidFile = path.join(h.root, 'hook.pid');
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook(
      'update.d',
      '10-long',
      `echo $$ > '${pidFile}'; touch '${inside}'; ${waitForFile('/nonexistent')}`,
    );
    const run = await startCli(['update', '--config', h.config]);
    await waitFor('the hook to run', () => existsSync(inside));
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('received SIGTERM, stopping');
    expect(r.stderr).toContain('hook update.d/10-long was stopped because keyholder was interrupted');
    expect(isAlive(Number((await readFile(pidFile, 'utf8')).trim()))).toBe(false);
    expect(await b.holderOf(h.lock)).toBe(h.name);
    expect(await readState(h)).toMatchObject({ step: 'update', status: 'failed' });
    expect(existsSync(path.join(h.stateDir, 'update.lock'))).toBe(false);
  });

  it('SIGTERM while waiting for the lock ends the run with nothing held or recorded', async () => {
    // wait: keyholder holds the request, so the signal cuts a request in flight; Foreman polls
    const h = await newHost({ acquire: { timeout: 60, wait: 30 } });
    await b.holdAs(h.lock, 'someone-else.example.com');
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('pre_update.d', '10-never');
    const run = await startCli(['update', '--config', h.config]);
    await waitFor('the run to wait for the lock', () => isWaiting(b, h.lock, h.name));
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('interrupted by SIGTERM');
    expect(await stepsOf(h)).toEqual(['needs_update']);
    expect(existsSync(h.stateFile)).toBe(false);
    expect(await b.holderOf(h.lock)).toBe('someone-else.example.com');
    await waitFor('no request of this host to stay queued', async () => !(await b.isQueued(h.lock, h.name)));
  });

  it('after the reboot, stops loudly before post_update when an operator has given the lock to another host', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('needs_reboot.d', '10-kernel', 'exit 1');
    await h.hook('post_update.d', '10-check');
    expect((await update(h)).code).toBe(0);
    await b.free(h.lock);
    await b.holdAs(h.lock, 'next.example.com');
    const resumed = await update(h, '--resume');
    expect(resumed.code).toBe(4);
    expect(resumed.stderr).toContain(
      `lock lost: this host no longer holds lock '${h.lock}' (held by next.example.com)`,
    );
    expect(resumed.stdout).not.toContain('update finished');
    expect(await stepsOf(h)).toEqual(['needs_update', 'needs_reboot']);
    expect(await b.holderOf(h.lock)).toBe('next.example.com');
    expect(await readState(h)).toMatchObject({ step: 'post_update', status: 'failed' });
  });

  it('a reboot command that returns without rebooting: the run in the same boot refuses to go on, keeping the lock', async () => {
    const h = await newHost({ rebootHappens: false });
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('needs_reboot.d', '10-kernel', 'exit 1');
    await h.hook('post_update.d', '10-check');
    expect((await update(h)).code).toBe(0);
    for (const args of [['--resume'], []]) {
      const again = await update(h, ...args);
      expect(again.code).toBe(2);
      expect(again.stderr).toContain('the reboot this run asked for has not happened');
    }
    expect(await stepsOf(h)).toEqual(['needs_update', 'needs_reboot']);
    expect(await b.holderOf(h.lock)).toBe(h.name);
    // the operator decides to go on without the reboot
    const retry = await update(h, '--retry');
    expect(retry.code).toBe(0);
    expect(await stepsOf(h)).toEqual(['needs_update', 'needs_reboot', 'post_update']);
    expect(await b.holderOf(h.lock)).toBeNull();
  });

  it('SIGTERM during a reboot command that never reboots: the resume in the same boot refuses', async () => {
    const h = await newHost({ reboot: 'hangs', rebootHappens: false });
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('needs_reboot.d', '10-kernel', 'exit 1');
    await h.hook('post_update.d', '10-check');
    const run = await startCli(['update', '--config', h.config]);
    await waitFor('the reboot command', async () => (await h.rebootCount()) === 1);
    run.child.kill('SIGTERM');
    expect((await run.done).code).toBe(0);
    const resumed = await update(h, '--resume');
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toContain('has not happened');
    expect(await stepsOf(h)).toEqual(['needs_update', 'needs_reboot']);
    expect(await b.holderOf(h.lock)).toBe(h.name);
  });

  it('a state file that cannot be written takes the failure path: the lock is kept and said so', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    // From here the state file cannot be replaced: a directory stands in its place.
    await h.hook(
      'pre_update.d',
      '10-break-state',
      'rm -f "$KEYHOLDER_STATE_DIR/update-state.json" && mkdir "$KEYHOLDER_STATE_DIR/update-state.json"',
    );
    await h.hook('update.d', '10-never');
    const r = await update(h);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot write state file');
    expect(r.stderr).toContain(`keeping lock '${h.lock}'`);
    expect(await hooksOf(h)).toEqual(['10-pending', '10-break-state']);
    expect(await b.holderOf(h.lock)).toBe(h.name);
    // the run lock was given back: the next run fails on the state, not on a run that is gone
    const next = await update(h);
    expect(next.code).toBe(2);
    expect(next.stderr).not.toContain('another keyholder update is running');
    expect(next.stderr).toContain('state file');
  });

  it('--dry-run shows the plan and does nothing', async () => {
    const h = await newHost();
    await h.hook('needs_update.d', '10-pending', 'exit 1');
    await h.hook('update.d', '10-apply');
    const r = await update(h, '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('dry run: nothing is executed');
    expect(r.stdout).toMatch(/needs_update: .*needs_update\.d: 10-pending/);
    expect(r.stdout).toMatch(/ update: .*update\.d: 10-apply/);
    expect(r.stdout).toMatch(/pre_update: .*\(no hooks\)/);
    expect(r.stdout).toContain(`release: release '${h.lock}'`);
    expect(await h.marks()).toEqual([]);
    expect(await b.holderOf(h.lock)).toBeUndefined();
  });
});

describe('keyholder update --resume at boot', () => {
  it('without an interrupted update exits 0 without needing the server or certificates', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-resume-'));
    const config = path.join(dir, 'client.yaml');
    await writeFile(
      config,
      `url: https://127.0.0.1:1\ncert: ${dir}/missing.crt\nkey: ${dir}/missing.key\nupdate:\n  lock: l\n  stateDir: ${dir}/state\n`,
    );
    const r = await runCli(['update', '--resume', '--config', config]);
    expect([r.code, r.stderr]).toEqual([0, '']);
    expect(r.stdout).toContain('no interrupted update to resume');
    // the same config without --resume does need them
    const run = await runCli(['update', '--config', config]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`cannot read client certificate ${dir}/missing.crt`);
    expect(await readLines(path.join(dir, 'state', 'update-state.json'))).toEqual([]);
    // nor does it need a config file at all
    const bare = await runCli(['update', '--resume', '--config', `${dir}/missing.yaml`, '--state-dir', dir]);
    expect([bare.code, bare.stderr]).toEqual([0, '']);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('usage errors', () => {
  it('exit 2 ("needs fixing"), never 1 ("try again later")', async () => {
    expect((await runCli(['lock', 'acquire'])).code).toBe(2);
    expect((await runCli(['update', '--wait', 'soon'])).code).toBe(2);
    expect((await runCli(['update', '--no-such-option'])).code).toBe(2);
    expect((await runCli(['--help'])).code).toBe(0);
  });
});

/** Running, as opposed to gone or a zombie nobody reaped yet (a container's init may not). */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}
