// What the fuzzer sends: names, search strings, credentials and bodies that a careless or
// hostile client might — NUL, invalid UTF-8, lone surrogates, huge and deeply nested values,
// wrong types, unknown fields — mixed with valid ones, so requests also get past validation.
import fc from 'fast-check';

/** Bytes that are not UTF-8, and UTF-8 of things that must not be stored (surrogates, NUL). */
const RAW_BAD = ['%FF', '%C3%28', '%ED%A0%80', '%F4%90%80%80', '%C0%80', '%00', '%FE%FF'];

/** Strings as they appear in JSON or headers (lone surrogates and NUL survive JSON.stringify). */
export const nastyString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    'fuzz-lock',
    'fuzz lock',
    'a.b',
    '1',
    '0',
    '-1',
    '99999999999999999999999',
    '1e3',
    'null',
    'true',
    '..',
    '../../etc/passwd',
    'a/b',
    '%2F',
    'ab\u0000c',
    '\u0000',
    '\ud800',
    'x\udfffy',
    '\ufeffbom',
    '\u202eevil',
    'Äpfel 🔒',
    'x'.repeat(256),
    'y'.repeat(10_000),
    "name = 'x",
    '<script>alert(1)</script>',
    "' OR 1=1 --",
    '\r\nX-Injected: 1',
    'admin\u0000',
  ),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ maxLength: 300 }),
);

/** A path segment: mostly percent-encoded strings, sometimes raw invalid bytes. */
export const pathSegment: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: nastyString.map(encodeSegment) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'fuzz-lock',
      'fuzz-semaphore',
      '1',
      '2',
      'fuzz-host',
      'fuzz-viewer',
      'fuzz-operator',
    ),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.constantFrom(...RAW_BAD), fc.string({ maxLength: 5 }))
      .map(([b, s]) => `ab${b}${encodeSegment(s)}`),
  },
);

/** encodeURIComponent, except that a lone surrogate becomes its (invalid) UTF-8 bytes. */
export function encodeSegment(s: string): string {
  let out = '';
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    if (code >= 0xd800 && code <= 0xdfff) {
      out +=
        `%${(0xe0 | (code >> 12)).toString(16)}%${(0x80 | ((code >> 6) & 0x3f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`.toUpperCase();
    } else out += encodeURIComponent(ch);
  }
  return out;
}

const searchString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    'name = fuzz-lock',
    'name ~ fuzz',
    'host = fuzz-host and locked = true',
    'not (enabled = false or stale = true)',
    'locked = maybe',
    'name = "unterminated',
    '((((((((((name = a',
    'and or not',
    'name = ',
    'name ~ %',
    'name ~ _',
    'nosuchfield = 1',
    'name = "\u0000"',
    'name = \ud800',
    'name ~ ' + 'z'.repeat(5000),
    'not '.repeat(2000) + 'name = a',
    '('.repeat(3000),
  ),
  nastyString,
);

const numberish = fc.oneof(
  fc.constantFrom(
    '1',
    '0',
    '-1',
    '1000',
    '1001',
    '2.5',
    '1e9',
    'NaN',
    'Infinity',
    '',
    '9'.repeat(40),
    '0x10',
    ' 3',
  ),
  nastyString,
);

/** Query parameters: the ones routes read, with hostile values, plus unknown ones. */
export const query: fc.Arbitrary<Array<[string, string]>> = fc.array(
  fc.oneof(
    fc.tuple(fc.constant('search'), searchString),
    fc.tuple(fc.constantFrom('page', 'per_page', 'wait'), numberish),
    fc.tuple(
      fc.constant('order'),
      fc.oneof(
        fc.constantFrom('name DESC', 'name', 'id ASC', 'nosuch DESC', 'name SIDEWAYS', 'created_at desc'),
        nastyString,
      ),
    ),
    fc.tuple(fc.constantFrom('actor', 'user', 'target', 'event_type', 'lock'), nastyString),
    fc.tuple(nastyString, nastyString),
  ),
  { maxLength: 4 },
);

/** Wrong-typed and hostile JSON values. */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, 0, -1, 1.5, 2 ** 53 + 1, -(2 ** 63), true, '', [], {}, [[[]]], {
    __proto__: { admin: true },
  }),
  nastyString,
);

const VALID_STRINGS = [
  'fuzz-lock',
  'fuzz-new-lock',
  'fuzz-host',
  'fuzz-user1',
  'password123!',
  'viewer',
  'mon',
  '02:00',
  'Europe/Berlin',
];

