// What text keyholder accepts anywhere it may reach a store: well-formed Unicode without NUL.
// PostgreSQL refuses NUL in text (error 22021) and both drivers silently rewrite lone
// surrogates and invalid UTF-8 (each its own way), so such text is refused at the edge, by this
// one rule, before either store sees it — the same 400 on SQLite and on PostgreSQL.
import { isUtf8 } from 'node:buffer';

/** ES2024's String.prototype.isWellFormed (Node 20+): false exactly when a lone surrogate is in it. */
type WellFormed = string & { isWellFormed(): boolean };

/** Why a string cannot be stored as it is; undefined when it can. */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains a NUL byte';
  if (!(value as WellFormed).isWellFormed()) return 'contains a lone UTF-16 surrogate (not valid Unicode)';
  return undefined;
}

/** 0–15 for an ASCII hex digit's char code, else -1. */
function hexDigit(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

/**
 * The usual request target is ASCII with escapes of ASCII bytes (`%20`, `%40`): valid UTF-8 as it
 * stands. One pass over it, no copies; anything else takes the decoding path below.
 */
function isAsciiOnceDecoded(rawUrl: string): boolean {
  for (let i = 0; i < rawUrl.length; i++) {
    const code = rawUrl.charCodeAt(i);
    if (code >= 0x80) return false;
    if (code === 0x25 /* % */) {
      const high = hexDigit(rawUrl.charCodeAt(i + 1));
      if (high >= 0 && hexDigit(rawUrl.charCodeAt(i + 2)) >= 0) {
        if (high >= 8) return false;
        i += 2;
      }
    }
  }
  return true;
}

/** A raw request target: its bytes after percent-decoding must be UTF-8 (`%FF` is not). */
export function urlProblem(rawUrl: string): string | undefined {
  if (isAsciiOnceDecoded(rawUrl)) return undefined;
  // node hands over the request line's bytes as latin1 characters, one per byte
  const bytes: number[] = [];
  for (let i = 0; i < rawUrl.length; i++) {
    const hex = rawUrl[i] === '%' ? rawUrl.slice(i + 1, i + 3) : '';
    if (/^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(rawUrl.charCodeAt(i) & 0xff);
    }
  }
  if (!isUtf8(Buffer.from(bytes))) return 'is not valid UTF-8 once percent-decoded';
  return undefined;
}

/**
 * The first string (value or key) in a parsed JSON value that cannot be stored, with where it is
 * (`dlmlock.name`). Iterative, so a deeply nested body cannot overflow the stack.
 */
export function findUnsafeText(root: unknown, rootPath = ''): { path: string; problem: string } | undefined {
  // path parameters, a query, a small body: flat, and nearly always fine — checked without the walk
  if (isFlatAndSafe(root)) return undefined;
  const stack: Array<[unknown, string]> = [[root, rootPath]];
  while (stack.length > 0) {
    const [value, path] = stack.pop()!;
    if (typeof value === 'string') {
      const problem = textProblem(value);
      if (problem) return { path, problem };
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => stack.push([item, `${path}[${i}]`]));
    } else if (typeof value === 'object' && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const problem = textProblem(key);
        if (problem) return { path: path || 'body', problem: `has a key that ${problem}` };
        stack.push([item, path ? `${path}.${key}` : key]);
      }
    }
  }
  return undefined;
}

/**
 * True when the value is no string or object at all, a storable string, or an object of
 * storable keys and values that are themselves not objects. Only ever says "nothing to find":
 * whenever it is false, findUnsafeText walks the value as before, so its answers do not change.
 */
function isFlatAndSafe(value: unknown): boolean {
  if (typeof value === 'string') return textProblem(value) === undefined;
  if (typeof value !== 'object' || value === null) return true;
  if (Array.isArray(value)) return false;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    if (textProblem(key) !== undefined) return false;
    const item = (value as Record<string, unknown>)[key];
    if (typeof item === 'object' && item !== null) return false;
    if (typeof item === 'string' && textProblem(item) !== undefined) return false;
  }
  return true;
}
