// Builds the two Debian packages from what `npm run build` and `npm run build:client` made
// (docs/debian.md). Run as `npm run package:deb`, which builds first.
//
//   keyholder_<version>_<arch>.deb           the server: /usr/lib/keyholder (dist/ with the web UI,
//                                            production node_modules), /usr/bin/keyholder, the unit,
//                                            /etc/keyholder/keyholder.yaml. Architecture-specific:
//                                            better-sqlite3 is a native module, compiled for this
//                                            CPU and for the ABI of the Node.js major running this
//                                            script, which is why it depends on exactly that major.
//   keyholder-client_<version>_all.deb       the single-file client, its systemd units, and
//                                            /etc/keyholder/client.yaml. Plain JavaScript: any arch.
//
// Options: --outdir DIR (default dist/deb), --version V (default package.json's; repeatable: the
// tests build an older version to upgrade from, out of the same staging directory), --compression xz|gzip|zstd|none (default xz), --client DIR (the
// output of build:client, default dist/keyholder-client).
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  renameSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    outdir: { type: 'string' },
    version: { type: 'string', multiple: true },
    compression: { type: 'string', default: 'xz' },
    client: { type: 'string' },
  },
});
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const outdir = path.resolve(values.outdir ?? path.join(root, 'dist', 'deb'));
const clientDir = path.resolve(values.client ?? path.join(root, 'dist', 'keyholder-client'));
const versions = values.version ?? [pkg.version];
versions.forEach(debianVersion);
const nodeMajor = Number(process.versions.node.split('.')[0]);
const ARCHES = { x64: 'amd64', arm64: 'arm64' };
const arch = ARCHES[process.arch];
if (!arch) fail(`no Debian architecture known for ${process.arch}`);
for (const [what, where] of [
  ['the server (npm run build)', 'dist/cli/main.js'],
  ['the web UI (npm run build)', 'dist/ui'],
  ['the client (npm run build:client)', path.join(clientDir, 'keyholder.cjs')],
]) {
  if (!existsSync(path.resolve(root, where))) fail(`${what} is not built: ${where} is missing`);
}

const stage = path.join(outdir, 'stage');
rmSync(stage, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });
const packages = [
  stageServer(path.join(stage, 'keyholder')),
  stageClient(path.join(stage, 'keyholder-client')),
];
const built = versions.flatMap((version) => packages.map((build) => build(version)));
rmSync(stage, { recursive: true, force: true });
process.stdout.write(`${built.map((f) => path.relative(process.cwd(), f) || f).join('\n')}\n`);

/** Fills the staging directory; returns the function that builds the package of one version. */
function stageServer(dir) {
  const lib = path.join(dir, 'usr/lib/keyholder');
  mkdirSync(lib, { recursive: true });
  cpSync(path.join(root, 'dist'), path.join(lib, 'dist'), {
    recursive: true,
    // the client and earlier packages are build outputs beside the server, not part of it
    filter: (src) => !['keyholder-client', 'deb'].includes(path.relative(path.join(root, 'dist'), src)),
  });
  chmodSync(path.join(lib, 'dist/cli/main.js'), 0o755);
  copyProductionModules(path.join(lib, 'node_modules'));

  script(
    dir,
    'usr/bin/keyholder',
    '#!/bin/sh\n# keyholder from the Debian package, on the Node.js runtime the package depends on (not\n' +
      '# whichever `node` comes first in PATH: better-sqlite3 is built for that runtime only).\n' +
      'exec /usr/bin/node /usr/lib/keyholder/dist/cli/main.js "$@"\n',
  );
  file(
    dir,
    'lib/systemd/system/keyholder.service',
    readFileSync(path.join(root, 'contrib/systemd/keyholder.service')),
  );
  file(dir, 'etc/keyholder/keyholder.yaml', readFileSync(path.join(root, 'contrib/server/keyholder.yaml')));
  mkdirSync(path.join(dir, 'etc/keyholder/tls'), { recursive: true });
  docs(dir, 'keyholder', [['README.md', 'README.md']]);
  manPages(dir);

  const control = {
    Package: 'keyholder',
    Architecture: arch,
    // the runtime major better-sqlite3 was compiled for (NODE_MODULE_VERSION); see docs/debian.md
    Depends: `nodejs (>= ${nodeMajor}), nodejs (<< ${nodeMajor + 1}), libc6 (>= 2.28), libstdc++6, passwd, util-linux`,
    // the server's CLI has the client's commands too, under the same /usr/bin/keyholder
    Provides: 'keyholder-client',
    Conflicts: 'keyholder-client',
    Replaces: 'keyholder-client',
    Description:
      'distributed lock manager for server fleets\n' +
      ' Foreman DLM compatible lock service (/api/dlmlocks), FleetLock, semaphores and fencing\n' +
      ' tokens, on SQLite or PostgreSQL, with a web UI. This package runs it as the systemd\n' +
      ' service keyholder.service.',
    conffiles: ['/etc/keyholder/keyholder.yaml'],
    scripts: 'keyholder',
  };
  return (version) => {
    // src/version.ts reads the version from here, so `keyholder --version` says the package's
    writeFileSync(path.join(lib, 'package.json'), `${JSON.stringify({ ...pkg, version }, null, 2)}\n`);
    return debian(dir, version, control);
  };
}

