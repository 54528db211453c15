// Two hosts sharing one update lock, end to end: separate certificates, state and hook
// directories, the real client processes, and the server (a real keyholder, and the foreman_dlm
// stub). Host B must wait while A updates, across A's reboot, and start only once A has released;
// a broken update on A must keep B from ever starting.
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, isWaiting, startBackend, type Backend } from './support/backends.js';
import { removeClientBundle } from './support/bundle.js';
import { runCli, startCli, waitFor } from './support/run-cli.js';
import { makeSimHost, readLines, waitForFile, type SimHost } from './support/sim-host.js';

afterAll(removeClientBundle);

describe.each(BACKENDS)('two hosts updating under one lock on %s', (kind) => {
  let b: Backend;
  let dir: string;
  let n = 0;

  beforeAll(async () => {
    b = await startBackend(kind);
    dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-two-hosts-'));
  });
  afterAll(async () => {
    await b?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function cluster() {
    const id = ++n;
    const lock = `cluster-${id}`;
    const root = path.join(dir, `cluster-${id}`);
    const timeline = path.join(root, 'timeline.log');
    const host = async (
      name: string,
      opts: { reboot?: 'hangs'; acquire?: { timeout?: number; wait?: number } },
    ) =>
      makeSimHost(root, {
        url: b.url,
        lock,
        files: await b.host(`${name}-${id}.example.com`),
        cacert: b.caFile,
        timeline,
        ...opts,
      });
    return { lock, root, timeline, host };
  }
  const update = (h: SimHost, ...args: string[]) => startCli(['update', '--config', h.config, ...args]);

  it('B waits while A updates and reboots, and proceeds once A has released', async () => {
    const c = await cluster();
    const proceed = path.join(c.root, 'a-may-finish-update');
    // B asks keyholder to block (?wait=); a server that answers at once gets polled instead.
    const a = await c.host('a', { reboot: 'hangs' });
    const bHost = await c.host('b', { acquire: { timeout: 60, wait: 5 } });
    for (const h of [a, bHost]) {
      await h.hook('needs_update.d', '10-pending', 'exit 1');
      await h.hook('post_update.d', '10-healthy');
    }
    await a.hook('update.d', '10-apply', waitForFile(proceed));
    await a.hook('needs_reboot.d', '10-kernel', 'exit 1');
    await bHost.hook('update.d', '10-apply');
    await bHost.hook('needs_reboot.d', '10-kernel', 'exit 0');
    const hookOf = {
      needs_update: '10-pending',
      update: '10-apply',
      needs_reboot: '10-kernel',
      post_update: '10-healthy',
    };
    const line = (h: SimHost, step: keyof typeof hookOf) => `${h.name} ${step} ${hookOf[step]}`;

    const runA = await update(a);
    await waitFor('A inside update.d', async () => (await readLines(c.timeline)).includes(line(a, 'update')));
    const runB = await update(bHost);
    await waitFor('B to wait for the lock', () => isWaiting(b, c.lock, bHost.name));
    expect(await b.holderOf(c.lock)).toBe(a.name);

    // A finishes its update and reboots; the test plays the shutdown and stops A's process.
    await writeFile(proceed, '');
    await waitFor('A to reboot', () => existsSync(path.join(a.root, 'reboots.log')));
    runA.child.kill('SIGTERM');
    const ranA = await runA.done;
    expect(ranA.code).toBe(0);
    expect(ranA.stdout).toContain('reboot requested');
    expect(JSON.parse(await readFile(a.stateFile, 'utf8'))).toMatchObject({
      step: 'post_update',
      status: 'rebooting',
    });

    // "After the boot": the lock is still A's and B is still waiting for it.
    const answeredBefore = await b.acquireAttempts(c.lock, bHost.name);
    await waitFor(
      'B to ask again, or still be queued, while A is down',
      async () =>
        (await b.acquireAttempts(c.lock, bHost.name)) > answeredBefore ||
        (await b.isQueued(c.lock, bHost.name)),
    );
    expect(await b.holderOf(c.lock)).toBe(a.name);
    expect(runB.child.exitCode).toBeNull();
    expect(await readLines(c.timeline)).not.toContain(line(bHost, 'update'));

    const resumed = await runCli(['update', '--resume', '--config', a.config]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('resuming after the reboot');

    const ranB = await runB.done;
    expect(ranB.stderr).toBe('');
    expect(ranB.code).toBe(0);
    expect(await b.holderOf(c.lock)).toBeNull();
    // B's update began after A's post_update.d, never during A's update
    expect(await readLines(c.timeline)).toEqual([
      line(a, 'needs_update'),
      line(a, 'update'),
      line(bHost, 'needs_update'),
      line(a, 'needs_reboot'),
      line(a, 'post_update'),
      line(bHost, 'update'),
      line(bHost, 'needs_reboot'),
      line(bHost, 'post_update'),
    ]);
    if (b.stub)
      expect(b.stub.requests.some((q) => q.host === bHost.name && q.url.endsWith('/lock?wait=5'))).toBe(true);
  });

  it('a failing update.d hook on A keeps the lock, and B never starts its update', async () => {
    const c = await cluster();
    const a = await c.host('a', {});
    const bHost = await c.host('b', { acquire: { timeout: 2 } });
    for (const h of [a, bHost]) {
      await h.hook('needs_update.d', '10-pending', 'exit 1');
      await h.hook('pre_update.d', '10-drain');
      await h.hook('post_update.d', '10-healthy');
    }
    await a.hook(
      'update.d',
      '10-apply',
      'echo "Sub-process /usr/bin/dpkg returned an error code (1)"; exit 100',
    );
    await bHost.hook('update.d', '10-apply');

    const ranA = await (await update(a)).done;
    expect(ranA.code).toBe(2);
    expect(ranA.stderr).toContain('hook update.d/10-apply failed with exit code 100');
    expect(ranA.stderr).toContain('Sub-process /usr/bin/dpkg returned an error code (1)');
    expect(await b.holderOf(c.lock)).toBe(a.name);

    const ranB = await (await update(bHost)).done;
    expect(ranB.code).toBe(1);
    expect(ranB.stderr).toContain(`cannot acquire lock '${c.lock}': held by ${a.name}`);
    expect(await b.holderOf(c.lock)).toBe(a.name);
    expect(await readLines(c.timeline)).toEqual([
      `${a.name} needs_update 10-pending`,
      `${a.name} pre_update 10-drain`,
      `${a.name} update 10-apply`,
      `${bHost.name} needs_update 10-pending`,
    ]);
  });
});
