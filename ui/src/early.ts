// The first reads of a visit start as soon as the small entry runs (main.tsx), while the
// browser still loads and parses the app's code: the session and, on the locks list, the page
// of locks and the overview. The app renders once they are in (or after SETTLE_MS), with their
// answers as the pages' first state, so the list paints in one pass instead of an empty frame
// first and the rows a layout later. Logged out, the early answers are dropped unread.
import { api } from './api';

/** how long the first render waits for early reads still under way */
const SETTLE_MS = 1000;

interface Early {
  answer: Promise<unknown>;
  value?: unknown;
}

const early = new Map<string, Early>();

export function startEarly(path: string): void {
  const entry: Early = { answer: api('GET', path) };
  entry.answer.then(
    (value) => (entry.value = value),
    // read later or never: an early 401 must not surface as an unhandled rejection
    () => undefined,
  );
  early.set(path, entry);
}

/** The early answer for `path`, once; undefined when none was started (or it was taken). */
export function takeEarly<T>(path: string): Promise<T> | undefined {
  const entry = early.get(path);
  early.delete(path);
  return entry?.answer as Promise<T> | undefined;
}

/** The early answer for `path` if it has arrived: a page's first state. */
export function peekEarly<T>(path: string): T | undefined {
  return early.get(path)?.value as T | undefined;
}

/** Resolves when every early read has answered, or after SETTLE_MS. */
export function earlySettled(): Promise<void> {
  const all = Promise.allSettled([...early.values()].map((e) => e.answer));
  return Promise.race([all.then(() => undefined), new Promise<void>((r) => setTimeout(r, SETTLE_MS))]);
}

export function dropEarly(): void {
  early.clear();
}