function stageClient(dir) {
  const client = clientDir;
  const lib = path.join(dir, 'usr/lib/keyholder-client');
  mkdirSync(lib, { recursive: true });
  copyFileSync(path.join(client, 'keyholder.cjs'), path.join(lib, 'keyholder.cjs'));
  chmodSync(path.join(lib, 'keyholder.cjs'), 0o755);
  script(
    dir,
    'usr/bin/keyholder',
    '#!/bin/sh\n# keyholder-client from the Debian package, on the Node.js runtime the package depends on.\n' +
      'exec /usr/bin/node /usr/lib/keyholder-client/keyholder.cjs "$@"\n',
  );
  // the units name the npm install's /usr/local/bin/keyholder; the package's is /usr/bin/keyholder
  for (const unit of ['keyholder-update.service', 'keyholder-update.timer', 'keyholder-resume.service']) {
    const text = readFileSync(path.join(root, 'contrib/systemd', unit), 'utf8');
    file(
      dir,
      `lib/systemd/system/${unit}`,
      text.replaceAll('/usr/local/bin/keyholder', '/usr/bin/keyholder'),
    );
  }
  file(dir, 'etc/keyholder/client.yaml', readFileSync(path.join(root, 'contrib/client.example.yaml')));
  docs(dir, 'keyholder-client', [
    ['README.md', 'docs/client.md'],
    ['THIRD-PARTY-LICENSES', path.join(clientDir, 'THIRD-PARTY-LICENSES')],
  ]);
  cpSync(path.join(root, 'contrib/hooks'), path.join(dir, 'usr/share/doc/keyholder-client/examples/hooks'), {
    recursive: true,
  });

  const control = {
    Package: 'keyholder-client',
    Architecture: 'all',
    Depends: 'nodejs (>= 20)',
    Conflicts: 'keyholder',
    Description:
      'keyholder client: cluster-wide locks and unattended updates for hosts\n' +
      ' The `keyholder lock` commands and the `keyholder update` workflow (hooks, one host at a\n' +
      ' time, reboot, release), with its systemd timer. Talks to a keyholder server or to Foreman\n' +
      ' with the foreman_dlm plugin.',
    conffiles: ['/etc/keyholder/client.yaml'],
    scripts: 'keyholder-client',
  };
  return (version) => debian(dir, version, control);
}

