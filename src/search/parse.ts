// Foreman's scoped-search subset for locks: `name = x`, `name ~ part`, `host = h`, `type = T`,
// `enabled = true|false`, `locked = true|false`, `stale = true`, and keyholder's own
// `waiting = true` (a blocking acquire is queued), `window = closed|open` (the lock's
// calendar refuses new holders now) and `gate = failing` (a health gate failed its last
// check), joined by `and`/`or`, `not`,
// parentheses, and a bare word meaning `name ~ word`. Parses into a small AST that the
// stores compile to parameterised SQL; anything else is an `invalid_search` (422).
import { AppError } from '../errors.js';

export type TextField = 'name' | 'host' | 'type';
export type BoolField = 'enabled' | 'locked' | 'stale' | 'waiting';

export type LockFilter =
  | { kind: 'and' | 'or'; left: LockFilter; right: LockFilter }
  | { kind: 'not'; inner: LockFilter }
  | { kind: 'text'; field: TextField; op: 'eq' | 'ne' | 'like' | 'notlike'; value: string }
  | { kind: 'bool'; field: BoolField; value: boolean }
  /** `window = closed`: outside every window (see src/lock/outside-window.ts) */
  | { kind: 'window'; closed: boolean }
  /** `gate = failing`: a health gate of the lock failed its last check */
  | { kind: 'gate'; failing: boolean };

const TEXT_FIELDS: readonly string[] = ['name', 'host', 'type'];
const BOOL_FIELDS: readonly string[] = ['enabled', 'locked', 'stale', 'waiting'];
const WINDOW_FIELD = 'window';
const WINDOW_STATES = ['closed', 'open'];
const GATE_FIELD = 'gate';
const GATE_STATES = ['failing', 'passing'];
const OPERATORS: Record<string, 'eq' | 'ne' | 'like' | 'notlike'> = {
  '=': 'eq',
  '!=': 'ne',
  '~': 'like',
  '!~': 'notlike',
};
const TRUE_WORDS = ['true', 't', 'yes', '1'];
const FALSE_WORDS = ['false', 'f', 'no', '0'];

type Token = {
  t: 'word' | 'string' | 'op' | 'lparen' | 'rparen' | 'and' | 'or' | 'not';
  v: string;
  pos: number;
};

const MAX_SEARCH_LENGTH = 1000;

function fail(message: string): never {
  throw new AppError('invalid_search', `Invalid search query: ${message}`);
}

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      tokens.push({ t: c === '(' ? 'lparen' : 'rparen', v: c, pos: i++ });
    } else if (c === '"' || c === "'") {
      const end = input.indexOf(c, i + 1);
      if (end < 0) fail(`unterminated quote at position ${i + 1}`);
      tokens.push({ t: 'string', v: input.slice(i + 1, end), pos: i });
      i = end + 1;
    } else if (input.startsWith('!=', i) || input.startsWith('!~', i)) {
      tokens.push({ t: 'op', v: input.slice(i, i + 2), pos: i });
      i += 2;
    } else if (c === '=' || c === '~') {
      tokens.push({ t: 'op', v: c, pos: i++ });
    } else if (input.startsWith('&&', i) || input.startsWith('||', i)) {
      tokens.push({ t: c === '&' ? 'and' : 'or', v: input.slice(i, i + 2), pos: i });
      i += 2;
    } else if (c === '&' || c === '|') {
      tokens.push({ t: c === '&' ? 'and' : 'or', v: c, pos: i++ });
    } else if (c === '!') {
      tokens.push({ t: 'not', v: c, pos: i++ });
    } else {
      const start = i;
      while (i < input.length && !/[\s()"'=~!&|]/.test(input[i]!)) i++;
      const word = input.slice(start, i);
      const lower = word.toLowerCase();
      const kind = lower === 'and' ? 'and' : lower === 'or' ? 'or' : lower === 'not' ? 'not' : 'word';
      tokens.push({ t: kind, v: word, pos: start });
    }
  }
  return tokens;
}

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  parse(): LockFilter {
    const expr = this.orExpr();
    const extra = this.peek();
    if (extra) fail(`unexpected '${extra.v}' at position ${extra.pos + 1}`);
    return expr;
  }

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private orExpr(): LockFilter {
    let left = this.andExpr();
    while (this.peek()?.t === 'or') {
      this.i++;
      left = { kind: 'or', left, right: this.andExpr() };
    }
    return left;
  }

  private andExpr(): LockFilter {
    let left = this.unary();
    for (;;) {
      const next = this.peek();
      if (!next || next.t === 'or' || next.t === 'rparen') return left;
      if (next.t === 'and') this.i++; // scoped_search also joins adjacent terms with `and`
      left = { kind: 'and', left, right: this.unary() };
    }
  }

  private unary(): LockFilter {
    if (this.peek()?.t === 'not') {
      this.i++;
      return { kind: 'not', inner: this.unary() };
    }
    return this.primary();
  }

  private primary(): LockFilter {
    const tok = this.peek();
    if (!tok) fail('unexpected end of query');
    if (tok.t === 'lparen') {
      this.i++;
      const inner = this.orExpr();
      if (this.peek()?.t !== 'rparen') fail(`missing ')' for '(' at position ${tok.pos + 1}`);
      this.i++;
      return inner;
    }
    if (tok.t !== 'word' && tok.t !== 'string') fail(`unexpected '${tok.v}' at position ${tok.pos + 1}`);
    this.i++;
    const op = this.peek();
    if (op?.t !== 'op') {
      // a bare term searches names, as scoped_search's default field does
      return { kind: 'text', field: 'name', op: 'like', value: tok.v };
    }
    this.i++;
    const valueTok = this.peek();
    if (!valueTok || (valueTok.t !== 'word' && valueTok.t !== 'string')) {
      fail(`'${tok.v} ${op.v}' needs a value at position ${op.pos + 1}`);
    }
    this.i++;
    return condition(tok.v.toLowerCase(), op.v, valueTok.v);
  }
}

