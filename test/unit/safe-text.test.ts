// The edge's text checks take fast paths for the usual input (ASCII URLs, flat objects of short
// strings); these compare them with the plain decoding and walking they stand in for, on inputs
// built to hit every branch: escapes of ASCII and of high bytes, broken escapes, raw latin1,
// NUL, lone surrogates, keys and nested values.
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { findUnsafeText, textProblem, urlProblem } from '../../src/safe-text.js';

/** The definition: percent-decode to bytes (a char is its latin1 byte), then ask for UTF-8. */
function referenceUrlProblem(rawUrl: string): string | undefined {
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
  return isUtf8(Buffer.from(bytes)) ? undefined : 'is not valid UTF-8 once percent-decoded';
}

/** A deterministic generator, so a failure names an input that can be replayed. */
function random(seed: number) {
  let s = seed;
  return (n: number) => {
    s = (s * 1103515245 + 12345) & 0x7fffffff;
    return s % n;
  };
}

const URL_PIECES = [
  '/api/dlmlocks/',
  'a',
  'Z',
  '9',
  '%',
  '%2',
  '%20',
  '%7f',
  '%7F',
  '%80',
  '%C3%A9',
  '%c3',
  '%e2%82%ac',
  '%F0%9F%98%80',
  '%FF',
  '%G1',
  '%%41',
  '\u00e9',
  '\u00c3\u00a9',
  '?wait=1&x=',
  '\u0000',
  '/',
];

describe('urlProblem', () => {
  it('answers as percent-decoding and checking UTF-8 does, for every kind of target', () => {
    const next = random(7);
    for (let n = 0; n < 5_000; n++) {
      let url = '';
      for (let k = next(8); k >= 0; k--) url += URL_PIECES[next(URL_PIECES.length)];
      expect(urlProblem(url), JSON.stringify(url)).toBe(referenceUrlProblem(url));
    }
  });

  it('accepts ASCII and escaped UTF-8, refuses a lone high escape and a truncated sequence', () => {
    expect(urlProblem('/api/dlmlocks/web%2001/lock?wait=5')).toBeUndefined();
    expect(urlProblem('/api/dlmlocks/caf%C3%A9/lock')).toBeUndefined();
    expect(urlProblem('/api/dlmlocks/%FF/lock')).toBeDefined();
    expect(urlProblem('/api/dlmlocks/%C3/lock')).toBeDefined();
    expect(urlProblem('/api/dlmlocks/%4/lock')).toBeUndefined();
  });
});

/** The definition: walk everything, report the first problem found (the walk's order). */
function everyProblem(root: unknown): boolean {
  if (typeof root === 'string') return textProblem(root) !== undefined;
  if (Array.isArray(root)) return root.some(everyProblem);
  if (typeof root === 'object' && root !== null) {
    return Object.entries(root).some(([k, v]) => textProblem(k) !== undefined || everyProblem(v));
  }
  return false;
}

const TEXTS = [
  '',
  'web01',
  'caf\u00e9',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00',
  '\ud83d\ude00',
  '\ude00\ud83d',
  '%00',
];

describe('findUnsafeText', () => {
  it('finds a problem exactly when some key or string in the value has one', () => {
    const next = random(11);
    const value = (depth: number): unknown => {
      switch (next(depth > 2 ? 4 : 6)) {
        case 0:
          return TEXTS[next(TEXTS.length)];
        case 1:
          return next(3) === 0 ? null : next(100);
        case 2:
          return next(2) === 0;
        case 3:
          return undefined;
        case 4:
          return Array.from({ length: next(3) }, () => value(depth + 1));
        default: {
          const o: Record<string, unknown> = next(2) ? {} : Object.create(null);
          for (let k = next(4); k > 0; k--) o[TEXTS[next(TEXTS.length)]!] = value(depth + 1);
          return o;
        }
      }
    };
    for (let n = 0; n < 5_000; n++) {
      const v = value(0);
      expect(findUnsafeText(v) !== undefined, JSON.stringify(v)).toBe(everyProblem(v));
    }
  });

  it('names where the problem is, in a flat object as in a nested one', () => {
    expect(findUnsafeText({ id: 'web\u000001' })).toEqual({ path: 'id', problem: 'contains a NUL byte' });
    expect(findUnsafeText({ ['k\ud800']: 'v' }, '')).toEqual({
      path: 'body',
      problem: 'has a key that contains a lone UTF-16 surrogate (not valid Unicode)',
    });
    expect(findUnsafeText({ dlmlock: { name: 'x\udc00' } }, '')?.path).toBe('dlmlock.name');
    expect(findUnsafeText({ id: 'web01', n: 1, b: true, z: null })).toBeUndefined();
  });
});
