// A simulated host for `keyholder update`: its own certificate, config file, hook directories
// whose scripts append to a marker file, and a state directory. The reboot command records the
// reboot and returns, which ends the run as a real reboot would; the test then runs --resume.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { HostFiles } from './pki.js';

export type HookDirName = 'needs_update.d' | 'pre_update.d' | 'update.d' | 'needs_reboot.d' | 'post_update.d';

export interface SimHost {
  name: string;
  root: string;
  config: string;
  hooksDir: string;
  stateDir: string;
  markers: string;
  reboots: string;
  /** adds an executable hook whose body runs after it has recorded itself in the marker file */
  hook(dir: HookDirName, file: string, body?: string): Promise<void>;
  /** lines of the marker file: "<step> <hook> <lock> <host>" */
  marks(): Promise<string[]>;
  rebootCount(): Promise<number>;
}

export interface SimHostOptions {
  url: string;
  lock: string;
  files: HostFiles;
  cacert: string;
  acquire?: { timeout?: number; wait?: number; minDelay?: number; maxDelay?: number };
  hookTimeout?: number;
}

export async function makeSimHost(parent: string, opts: SimHostOptions): Promise<SimHost> {
  const root = path.join(parent, opts.files.name);
  const hooksDir = path.join(root, 'hooks');
  const stateDir = path.join(root, 'state');
  const markers = path.join(root, 'markers.log');
  const reboots = path.join(root, 'reboots.log');
  await mkdir(hooksDir, { recursive: true });
  const rebootScript = path.join(root, 'fake-reboot');
  await writeFile(
    rebootScript,
    `#!/bin/sh\necho "reboot $KEYHOLDER_LOCK" >> '${reboots}'\necho 'system is going down'\n`,
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
      '  acquire:',
      ...Object.entries(acquire).map(([k, v]) => `    ${k}: ${v}`),
      '',
    ].join('\n'),
  );
  const readLines = async (file: string) =>
    (await readFile(file, 'utf8').catch(() => '')).split('\n').filter((l) => l.length > 0);
  return {
    name: opts.files.name,
    root,
    config,
    hooksDir,
    stateDir,
    markers,
    reboots,
    async hook(dir, file, body = 'exit 0') {
      await mkdir(path.join(hooksDir, dir), { recursive: true });
      const script = path.join(hooksDir, dir, file);
      await writeFile(
        script,
        `#!/bin/sh\necho "$KEYHOLDER_STEP ${file} $KEYHOLDER_LOCK $KEYHOLDER_HOST" >> '${markers}'\n${body}\n`,
      );
      await chmod(script, 0o755);
    },
    marks: () => readLines(markers),
    rebootCount: async () => (await readLines(reboots)).length,
  };
}
