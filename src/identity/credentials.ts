// What a request presents in its Authorization header: HTTP Basic (users), a bearer API token
// (automation), or something malformed. A malformed header is refused, never ignored.
import { isUtf8 } from 'node:buffer';
import { textProblem } from '../safe-text.js';

export type Presented =
  | { kind: 'none' }
  | { kind: 'malformed' }
  | { kind: 'basic'; login: string; password: string }
  | { kind: 'bearer'; token: string };

export function parseAuthorization(header: string | undefined): Presented {
  if (header === undefined || header === '') return { kind: 'none' };
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (basic) {
    const bytes = Buffer.from(basic[1]!, 'base64');
    // NUL or bytes that are not UTF-8 name no user: refused as malformed, never looked up
    if (!isUtf8(bytes)) return { kind: 'malformed' };
    const decoded = bytes.toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0 || textProblem(decoded)) return { kind: 'malformed' };
    return { kind: 'basic', login: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (bearer) return { kind: 'bearer', token: bearer[1]! };
  return { kind: 'malformed' };
}
