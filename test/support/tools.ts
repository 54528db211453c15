// Debian tools the packaging tests drive (systemd-analyze, buildah, dpkg-deb, promtool …).
// Locally a missing tool skips its tests; in CI (CI=true) that is a failure, since .ci/run
// installs them.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';

export function haveTool(command: string, debianPackage: string): boolean {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0;
  if (!found && process.env.CI) {
    throw new Error(`${command} is missing (CI installs the Debian package ${debianPackage})`);
  }
  return found;
}

/** Runs a command to its end; its output as text. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; input?: string } = {},
) {
  const result: SpawnSyncReturns<string> = spawnSync(command, args, {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    ...options,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
