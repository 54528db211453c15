// Terminal output. Colour only when a person is looking (a TTY) and NO_COLOR is unset; logs
// captured by journald or a test stay plain text.
import { styleText } from 'node:util';

export type Tone = 'ok' | 'warn' | 'error' | 'plain';

const COLOURS = { ok: 'green', warn: 'yellow', error: 'red' } as const;

export function useColour(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && env.NO_COLOR === undefined && env.TERM !== 'dumb';
}

export function paint(text: string, tone: Tone, colour: boolean): string {
  // The decision is ours (per stream): Node's own check would look at stdout even for stderr.
  return colour && tone !== 'plain' ? styleText(COLOURS[tone], text, { validateStream: false }) : text;
}

export function say(stream: NodeJS.WriteStream, text: string, tone: Tone): void {
  stream.write(`${paint(text, tone, useColour(stream))}\n`);
}
