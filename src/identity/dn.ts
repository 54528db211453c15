// Which host a certificate subject names, however it arrives: parsed from the certificate
// itself (direct TLS), or from the DN a reverse proxy forwards as RFC 2253/4514 text
// (`CN=web01.example.com,O=Example`) or in OpenSSL's one-line form (`/O=Example/CN=web01`).
// Every path turns the subject into the same structure, and one rule (hostNameOf) names the
// host, so one certificate always yields one name — or the same refusal.

export interface Attribute {
  /** as written: `CN`, `cn`, `2.5.4.3`, `OID.2.5.4.3`, `UID`… */
  type: string;
  value: string;
  /** a BER value (`#hex`) that is not a text string */
  opaque?: boolean;
}

/** One relative distinguished name: usually one attribute, several in `UID=x+CN=y`. */
export type Rdn = Attribute[];

/** A subject, least specific RDN first (the certificate's own order; RFC 2253 text is reversed). */
export type Subject = Rdn[];

export type HostNaming = { name: string } | { refused: string };

const CN_TYPES = new Set(['CN', 'COMMONNAME', '2.5.4.3', 'OID.2.5.4.3']);
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export const RFC2253_ADVICE =
  'send the RFC 2253 form instead (nginx: $ssl_client_s_dn; HAProxy: %[ssl_c_s_dn(,0,rfc2253)]; ' +
  'Apache: SSL_CLIENT_S_DN without LegacyDNStringFormat)';

function isCn(a: Attribute): boolean {
  return CN_TYPES.has(a.type.toUpperCase());
}

/**
 * THE rule: the host is the most specific (last) CN of the subject, exactly as written, so
 * `/DC=com/DC=example/CN=Computers/CN=web04.example.com` is `web04.example.com` on every path.
 */
export function hostNameOf(subject: Subject): HostNaming {
  const cns = subject.flat().filter(isCn);
  const cn = cns[cns.length - 1];
  if (!cn) return { refused: 'the certificate names no host (no subject CN)' };
  if (cn.opaque) return { refused: 'the certificate subject CN is not a text string' };
  if (cn.value === '') return { refused: 'the certificate subject CN is empty' };
  // No host name has these. Control characters would forge log lines; spaces at the ends do
  // not survive every path (HTTP drops them from the end of a header value), so a name that
  // differs from another only by them would not stay one name.
  if (CONTROL.test(cn.value)) return { refused: 'the certificate subject CN contains control characters' };
  if (cn.value !== cn.value.trim()) return { refused: 'the certificate subject CN has spaces at its ends' };
  return { name: cn.value };
}

/**
 * Node reads header bytes as latin1: a proxy that forwards a UTF-8 CN unescaped (Apache's
 * SSL_CLIENT_S_DN, HAProxy's one-line form) arrives as one character per byte. Undefined
 * when the bytes are not UTF-8.
 */
export function headerText(raw: string): string | undefined {
  // plain ASCII (the usual case) is the same either way
  if (/^[\u0020-\u007e]*$/.test(raw)) return raw;
  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u00ff]/.test(raw)) return raw;
  try {
    return strictUtf8.decode(Buffer.from(raw, 'latin1'));
  } catch {
    return undefined;
  }
}

/** The host a proxy's DN header names, in either form. */
export function hostNameFromDn(dn: string): HostNaming {
  const text = headerText(dn);
  if (text === undefined) return { refused: 'the forwarded DN is not UTF-8' };
  if (text.startsWith('/')) return hostNameFromOneLine(text);
  const subject = parseRfc2253(text);
  if (!subject) return { refused: 'the forwarded DN is not a well-formed RFC 2253 DN' };
  return hostNameOf(subject);
}

// ---------------------------------------------------------------------------------------------
// RFC 2253/4514 text: most specific RDN first, `,` (or `;`) between RDNs, `+` inside one,
// `\,` `\+` `\"` `\\` `\ ` escapes, `\C3\A9` hex escapes (bytes of UTF-8), `#hex` BER values,
// and RFC 2253's legacy `"quoted"` values and spaces around separators (OpenSSL's
// `CN = web01, O = Example`).

