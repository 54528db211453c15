// The folder boundaries of eslint.config.js (DESIGN.md "Layout"), checked with ESLint itself on
// imports written into files of each folder: every forbidden direction is reported, and the
// allowed ones next to it are not, so a rule that matched nothing (or everything) fails here.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let eslint: ESLint;

/** The no-restricted-imports messages for one import line in a file at `file` (it need not exist). */
async function boundaryErrors(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from '${source}';\nexport const y = x;\n`, {
    filePath: path.join(ROOT, file),
  });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

beforeAll(() => {
  eslint = new ESLint({ cwd: ROOT });
});

describe('import boundaries', () => {
  it.each([
    ['src/lock/probe.ts', '../store/store.js', /src\/lock is pure/],
    ['src/lock/probe.ts', '../service/locks.js', /src\/lock is pure/],
    ['src/lock/probe.ts', '../http/render.js', /src\/lock is pure/],
    ['src/store/probe.ts', '../http/app.js', /never imports src\/http or src\/service/],
    ['src/store/sqlite/probe.ts', '../../service/locks.js', /never imports src\/http or src\/service/],
    ['src/http/probe.ts', '../cli/server.js', /Nothing imports src\/cli/],
    ['src/store/postgres/probe.ts', '../../cli/backup.js', /Nothing imports src\/cli/],
    ['src/lock/probe.ts', '../cli/main.js', /Nothing imports src\/cli/],
    ['bench/probe.ts', '../src/cli/main.js', /Nothing imports src\/cli/],
    ['src/service/probe.ts', 'keyholder-client', /only from src\/cli/],
    ['client/src/probe.ts', '../../src/errors.js', /never the server/],
    ['client/src/commands/probe.ts', '../../../src/lock/rules.js', /never the server/],
    ['protocol/src/probe.ts', 'zod', /dependency-free/],
    ['protocol/src/probe.ts', '../../src/errors.js', /dependency-free/],
  ])('%s may not import %s', async (file, source, why) => {
    expect(await boundaryErrors(file, source)).toContainEqual(expect.stringMatching(why));
  });

  it.each([
    ['src/lock/probe.ts', './types.js'],
    ['src/lock/probe.ts', '../errors.js'],
    ['src/lock/probe.ts', 'keyholder-protocol'],
    ['src/lock/probe.ts', 'luxon'],
    ['src/store/sqlite/probe.ts', '../../lock/rules.js'],
    ['src/http/probe.ts', '../service/locks.js'],
    ['src/cli/probe.ts', './server.js'],
    ['src/cli/probe.ts', 'keyholder-client'],
    ['client/src/commands/probe.ts', '../config.js'],
    ['client/src/probe.ts', 'keyholder-protocol'],
    ['client/src/probe.ts', 'commander'],
    ['protocol/src/probe.ts', './wait.js'],
    ['test/unit/probe.ts', '../../src/cli/completion.js'],
  ])('%s may import %s', async (file, source) => {
    expect(await boundaryErrors(file, source)).toEqual([]);
  });
});
