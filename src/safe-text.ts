// What text keyholder accepts anywhere it may reach a store: well-formed Unicode without NUL.
// PostgreSQL refuses NUL in text (error 22021) and both drivers silently rewrite lone
// surrogates and invalid UTF-8 (each its own way), so such text is refused at the edge, by this
// one rule, before either store sees it — the same 400 on SQLite and on PostgreSQL.
import { isUtf8 } from 'node:buffer';

// a high surrogate not followed by a low one, or a low one without a high one before it
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored as it is; undefined when it can. */
export function textProblem(value: string): string | undefined {
  if (value.includes('\u0000')) return 'contains a NUL byte';
  if (LONE_SURROGATE.test(value)) return 'contains a lone UTF-16 surrogate (not valid Unicode)';
  return undefined;
}

/** A raw request target: its bytes after percent-decoding must be UTF-8 (`%FF` is not). */
export function urlProblem(rawUrl: string): string | undefined {
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
