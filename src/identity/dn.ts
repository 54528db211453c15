// Distinguished names as reverse proxies forward them: RFC 2253/4514 (`CN=web01,O=Example`,
// Apache's +StdEnvVars; also OpenSSL's `CN = web01, O = Example`) or OpenSSL's one-line form
// (`/O=Example/CN=web01`). keyholder only needs the common name.

interface Rdn {
  type: string;
  value: string;
}

function unescapeRfc(value: string): string {
  const v = value.trim();
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) return v.slice(1, -1).replace(/\\(.)/g, '$1');
  return v.replace(/\\([0-9a-fA-F]{2}|.)/g, (_, e: string) =>
    e.length === 2 ? String.fromCharCode(parseInt(e, 16)) : e,
  );
}

/** Splits on a separator that is neither escaped with a backslash nor inside double quotes. */
function splitUnescaped(input: string, separators: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === '\\' && i + 1 < input.length) {
      current += c + input[++i];
    } else if (c === '"') {
      quoted = !quoted;
      current += c;
    } else if (!quoted && separators.includes(c)) {
      parts.push(current);
      current = '';
    } else {
      current += c;
    }
  }
  parts.push(current);
  return parts;
}

function toRdn(part: string): Rdn | undefined {
  const eq = part.indexOf('=');
  if (eq <= 0) return undefined;
  return { type: part.slice(0, eq).trim().toUpperCase(), value: unescapeRfc(part.slice(eq + 1)) };
}

export function parseDn(dn: string): Rdn[] | undefined {
  const text = dn.trim();
  if (text === '') return undefined;
  const parts = text.startsWith('/') ? splitUnescaped(text.slice(1), '/') : splitUnescaped(text, ',;+');
  const rdns = parts.filter((p) => p.trim() !== '').map(toRdn);
  if (rdns.length === 0 || rdns.some((r) => r === undefined)) return undefined;
  return rdns as Rdn[];
}

/** The host name a DN names: its most specific CN (first in RFC 2253, last in one-line form). */
export function commonNameOf(dn: string): string | undefined {
  const rdns = parseDn(dn);
  if (!rdns) return undefined;
  const cns = rdns.filter((r) => r.type === 'CN' || r.type === '2.5.4.3').map((r) => r.value);
  const cn = dn.trim().startsWith('/') ? cns[cns.length - 1] : cns[0];
  return cn && cn.length > 0 ? cn : undefined;
}
