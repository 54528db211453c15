// One-file bundles of the client, shared by the package's own executable (build-bin.mjs) and
// the root's single-file client (contrib/build-client.mjs): esbuild with the workspaces'
// sources, and the licences of the libraries a bundle carries.
import { build } from 'esbuild';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Bundles `entry` into `outfile` (CommonJS, so it also runs copied somewhere without a
 * package.json that says "module"), executable. Returns the npm packages bundled in.
 */
export async function bundleClient({ entry, outfile, version }) {
  const result = await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // keyholder-protocol and keyholder-client from their sources: no build order between workspaces
    conditions: ['keyholder-source'],
    define: { KEYHOLDER_VERSION: JSON.stringify(version) },
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  });
  await chmod(outfile, 0o755);
  const packages = new Set();
  for (const input of Object.keys(result.metafile.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input);
    if (m) packages.add(m[1]);
  }
  return [...packages].sort();
}

/** THIRD-PARTY-LICENSES for a bundle: each bundled package's licence, read from node_modules. */
export async function writeNotices(file, packages, nodeModules) {
  const notices = [];
  for (const name of packages) {
    const dir = path.join(nodeModules, name);
    const meta = JSON.parse(await readFile(path.join(dir, 'package.json'), 'utf8'));
    const licence = await firstExisting(dir, [
      'LICENSE',
      'LICENSE.md',
      'LICENSE.txt',
      'license',
      'license.md',
    ]);
    notices.push(`${name}@${meta.version} (${meta.license ?? 'see below'})\n\n${licence ?? ''}`.trim());
  }
  await writeFile(file, `${notices.join(`\n\n${'-'.repeat(72)}\n\n`)}\n`);
}

async function firstExisting(dir, names) {
  for (const name of names) {
    try {
      return await readFile(path.join(dir, name), 'utf8');
    } catch {
      // try the next spelling
    }
  }
  return undefined;
}