/** DEBIAN/: control, conffiles, maintainer scripts from contrib/deb/<name>/; then dpkg-deb. */
function debian(dir, npmVersion, { conffiles, scripts, ...fields }) {
  const version = debianVersion(npmVersion);
  const control = {
    Package: fields.Package,
    Version: version,
    Architecture: fields.Architecture,
    Maintainer: 'keyholder maintainers <keyholder@localhost>',
    'Installed-Size': String(diskUsageKiB(dir)),
    Section: 'net',
    Priority: 'optional',
    ...fields,
  };
  const debianDir = path.join(dir, 'DEBIAN');
  mkdirSync(debianDir, { recursive: true });
  writeFileSync(
    path.join(debianDir, 'control'),
    `${Object.entries(control)
      .map(([key, value]) => `${key}: ${value}`)
      .join('\n')}\n`,
  );
  writeFileSync(path.join(debianDir, 'conffiles'), `${conffiles.join('\n')}\n`);
  const scriptDir = path.join(root, 'contrib/deb', scripts);
  for (const name of readdirSync(scriptDir)) {
    copyFileSync(path.join(scriptDir, name), path.join(debianDir, name));
    chmodSync(path.join(debianDir, name), 0o755);
  }
  const deb = path.join(outdir, `${fields.Package}_${version}_${fields.Architecture}.deb`);
  const compression = values.compression;
  execFileSync(
    'dpkg-deb',
    [
      '--root-owner-group',
      `-Z${compression}`,
      ...(compression === 'none' ? [] : ['-z6']),
      '--build',
      dir,
      deb,
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  return deb;
}

/**
 * The server's production dependencies (npm's own list, not the web UI's: that is bundled into
 * dist/ui), as installed in node_modules, i.e. built for this Node.js. Hard links where the
 * staging directory is on the same file system: copying ~6000 files is most of a build's time.
 */
function copyProductionModules(target) {
  const list = execFileSync('npm', ['ls', '--omit=dev', '--all', '--parseable', '--workspaces=false'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 16 * 1024 * 1024,
  });
  const modules = path.join(root, 'node_modules');
  // top-level packages only: each carries its nested node_modules with it
  const tops = new Set();
  for (const line of list.split('\n')) {
    const rel = path.relative(modules, line.trim());
    if (!line.trim() || rel === '' || rel.startsWith('..')) continue;
    const parts = rel.split(path.sep);
    tops.add(parts[0].startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]);
  }
  for (const name of [...tops].sort()) {
    const to = path.join(target, name);
    mkdirSync(path.dirname(to), { recursive: true });
    try {
      execFileSync('cp', ['-al', path.join(modules, name), to], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      rmSync(to, { recursive: true, force: true });
      execFileSync('cp', ['-a', path.join(modules, name), to]);
    }
  }
  // better-sqlite3 needs its compiled addon, not its C sources and build leftovers (~27 MB)
  const sqlite = path.join(target, 'better-sqlite3');
  const addon = path.join(sqlite, 'build/Release/better_sqlite3.node');
  if (!existsSync(addon)) fail(`${addon} is missing: is better-sqlite3 built (npm ci runs its install)?`);
  const kept = path.join(target, '.better_sqlite3.node');
  renameSync(addon, kept);
  for (const dir of ['deps', 'src', 'build'])
    rmSync(path.join(sqlite, dir), { recursive: true, force: true });
  mkdirSync(path.dirname(addon), { recursive: true });
  renameSync(kept, addon);
  // The server imports the client and protocol workspaces (node_modules has only links to them):
  // their builds (npm run build:workspaces), as real directories.
  for (const [name, dir] of [
    ['keyholder-protocol', 'protocol'],
    ['keyholder-client', 'client'],
  ]) {
    const built = path.join(root, dir, 'dist');
    if (!existsSync(built)) fail(`${built} is missing: run npm run build`);
    rmSync(path.join(target, name), { recursive: true, force: true });
    mkdirSync(path.join(target, name), { recursive: true });
    copyFileSync(path.join(root, dir, 'package.json'), path.join(target, name, 'package.json'));
    execFileSync('cp', ['-a', built, path.join(target, name, 'dist')]);
  }
}

/** The man pages, made from the built CLI's own command tree, gzipped as Debian policy wants. */
function manPages(dir) {
  const made = mkdtempSync(path.join(tmpdir(), 'keyholder-man-'));
  try {
    execFileSync(process.execPath, [path.join(root, 'dist/cli/main.js'), 'man-pages', '--output', made]);
    const man1 = path.join(dir, 'usr/share/man/man1');
    mkdirSync(man1, { recursive: true });
    for (const page of readdirSync(made).filter((f) => f.endsWith('.1'))) {
      writeFileSync(
        path.join(man1, `${page}.gz`),
        gzipSync(readFileSync(path.join(made, page)), { level: 9 }),
      );
    }
  } finally {
    rmSync(made, { recursive: true, force: true });
  }
}

function docs(dir, name, files) {
  const doc = path.join(dir, 'usr/share/doc', name);
  mkdirSync(doc, { recursive: true });
  for (const [to, from] of [...files, ['CHANGELOG.md', 'CHANGELOG.md']]) {
    copyFileSync(path.resolve(root, from), path.join(doc, to));
  }
  writeFileSync(
    path.join(doc, 'copyright'),
    'Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n' +
      `Upstream-Name: keyholder\n\nFiles: *\nLicense: ${pkg.license}\n` +
      (name === 'keyholder'
        ? '\nFiles: usr/lib/keyholder/node_modules/*\nLicense: see the licence file of each package\n'
        : '\nBundled libraries: see THIRD-PARTY-LICENSES\n'),
  );
}

function file(dir, rel, content) {
  mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  writeFileSync(path.join(dir, rel), content, { mode: 0o644 });
  chmodSync(path.join(dir, rel), 0o644);
}

function script(dir, rel, content) {
  file(dir, rel, content);
  chmodSync(path.join(dir, rel), 0o755);
}

function diskUsageKiB(dir) {
  let bytes = 0;
  const walk = (p) => {
    const st = statSync(p);
    if (st.isDirectory()) readdirSync(p).forEach((e) => walk(path.join(p, e)));
    else bytes += st.size;
  };
  walk(dir);
  return Math.ceil(bytes / 1024);
}

/** npm's 1.2.0-rc.1 sorts before 1.2.0; in Debian that takes a tilde: 1.2.0~rc.1. */
function debianVersion(v) {
  if (!/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(v)) fail(`not a version: ${v}`);
  return v.replace('-', '~');
}

function fail(message) {
  process.stderr.write(`package-deb: ${message}\n`);
  process.exit(1);
}