// sticky: matched at the cursor without copying the rest of the text
const TYPE = /(?:[A-Za-z][A-Za-z0-9-]*|(?:OID\.)?[0-9]+(?:\.[0-9]+)*)/y;
const BER = /#(?:[0-9A-Fa-f]{2})+/y;
const HEX2 = /^[0-9A-Fa-f]{2}$/;
const PLAIN_RUN = /[^,;+"\\]+/y;
const ESCAPABLE = ' "#+,;<=>\\';

function stickyMatch(re: RegExp, s: string, at: number): string | undefined {
  re.lastIndex = at;
  return re.exec(s)?.[0];
}

class Cursor {
  i = 0;
  constructor(readonly s: string) {}
  peek(): string | undefined {
    return this.s[this.i];
  }
  skipSpaces(): void {
    while (this.peek() === ' ') this.i++;
  }
}

/**
 * A value as it is read: text, with runs of hex escapes decoded together as UTF-8 (`\C3\A9`
 * is one character), and unescaped spaces at the end left out.
 */
class ValueText {
  private text = '';
  private bytes: number[] = [];
  /** length up to the last character that counts: unescaped trailing spaces do not */
  private kept = 0;
  private invalid = false;

  private flush(): void {
    if (this.bytes.length === 0) return;
    try {
      this.text += strictUtf8.decode(Uint8Array.from(this.bytes));
    } catch {
      this.invalid = true;
    }
    this.bytes = [];
    this.kept = this.text.length;
  }
  add(segment: string, escaped: boolean): void {
    this.flush();
    this.text += segment;
    const spaces = escaped ? 0 : segment.length - segment.replace(/ +$/, '').length;
    if (spaces < segment.length) this.kept = this.text.length - spaces;
  }
  addByte(byte: number): void {
    this.bytes.push(byte);
  }
  value(): string | undefined {
    this.flush();
    return this.invalid ? undefined : this.text.slice(0, this.kept);
  }
}

/** One escape after a backslash: a hex pair (a byte) or a special character. */
function readEscape(cur: Cursor, into: ValueText): boolean {
  cur.i++; // the backslash
  const pair = cur.s.slice(cur.i, cur.i + 2);
  if (HEX2.test(pair)) {
    into.addByte(parseInt(pair, 16));
    cur.i += 2;
    return true;
  }
  const c = cur.peek();
  if (c === undefined || !ESCAPABLE.includes(c)) return false;
  into.add(c, true);
  cur.i++;
  return true;
}

function readQuoted(cur: Cursor): string | undefined {
  cur.i++; // the opening quote
  const value = new ValueText();
  for (;;) {
    const c = cur.peek();
    if (c === undefined) return undefined;
    if (c === '"') break;
    if (c === '\\') {
      if (!readEscape(cur, value)) return undefined;
    } else {
      value.add(c, true);
      cur.i++;
    }
  }
  cur.i++; // the closing quote
  return value.value();
}

function readPlain(cur: Cursor): string | undefined {
  const value = new ValueText();
  for (;;) {
    const c = cur.peek();
    if (c === undefined || c === ',' || c === ';' || c === '+') return value.value();
    if (c === '"') return undefined; // a quote inside a value must be escaped
    if (c === '\\') {
      if (!readEscape(cur, value)) return undefined;
    } else {
      const run = stickyMatch(PLAIN_RUN, cur.s, cur.i)!;
      value.add(run, false);
      cur.i += run.length;
    }
  }
}

function readAttribute(cur: Cursor): Attribute | undefined {
  cur.skipSpaces();
  const type = stickyMatch(TYPE, cur.s, cur.i);
  if (!type) return undefined;
  cur.i += type.length;
  cur.skipSpaces();
  if (cur.peek() !== '=') return undefined;
  cur.i++;
  cur.skipSpaces();
  if (cur.peek() === '#') {
    // a BER-encoded value: kept opaque; a CN given this way is refused by hostNameOf
    const hex = stickyMatch(BER, cur.s, cur.i);
    if (!hex) return undefined;
    cur.i += hex.length;
    cur.skipSpaces();
    return { type, value: hex, opaque: true };
  }
  const value = cur.peek() === '"' ? readQuoted(cur) : readPlain(cur);
  if (value === undefined) return undefined;
  cur.skipSpaces();
  return { type, value };
}

/** Undefined when the text is not a well-formed DN. */
export function parseRfc2253(text: string): Subject | undefined {
  const cur = new Cursor(text);
  cur.skipSpaces();
  if (cur.peek() === undefined) return undefined;
  const rdns: Subject = [[]];
  for (;;) {
    const attribute = readAttribute(cur);
    if (!attribute) return undefined;
    rdns[rdns.length - 1]!.push(attribute);
    const sep = cur.peek();
    if (sep === undefined) break;
    if (sep === '+') {
      cur.i++;
    } else if (sep === ',' || sep === ';') {
      cur.i++;
      rdns.push([]);
    } else {
      return undefined;
    }
  }
  // RFC 2253 writes the most specific RDN first
  return rdns.reverse();
}

// ---------------------------------------------------------------------------------------------
// OpenSSL's one-line form (`/DC=com/CN=web01`, nginx's $ssl_client_s_dn_legacy, HAProxy's
// default ssl_c_s_dn, Apache's LegacyDNStringFormat). It has no escaping that can be trusted:
// HAProxy writes a `/` inside a value as is, so `OU=x\/CN=db01` arrives as `/OU=x/CN=db01`, and
// OpenSSL writes a byte as `\xC3` but a literal backslash as itself. It is read only when the
// result cannot be a misreading: exactly one CN, with no space at either end, no quote, no
// backslash and no control character in it. Nothing is trimmed or unquoted.

const ONE_LINE_BOUNDARY = /([/+])((?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)=)/g;

export function parseOneLine(text: string): Subject | undefined {
  if (!text.startsWith('/')) return undefined;
  const starts = [...text.matchAll(ONE_LINE_BOUNDARY)];
  if (starts[0]?.index !== 0) return undefined;
  const rdns: Subject = [];
  starts.forEach((m, k) => {
    const typeStart = m.index + 1;
    const valueStart = typeStart + m[2]!.length;
    const end = k + 1 < starts.length ? starts[k + 1]!.index : text.length;
    const attribute = { type: m[2]!.slice(0, -1), value: text.slice(valueStart, end) };
    if (m[1] === '+' && rdns.length > 0) rdns[rdns.length - 1]!.push(attribute);
    else rdns.push([attribute]);
  });
  return rdns;
}

function hostNameFromOneLine(text: string): HostNaming {
  const subject = parseOneLine(text);
  const refuse = (why: string): HostNaming => ({
    refused: `the proxy's one-line DN ${why}; the one-line form cannot be read safely, ${RFC2253_ADVICE}`,
  });
  if (!subject) return refuse('is not well-formed');
  const cns = subject.flat().filter(isCn);
  if (cns.length > 1) return refuse('names more than one CN');
  const cn = cns[0]?.value;
  if (cn !== undefined) {
    if (cn !== cn.trim()) return refuse('has a CN with spaces at its ends');
    if (/["\\]/.test(cn)) return refuse('has a CN with a quote or a backslash (an escape) in it');
    if (CONTROL.test(cn)) return refuse('has a CN with control characters');
  }
  return hostNameOf(subject);
}
