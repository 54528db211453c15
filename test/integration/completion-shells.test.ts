// `keyholder completion bash|zsh|fish`, each script loaded into the real shell and asked what
// it completes: commands at every level, options of the command typed so far, option values
// (files, choices) and option values skipped when finding the command.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { commandTree } from '../../src/cli/command-tree.js';
import { bashScript } from '../../src/cli/completion-bash.js';
import { fishScript } from '../../src/cli/completion-fish.js';
import { zshScript } from '../../src/cli/completion-zsh.js';
import { buildProgram } from '../../src/cli/program.js';
import { haveTool, run } from '../support/tools.js';

const ZSH_DRIVER = fileURLToPath(new URL('../support/zsh-complete.zsh', import.meta.url));
const tree = commandTree(buildProgram());
let dir: string;
let scripts: string;
beforeAll(() => {
  scripts = mkdtempSync(join(inject('tmpRoot'), 'completion-scripts-'));
  dir = mkdtempSync(join(inject('tmpRoot'), 'completion-'));
  // what file completion should find next to the command line
  writeFileSync(join(dir, 'config.yaml'), '');
  writeFileSync(join(dir, 'cert.pem'), '');
});

function script(name: string, text: string): string {
  const file = join(scripts, name);
  writeFileSync(file, text);
  return file;
}

const lines = (s: string) => s.split('\n').filter(Boolean);

describe('bash completion', () => {
  const complete = (line: string): string[] => {
    const file = script('keyholder.bash', bashScript(tree));
    const r = run(
      'bash',
      [
        '-c',
        `source ${file}; read -ra COMP_WORDS <<< "$1"; [[ $1 == *' ' ]] && COMP_WORDS+=(''); ` +
          `COMP_CWORD=$((\${#COMP_WORDS[@]} - 1)); _keyholder_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
        'driver',
        line,
      ],
      { cwd: dir },
    );
    expect(r.stderr).toBe('');
    return lines(r.stdout).sort();
  };

  it('registers itself and completes commands, options and option values', () => {
    const file = script('keyholder.bash', bashScript(tree));
    expect(run('bash', ['-c', `source ${file}; complete -p keyholder`]).stdout).toBe(
      'complete -o default -F _keyholder_complete keyholder\n',
    );
    expect(complete('keyholder lo')).toEqual(['lock', 'locks']);
    expect(complete('keyholder import-f')).toEqual(['import-foreman']);
    expect(complete('keyholder import-foreman --d')).toEqual(['--data-dir', '--database-url', '--dry-run']);
    expect(complete('keyholder completion ')).toEqual(['--help', 'bash', 'fish', 'zsh']);
    // a file for --config, and the value is not taken for a command
    expect(complete('keyholder user add --config ')).toEqual(['cert.pem', 'config.yaml']);
    expect(complete('keyholder user --config lock ')).toContain('add');
    expect(complete('keyholder lock exec --wait 30 db --w')).toEqual(['--wait']);
  });
});

describe.skipIf(!haveTool('zsh', 'zsh'))('zsh completion', () => {
  it('loads under compinit and completes commands, options and option values', () => {
    const file = script('_keyholder', zshScript(tree));
    const loaded = run('zsh', [
      '-fc',
      `autoload -Uz compinit && compinit -u -D; source ${file}; print -- $_comps[keyholder]`,
    ]);
    expect(loaded.stderr).toBe('');
    expect(loaded.stdout).toBe('_keyholder\n');
    const asked = [
      'keyholder lo',
      'keyholder locks re',
      'keyholder completion ',
      'keyholder import-foreman --d',
      'keyholder user add x --config ',
      'keyholder lock exec --w',
    ];
    const r = run('zsh', ['-f', ZSH_DRIVER, file, ...asked], { cwd: dir });
    expect(r.stderr).toBe('');
    const answers = r.stdout.split(/^--$/m).map((a) => lines(a).sort());
    expect(answers.slice(0, asked.length)).toEqual([
      ['lock', 'locks'],
      ['release'],
      ['bash', 'fish', 'zsh'],
      ['--data-dir', '--database-url', '--dry-run'],
      ['cert.pem', 'config.yaml'],
      ['--wait'],
    ]);
  });
});

describe.skipIf(!haveTool('fish', 'fish'))('fish completion', () => {
  it('completes commands with descriptions, options and option values', () => {
    const file = script('keyholder.fish', fishScript(tree));
    const complete = (line: string) => {
      const r = run('fish', ['-c', `source ${file}; complete -C ${JSON.stringify(line)}`], { cwd: dir });
      expect(r.stderr).toBe('');
      return lines(r.stdout)
        .map((l) => l.split('\t')[0]!)
        .sort();
    };
    const described = run('fish', ['-c', `source ${file}; complete -C "keyholder lo"`]).stdout;
    expect(described).toMatch(/^lock\tshow, acquire or release a lock/m);
    expect(complete('keyholder lo')).toEqual(['lock', 'locks']);
    expect(complete('keyholder locks re')).toEqual(['release']);
    expect(complete('keyholder completion ')).toEqual(['bash', 'fish', 'zsh']);
    expect(complete('keyholder import-foreman --d')).toEqual(['--data-dir', '--database-url', '--dry-run']);
    expect(complete('keyholder user add x --config ')).toEqual(['cert.pem', 'config.yaml']);
    expect(complete('keyholder user --config lock ')).toContain('add');
  });
});
