// Colour only when a person is looking: on a terminal (here a real pseudo-terminal made by
// util-linux `script`), never in a pipe, a log or with NO_COLOR.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { clientBundle, removeClientBundle } from './support/bundle.js';
import { runCli } from './support/run-cli.js';

afterAll(removeClientBundle);

const ESC = '\u001b[';
const hasScript = existsSync('/usr/bin/script');

describe('terminal output', () => {
  it('is plain text in a pipe', async () => {
    const r = await runCli(
      ['lock', 'acquire', 'a/b', '--url', 'https://127.0.0.1:1', '--cert', 'x', '--key', 'y'],
      {
        env: { NO_COLOR: undefined, TERM: 'xterm' },
      },
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('keyholder: lock name "a/b" must not contain /\n');
  });

  it.runIf(hasScript)('is coloured on a terminal unless NO_COLOR is set', async () => {
    const bundle = await clientBundle();
    const onTty = (env: NodeJS.ProcessEnv) =>
      execFileSync(
        '/usr/bin/script',
        ['-qec', `${process.execPath} ${bundle} lock acquire a/b --url https://127.0.0.1:1`, '/dev/null'],
        {
          encoding: 'utf8',
          env: { ...process.env, TERM: 'xterm', ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      ).toString();
    const run = (env: NodeJS.ProcessEnv) => {
      try {
        return onTty(env);
      } catch (err) {
        // exit code 2 is the expected outcome; the terminal output is what matters
        return String((err as { stdout?: string }).stdout ?? '');
      }
    };
    const coloured = run({ NO_COLOR: undefined });
    expect(coloured).toContain(`${ESC}31mkeyholder: lock name "a/b" must not contain /`);
    const plain = run({ NO_COLOR: '1' });
    expect(plain).toContain('keyholder: lock name "a/b" must not contain /');
    expect(plain).not.toContain(ESC);
  });
});
