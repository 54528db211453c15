// The client as it ships: built by contrib/build-client.mjs (what `npm run build:client` runs)
// into a temporary directory, once per test file. Tests run this one file with plain `node`,
// which proves the bundle works with nothing but Node and is faster than compiling per process.
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let outdir: string | undefined;
let built: Promise<string> | undefined;

/** Path of the bundled client (keyholder.cjs). */
export function clientBundle(): Promise<string> {
  built ??= (async () => {
    outdir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-client-build-'));
    await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'contrib/build-client.mjs'), '--outdir', outdir],
      {
        cwd: ROOT,
      },
    );
    return path.join(outdir, 'keyholder.cjs');
  })();
  return built;
}

/** For a test file's afterAll: removes the build. */
export async function removeClientBundle(): Promise<void> {
  if (outdir) await rm(outdir, { recursive: true, force: true });
  outdir = undefined;
  built = undefined;
}
