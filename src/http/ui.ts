// The web UI: the files Vite built into dist/ui, served at `/`. Every path that is not a file
// gets index.html, so client-side routes (/locks/3) survive a reload or a bookmark. /api/* and
// /v1/* paths never fall back: an unknown API path stays a JSON 404.
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../errors.js';
import type { Access } from '../identity/access.js';

/** src/http → ../../dist/ui and dist/http → ../../dist/ui are the same folder. */
export const UI_ROOT = fileURLToPath(new URL('../../dist/ui/', import.meta.url));

const PUBLIC = { access: { kind: 'public' } satisfies Access };

// The bundle has no inline scripts; PatternFly and React set style attributes, hence
// 'unsafe-inline' for styles only. The UI talks only to its own origin.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; " +
    "frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
  'x-frame-options': 'DENY',
};

export function uiBuilt(root = UI_ROOT): boolean {
  return existsSync(join(root, 'index.html'));
}

export async function uiRoutes(app: FastifyInstance, opts: { root?: string } = {}): Promise<void> {
  const root = opts.root ?? UI_ROOT;
  // decided at start: a server started before `npm run build` needs a restart to serve the UI
  const registered = uiBuilt(root);
  if (registered) {
    // serve: false — only reply.sendFile, so this route and its declared access stay the only way in
    // cacheControl: false — the route below sets its own: hashed assets forever, index.html never
    // preCompressed — the build writes .br and .gz beside each text file; they are sent as they
    // are to clients that accept them (Vary: Accept-Encoding), so no request compresses anything
    await app.register(fastifyStatic, { root, serve: false, cacheControl: false, preCompressed: true });
  }

  app.get<{ Params: { '*': string } }>(
    '/*',
    { config: PUBLIC, schema: { hide: true } },
    async (request, reply) => {
      const path = request.params['*'];
      // any case: /API/USERS is a mistyped API call, not a page of the UI
      if (/^(api|v1)(\/|$)/i.test(path)) return reply.callNotFound();
      if (!registered) {
        throw new AppError('not_found', 'The web UI is not built: run `npm run build` (it writes dist/ui).');
      }
      reply.headers(SECURITY_HEADERS);
      if (path.startsWith('assets/')) {
        // Vite puts a content hash into every asset name: they never change
        return reply
          .header('cache-control', 'public, max-age=31536000, immutable')
          .header('vary', 'accept-encoding')
          .sendFile(path);
      }
      // a new build must be picked up at once, so index.html is always revalidated
      return reply.header('cache-control', 'no-cache').sendFile('index.html');
    },
  );
}
