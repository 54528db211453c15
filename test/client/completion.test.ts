// `keyholder completion bash`, loaded into a real bash and asked what it completes.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeClientBundle } from './support/bundle.js';
import { runCli } from './support/run-cli.js';

afterAll(removeClientBundle);

describe('bash completion', () => {
  let script: string;
  beforeAll(async () => {
    const r = await runCli(['completion', 'bash']);
    expect(r.code).toBe(0);
    script = r.stdout;
  });

  const complete = (...words: string[]): string[] =>
    execFileSync(
      'bash',
      [
        '-c',
        `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; ` +
          `_keyholder_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    )
      .split('\n')
      .filter(Boolean);

  it('completes commands at every level and the options of the command typed so far', () => {
    expect(complete('keyholder', 'lo')).toEqual(['lock', 'locks']);
    expect(complete('keyholder', 'locks', 're')).toEqual(['release']);
    expect(complete('keyholder', 'hosts', '')).toEqual(['list', 'show', 'bar', 'unbar', 'delete', '--help']);
    expect(complete('keyholder', 'lock', 'exec', 'db', '--w')).toEqual(['--wait']);
    expect(complete('keyholder', 'update', '--re')).toEqual(['--resume', '--retry']);
  });

  it('refuses a shell it has no script for', async () => {
    expect((await runCli(['completion', 'powershell'])).code).toBe(2);
  });
});
