// Builds the client-only keyholder for hosts that have nothing but Node 20: one bundled file
// (no node_modules, no native modules), plus a package.json so that `npm pack` of the output
// directory gives a tarball `npm install -g` accepts. Run as `npm run build:client`.
//
//   dist/keyholder-client/
//     keyholder.cjs        the client (lock + update commands), executable
//     package.json         name keyholder-client, bin "keyholder", no dependencies
//     README.md            docs/client.md
//     THIRD-PARTY-LICENSES the licences of the bundled libraries
//     contrib/             systemd units, example hooks and the example client config
import { copyFile, cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bundleClient, writeNotices } from '../client/bundle.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { outdir: { type: 'string' } } });
const outdir = path.resolve(values.outdir ?? path.join(root, 'dist', 'keyholder-client'));
const pkg = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8'));

await rm(outdir, { recursive: true, force: true });
await mkdir(path.join(outdir, 'contrib'), { recursive: true });

const bundle = path.join(outdir, 'keyholder.cjs');
// the client package's commands under the name `keyholder`, with shell completion
const packages = await bundleClient({
  entry: path.join(root, 'src/cli/client-main.ts'),
  outfile: bundle,
  version: pkg.version,
});
// The bundle carries third-party code: ship its licences with it.
await writeNotices(path.join(outdir, 'THIRD-PARTY-LICENSES'), packages, path.join(root, 'node_modules'));

await writeFile(
  path.join(outdir, 'package.json'),
  `${JSON.stringify(
    {
      name: 'keyholder-client',
      version: pkg.version,
      description:
        'keyholder client: lock commands and the unattended update workflow (Foreman DLM compatible)',
      license: pkg.license,
      bin: { keyholder: 'keyholder.cjs' },
      engines: { node: '>=20' },
      files: ['keyholder.cjs', 'README.md', 'THIRD-PARTY-LICENSES', 'contrib'],
    },
    null,
    2,
  )}\n`,
);
await copyFile(path.join(root, 'docs/client.md'), path.join(outdir, 'README.md'));
for (const entry of ['systemd', 'hooks', 'client.example.yaml']) {
  await cp(path.join(root, 'contrib', entry), path.join(outdir, 'contrib', entry), { recursive: true });
}
process.stdout.write(
  `built ${path.relative(process.cwd(), bundle) || bundle} (${packages.length} bundled packages)\n`,
);
