// The container image for tests: buildah with the vfs storage driver in a storage folder of its
// own under the OS temp folder, keyed by a hash of contrib/container/local-base.sh, so the base
// images (mmdebstrap + Node, the slow part) are made once and reused by later runs.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './tools.js';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));
const BASE_SCRIPT = join(REPO, 'contrib/container/local-base.sh');
export const NODE_MAJOR = '24';
export const BASE = `localhost/keyholder-base:node${NODE_MAJOR}`;
export const BUILD_BASE = `${BASE}-build`;

const key = createHash('sha256')
  .update(readFileSync(BASE_SCRIPT))
  .update(NODE_MAJOR)
  .digest('hex')
  .slice(0, 16);
const storage = join(tmpdir(), `keyholder-image-${key}`);

/** buildah's global options: this storage, the vfs driver (no overlay or fuse needed) */
export const BUILDAH_GLOBAL = [
  '--root',
  join(storage, 'storage'),
  '--runroot',
  join(storage, 'run'),
  '--storage-driver',
  'vfs',
];

export function buildah(args: string[], options: { cwd?: string } = {}) {
  return run('buildah', [...BUILDAH_GLOBAL, ...args], options);
}

function haveImage(name: string): boolean {
  return buildah(['inspect', '--type', 'image', name]).status === 0;
}

/** Makes the base images unless this storage has them already. */
export function ensureBaseImages(): void {
  if (haveImage(BASE) && haveImage(BUILD_BASE)) return;
  const made = run(BASE_SCRIPT, [NODE_MAJOR], {
    env: { ...process.env, BUILDAH: ['buildah', ...BUILDAH_GLOBAL].join(' ') },
  });
  if (made.status !== 0) throw new Error(`local-base.sh failed:\n${made.stdout}\n${made.stderr}`);
}

/** Removes an image built by buildImage (GBs on vfs); the base images stay for the next run. */
export function removeImage(tag: string): void {
  buildah(['rmi', '--force', tag]);
}

/** `buildah build` of the Containerfile on the local bases; returns the build log. */
export function buildImage(tag: string): string {
  const built = buildah(
    [
      'build',
      '--isolation',
      'chroot',
      '--format',
      'docker',
      '--pull-never',
      // vfs stores every layer as a full copy: one new layer per image, no intermediate ones
      '--layers=false',
      // npm's download cache of this machine: the build stage installs from it, not the network
      '--volume',
      `${process.env.HOME ?? '/root'}/.npm:/root/.npm`,
      '--build-arg',
      `BUILD_BASE=${BUILD_BASE}`,
      '--build-arg',
      `RUN_BASE=${BASE}`,
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
