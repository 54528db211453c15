// The command definitions as plain data, read from the commander program itself: completion
// scripts (src/cli/completion*.ts) and man pages (src/cli/man.ts) are made from this, so
// every command, option and argument is described once — where it is registered — whichever
// files register it.
import type { Command } from 'commander';

export interface OptionSpec {
  long?: string;
  short?: string;
  description: string;
  /** `<file>` or `[when]`: the value's name, when the option takes one */
  valueName?: string;
  valueOptional: boolean;
  choices?: readonly string[];
  /** how a shell completes the value */
  valueKind?: 'file' | 'directory' | 'choice' | 'text';
  /** how commander spells it in help: `-c, --config <file>` */
  flags: string;
}

export interface ArgumentSpec {
  name: string;
  description: string;
  required: boolean;
  variadic: boolean;
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  /** from the program's name down: ['keyholder', 'user', 'add'] */
  path: string[];
  description: string;
  usage: string;
  options: OptionSpec[];
  arguments: ArgumentSpec[];
  subcommands: CommandSpec[];
  /** the text added after the help (examples), if any */
  helpAfter: string;
}

/** Value names that mean a path on disk. */
const FILE_VALUES = /^(file|path|cert|key|ca|crl|output|config)s?$/i;
const DIR_VALUES = /^(dir|directory|folder|prefix)$/i;

function valueKind(valueName: string | undefined, choices?: readonly string[]): OptionSpec['valueKind'] {
  if (!valueName) return undefined;
  if (choices?.length) return 'choice';
  if (DIR_VALUES.test(valueName)) return 'directory';
  if (FILE_VALUES.test(valueName)) return 'file';
  return 'text';
}

/** commander keeps the text of `addHelpText('after', …)` only inside its event listeners. */
function helpAfter(cmd: Command): string {
  let text = '';
  const write = (s: string) => void (text += s);
  const listeners = (cmd as unknown as { listeners(e: string): ((ctx: unknown) => void)[] }).listeners(
    'afterHelp',
  );
  for (const listener of listeners) listener({ error: false, command: cmd, write });
  return text.replace(/^\n+/, '').trimEnd();
}

function optionSpec(o: Command['options'][number]): OptionSpec {
  const valueName = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1]?.replace(/\.\.\.$/, '');
  return {
    long: o.long,
    short: o.short,
    description: o.description,
    valueName,
    valueOptional: o.optional,
    choices: o.argChoices,
    valueKind: valueKind(valueName, o.argChoices),
    flags: o.flags,
  };
}

export function commandTree(cmd: Command, parentPath: string[] = []): CommandSpec {
  const path = [...parentPath, cmd.name()];
  const options = cmd.options.filter((o) => !o.hidden).map(optionSpec);
  options.push({
    long: '--help',
    short: '-h',
    description: 'display help for command',
    valueOptional: false,
    flags: '-h, --help',
  });
  return {
    name: cmd.name(),
    path,
    description: cmd.description(),
    usage: cmd.usage(),
    options,
    arguments: cmd.registeredArguments.map((a) => ({
      name: a.name(),
      description: a.description,
      required: a.required,
      variadic: a.variadic,
      choices: a.argChoices,
    })),
    subcommands: cmd.commands
      .filter((c) => c.name() !== 'help' && !(c as unknown as { _hidden?: boolean })._hidden)
      .map((c) => commandTree(c, path)),
    helpAfter: helpAfter(cmd),
  };
}

/** Every command of the tree, parents before their children. */
export function allCommands(root: CommandSpec): CommandSpec[] {
  return [root, ...root.subcommands.flatMap(allCommands)];
}
