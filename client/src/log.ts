// The update workflow's log: one time-stamped line per event, so journald, a log file or a
// terminal all show when each step started and ended and what the hooks printed.
import { paint, useColour, type Tone } from './output.js';

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  /** a line of hook output, prefixed with the hook's name */
  hook(hook: string, line: string): void;
}

export function createLogger(
  out: NodeJS.WriteStream = process.stdout,
  err: NodeJS.WriteStream = process.stderr,
  now: () => Date = () => new Date(),
): Logger {
  const write = (stream: NodeJS.WriteStream, tone: Tone, text: string) =>
    stream.write(`${now().toISOString()} ${paint(text, tone, useColour(stream))}\n`);
  return {
    info: (m) => write(out, 'plain', m),
    warn: (m) => write(out, 'warn', `WARN ${m}`),
    error: (m) => write(err, 'error', `ERROR ${m}`),
    hook: (hook, line) => write(out, 'plain', `  [${hook}] ${line}`),
  };
}