function condition(field: string, opText: string, value: string): LockFilter {
  const op = OPERATORS[opText]!;
  if (TEXT_FIELDS.includes(field)) return { kind: 'text', field: field as TextField, op, value };
  if (BOOL_FIELDS.includes(field)) {
    if (op !== 'eq' && op !== 'ne') fail(`'${field}' only supports = and !=`);
    const lower = value.toLowerCase();
    const truth = TRUE_WORDS.includes(lower) ? true : FALSE_WORDS.includes(lower) ? false : undefined;
    if (truth === undefined) fail(`'${field}' must be true or false, not '${value}'`);
    return { kind: 'bool', field: field as BoolField, value: op === 'eq' ? truth : !truth };
  }
  if (field === WINDOW_FIELD) {
    if (op !== 'eq' && op !== 'ne') fail(`'${field}' only supports = and !=`);
    const state = value.toLowerCase();
    if (!WINDOW_STATES.includes(state)) fail(`'${field}' must be closed or open, not '${value}'`);
    return { kind: 'window', closed: (state === 'closed') === (op === 'eq') };
  }
  if (field === GATE_FIELD) {
    if (op !== 'eq' && op !== 'ne') fail(`'${field}' only supports = and !=`);
    const state = value.toLowerCase();
    if (!GATE_STATES.includes(state)) fail(`'${field}' must be failing or passing, not '${value}'`);
    return { kind: 'gate', failing: (state === 'failing') === (op === 'eq') };
  }
  fail(
    `unknown field '${field}'; use one of ${[...TEXT_FIELDS, ...BOOL_FIELDS, WINDOW_FIELD, GATE_FIELD].join(', ')}`,
  );
}

/** Whether any part of the filter asks for the window state (which costs an extra read). */
export function usesWindowState(filter: LockFilter | null): boolean {
  if (!filter) return false;
  if (filter.kind === 'window') return true;
  if (filter.kind === 'not') return usesWindowState(filter.inner);
  if (filter.kind === 'and' || filter.kind === 'or')
    return usesWindowState(filter.left) || usesWindowState(filter.right);
  return false;
}

/** Parses a search string; empty or blank means no filter. */
export function parseSearch(input: string | undefined): LockFilter | null {
  if (input === undefined || input.trim() === '') return null;
  if (input.length > MAX_SEARCH_LENGTH) fail(`longer than ${MAX_SEARCH_LENGTH} characters`);
  return new Parser(tokenize(input)).parse();
}
