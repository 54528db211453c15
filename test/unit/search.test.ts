import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors.js';
import { parseSearch } from '../../src/search/parse.js';

describe('parseSearch', () => {
  it('parses comparisons, booleans, precedence and bare words', () => {
    expect(parseSearch('name = a')).toEqual({ kind: 'text', field: 'name', op: 'eq', value: 'a' });
    expect(parseSearch('locked = yes')).toEqual({ kind: 'bool', field: 'locked', value: true });
    expect(parseSearch('a or b and not enabled = false')).toEqual({
      kind: 'or',
      left: { kind: 'text', field: 'name', op: 'like', value: 'a' },
      right: {
        kind: 'and',
        left: { kind: 'text', field: 'name', op: 'like', value: 'b' },
        right: { kind: 'not', inner: { kind: 'bool', field: 'enabled', value: false } },
      },
    });
    expect(parseSearch("host = 'web 01'")).toEqual({
      kind: 'text',
      field: 'host',
      op: 'eq',
      value: 'web 01',
    });
    expect(parseSearch('waiting = true')).toEqual({ kind: 'bool', field: 'waiting', value: true });
    expect(parseSearch('window = closed')).toEqual({ kind: 'window', closed: true });
    expect(parseSearch('window != Closed')).toEqual({ kind: 'window', closed: false });
    expect(parseSearch('window = open')).toEqual({ kind: 'window', closed: false });
    expect(parseSearch('gate = failing')).toEqual({ kind: 'gate', failing: true });
    expect(parseSearch('gate = passing')).toEqual({ kind: 'gate', failing: false });
    expect(parseSearch('  ')).toBeNull();
    expect(parseSearch(undefined)).toBeNull();
  });

  it.each([
    'name =',
    '= a',
    'nope = 1',
    'locked = maybe',
    'window = shut',
    'window ~ closed',
    'gate = red',
    '(name = a',
    'name = a)',
    'name = "x',
    'and',
    'name ~',
  ])('%s is an invalid_search', (input) => {
    let error: unknown;
    try {
      parseSearch(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).code).toBe('invalid_search');
    expect((error as AppError).status).toBe(422);
  });
});