/**
 * A JSON value shaped by a JSON schema (from the OpenAPI document). `strict`: plausible values
 * only, so the request gets past validation and into the store; otherwise often bent out of
 * shape (wrong types, hostile strings, unknown fields).
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fromSchema(schema: any, strict = false, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 4) return strict ? fc.constant(null) : anyJson;
  const bent = <T>(good: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
    strict
      ? good
      : fc.oneof({ weight: 4, arbitrary: good as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyJson });
  if (schema.enum) return bent(fc.constantFrom(...(schema.enum as unknown[])));
  if (schema.anyOf || schema.oneOf) {
    const options = (schema.anyOf ?? schema.oneOf) as unknown[];
    return fc.oneof(...options.map((s) => fromSchema(s, strict, depth + 1)));
  }
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const props = Object.entries<unknown>(schema.properties ?? {});
      const required: string[] = strict ? (schema.required ?? []) : [];
      const record = fc.record(
        Object.fromEntries(props.map(([k, s]) => [k, fromSchema(s, strict, depth + 1)])),
        {
          requiredKeys: required,
        },
      );
      if (strict) return record;
      const withUnknown = fc
        .tuple(record, fc.dictionary(nastyString, anyJson, { maxKeys: 2 }))
        .map(([r, extra]) => ({ ...extra, ...r }));
      return fc.oneof(
        { weight: 4, arbitrary: record },
        { weight: 1, arbitrary: withUnknown },
        { weight: 1, arbitrary: anyJson },
      );
    }
    case 'array':
      return bent(fc.array(fromSchema(schema.items, strict, depth + 1), { maxLength: strict ? 2 : 4 }));
    case 'string':
      return strict
        ? fc.constantFrom(...VALID_STRINGS)
        : fc.oneof(
            { weight: 3, arbitrary: fc.constantFrom(...VALID_STRINGS) },
            { weight: 3, arbitrary: nastyString },
            { weight: 1, arbitrary: anyJson },
          );
    case 'integer':
    case 'number':
      return strict
        ? fc.integer({ min: 1, max: 5 })
        : bent(fc.oneof(fc.integer({ min: -5, max: 10 }), fc.integer(), fc.double()));
    case 'boolean':
      return bent(fc.boolean());
    default:
      return strict ? fc.constant(null) : anyJson;
  }
}

/** A request body as bytes: JSON of a value, or something no JSON parser should like. */
export function bodyBytes(value: fc.Arbitrary<unknown>): fc.Arbitrary<Buffer | undefined> {
  return fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 8, arbitrary: value.map((v) => Buffer.from(JSON.stringify(v) ?? 'null')) },
    {
      weight: 3,
      arbitrary: fc.constantFrom(
        Buffer.from('{"name":"\xff\xfe"}', 'latin1'),
        Buffer.concat([Buffer.from('{"name":"ab'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]),
        Buffer.concat([
          Buffer.from('{"dlmlock":{"name":"'),
          Buffer.from([0xed, 0xa0, 0x80]),
          Buffer.from('"}}'),
        ]),
        Buffer.from('{"name":"a\\u0000b"}'),
        Buffer.from('{"login":"\\ud800","password":"\\udfffxxxxxxxx"}'),
        Buffer.from('{"name":'),
        Buffer.from('{"name":"x",}'),
        Buffer.from('\ufeff{"name":"bom"}'),
        Buffer.from('['.repeat(20_000) + ']'.repeat(20_000)),
        Buffer.from('{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000)),
        Buffer.from(JSON.stringify({ name: 'z'.repeat(70_000) })),
        Buffer.from(
          JSON.stringify({
            dlmlock: { name: 'big', windows: Array.from({ length: 3000 }, () => ({ days: ['mon'] })) },
          }),
        ),
        Buffer.from('{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"x":1}}}'),
        Buffer.from('1e999999'),
        Buffer.from('"\\u0000"'),
        Buffer.alloc(0),
      ),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  );
}

const basic = (user: Buffer | string, pass: Buffer | string) =>
  `Basic ${Buffer.concat([Buffer.from(user), Buffer.from(':'), Buffer.from(pass)]).toString('base64')}`;

/** Authorization and identity headers, valid and not; `valid` ones are filled in by the caller. */
export type CredentialKind =
  'none' | 'admin' | 'adminToken' | 'viewer' | 'operator' | 'token' | 'host' | 'bad';

// Basic checks an scrypt hash per request: used, but less often than the cheap bearer tokens
export const credentialKind: fc.Arbitrary<CredentialKind> = fc.constantFrom<CredentialKind>(
  'none',
  'admin',
  'adminToken',
  'adminToken',
  'adminToken',
  'adminToken',
  'viewer',
  'operator',
  'token',
  'token',
  'host',
  'host',
  'host',
  'bad',
  'bad',
);

export const badCredentialHeaders: fc.Arbitrary<Record<string, string>> = fc.oneof(
  fc.tuple(nastyString, nastyString).map(([u, p]) => ({ authorization: basic(u, p) })),
  fc.constantFrom<Record<string, string>>(
    { authorization: basic(Buffer.from([0x61, 0xff, 0xfe]), 'whatever') },
    { authorization: basic('ad\u0000min', 'admin-password') },
    { authorization: basic('\ud800', '\udc00') },
    { authorization: 'Basic !!!notbase64' },
    { authorization: 'Basic' },
    { authorization: 'Bearer ' },
    { authorization: 'Bearer kh_' + 'A'.repeat(5000) },
    { authorization: 'Digest username="admin"' },
    { cookie: 'keyholder_session=forged; other=1', 'x-csrf-token': 'x' },
    { cookie: 'keyholder_session=' + '%FF'.repeat(50) },
    { ssl_client_s_dn: 'CN=spoofed-from-untrusted', ssl_client_verify: 'SUCCESS' },
  ),
  fc.string({ maxLength: 60 }).map((s) => ({ authorization: `Bearer ${s}` })),
);

/** DNs a trusted proxy might forward: good ones and ones that must be refused. */
export const proxiedDn: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constant('CN=fuzz-host,O=Fuzz') },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '/O=Fuzz/CN=fuzz-host',
      'CN=a,CN=b',
      '/CN=a/CN=b',
      'CN=\\00evil',
      'CN=\\ff\\fe',
      'CN=\\ed\\a0\\80',
      'CN=' + 'h'.repeat(300),
      'CN=',
      'O=NoCn',
      'CN=fuzz host with space',
      'UID=x+CN=fuzz-host2',
      '\u0000',
    ),
  },
  { weight: 1, arbitrary: nastyString.map((s) => `CN=${s}`) },
);

export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      'text/plain',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/merge-patch+json',
      '*/*',
      'application/json\u0000',
    ),
  },
);
