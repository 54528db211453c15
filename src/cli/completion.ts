// `keyholder completion bash|zsh|fish`: a completion script made from the command tree itself
// (src/cli/command-tree.ts), so every command and option — operator, client and server
// commands alike — completes without a hand-kept list. Registered last: it describes every
// command registered before it.
import { Argument, type Command } from 'commander';
import { bashScript } from './completion-bash.js';
import { fishScript } from './completion-fish.js';
import { zshScript } from './completion-zsh.js';
import { commandTree, type CommandSpec } from './command-tree.js';

const SCRIPTS: Record<string, (root: CommandSpec) => string> = {
  bash: bashScript,
  zsh: zshScript,
  fish: fishScript,
};

/** Pure: the bash script for this program. */
export function bashCompletion(program: Command): string {
  return bashScript(commandTree(program));
}

export function registerCompletionCommand(program: Command): void {
  program
    .command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('[shell]', 'the shell').choices(Object.keys(SCRIPTS)).default('bash'))
    .addHelpText(
      'after',
      `
Examples:
  keyholder completion bash > /etc/bash_completion.d/keyholder
  keyholder completion zsh > "\${fpath[1]}/_keyholder"
  keyholder completion fish > ~/.config/fish/completions/keyholder.fish`,
    )
    .action((shell: string) => {
      process.stdout.write(SCRIPTS[shell]!(commandTree(program)));
    });
}
