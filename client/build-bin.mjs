// Bundles the keyholder-client executable (src/main.ts) into dist/keyholder-client.cjs: one file
// with its libraries inside, so `npm install -g` of the packed package needs no registry.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleClient, writeNotices } from './bundle.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = JSON.parse(await readFile(path.join(here, 'package.json'), 'utf8'));
const packages = await bundleClient({
  entry: path.join(here, 'src/main.ts'),
  outfile: path.join(here, 'dist', 'keyholder-client.cjs'),
  version: pkg.version,
});
await writeNotices(
  path.join(here, 'dist', 'THIRD-PARTY-LICENSES'),
  packages,
  path.join(here, '..', 'node_modules'),
);
