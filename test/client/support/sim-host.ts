// A simulated host for `keyholder update`: its own certificate, config file, hook directories
// whose scripts record themselves in marker files, and a state directory. Its reboot command
// records the reboot and then either returns (as `systemctl reboot` does) or hangs like a machine
// going down, until the test stops the keyholder process the way the shutdown would.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { HostFiles } from './pki.js';

export type HookDirName = 'needs_update.d' | 'pre_update.d' | 'update.d' | 'needs_reboot.d' | 'post_update.d';

export interface SimHost {
  name: string;
  root: string;
  config: string;
  hooksDir: string;
  stateDir: string;
  stateFile: string;
  /** adds an executable hook whose body runs after it has recorded itself */
  hook(dir: HookDirName, file: string, body?: string): Promise<void>;
  /** lines of this host's marker file: "<step> <hook> <lock> <host>" */
  marks(): Promise<string[]>;
  rebootCount(): Promise<number>;
  /** the file the client reads the boot id from; the fake reboot writes a new id into it */
  bootIdFile: string;
}

export interface SimHostOptions {
  url: string;
  lock: string;
  files: HostFiles;
  cacert: string;
  acquire?: { timeout?: number; wait?: number; minDelay?: number; maxDelay?: number };
  hookTimeout?: number;
  /** a file shared by several hosts: every hook appends "<host> <step> <hook>" */
  timeline?: string;
  /** 'returns' (default): the reboot command exits 0; 'hangs': it sleeps until killed */
  reboot?: 'returns' | 'hangs';
  /** false: the reboot command never reboots (the boot id stays); default true */
  rebootHappens?: boolean;
  releaseTimeout?: number;
  /** extra lines under `update:` in the config file */
  updateConfig?: string[];
}

/** A hook body that waits (bounded) until `file` exists: lets a test hold a host inside a step. */
export function waitForFile(file: string): string {
  return `i=0; while [ ! -e '${file}' ]; do i=$((i+1)); [ $i -gt 1200 ] && exit 9; sleep 0.05; done`;
}

export async function readLines(file: string): Promise<string[]> {
  return (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l.length > 0);
}

export async function makeSimHost(parent: string, opts: SimHostOptions): Promise<SimHost> {
  const root = path.join(parent, opts.files.name);
  const hooksDir = path.join(root, 'hooks');
  const stateDir = path.join(root, 'state');
  const markers = path.join(root, 'markers.log');
  const reboots = path.join(root, 'reboots.log');
  await mkdir(hooksDir, { recursive: true });
  const rebootScript = path.join(root, 'fake-reboot');
  const bootIdFile = path.join(root, 'boot_id');
  await writeFile(bootIdFile, `${randomUUID()}\n`);
  await writeFile(
    rebootScript,
    [
      '#!/bin/sh',
      `echo "reboot $KEYHOLDER_LOCK $KEYHOLDER_STEP" >> '${reboots}'`,
      // the next "boot" has a new id, as the kernel gives it
      opts.rebootHappens === false ? '' : `cat /proc/sys/kernel/random/uuid > '${bootIdFile}'`,
      'echo "system is going down"',
      opts.reboot === 'hangs' ? 'exec sleep 60' : 'exit 0',
      '',
    ].join('\n'),
  );
  await chmod(rebootScript, 0o755);
  const acquire = { timeout: 20, wait: 0, minDelay: 0.2, maxDelay: 1, ...opts.acquire };
  const config = path.join(root, 'client.yaml');
  await writeFile(
    config,
    [
      `url: ${opts.url}`,
      `cert: ${opts.files.cert}`,
      `key: ${opts.files.key}`,
      `cacert: ${opts.cacert}`,
      'update:',
      `  lock: ${JSON.stringify(opts.lock)}`,
      `  hooksDir: ${hooksDir}`,
      `  stateDir: ${stateDir}`,
      `  hookTimeout: ${opts.hookTimeout ?? 30}`,
      `  rebootCommand: [${JSON.stringify(rebootScript)}]`,
      `  releaseTimeout: ${opts.releaseTimeout ?? 10}`,
      `  bootIdFile: ${bootIdFile}`,
      ...(opts.updateConfig ?? []).map((l) => `  ${l}`),
      '  acquire:',
      ...Object.entries(acquire).map(([k, v]) => `    ${k}: ${v}`),
      '',
    ].join('\n'),
  );
  const name = opts.files.name;
  return {
    name,
    root,
    config,
    hooksDir,
    stateDir,
    stateFile: path.join(stateDir, 'update-state.json'),
    async hook(dir, file, body = 'exit 0') {
      await mkdir(path.join(hooksDir, dir), { recursive: true });
      const script = path.join(hooksDir, dir, file);
      const record = [`echo "$KEYHOLDER_STEP ${file} $KEYHOLDER_LOCK $KEYHOLDER_HOST" >> '${markers}'`];
      if (opts.timeline) record.push(`echo "${name} $KEYHOLDER_STEP ${file}" >> '${opts.timeline}'`);
      await writeFile(script, ['#!/bin/sh', ...record, body, ''].join('\n'));
      await chmod(script, 0o755);
    },
    marks: () => readLines(markers),
    rebootCount: async () => (await readLines(reboots)).length,
    bootIdFile,
  };
}
