// The ceiling: bare fastify 5 on the same TLS options as keyholder, answering the same routes
// with a fixed JSON body of the same shape and size as keyholder's lock answer. No hooks, no
// identity, no store: what is left is HTTP + TLS + fastify routing and serialisation.
import Fastify, { type FastifyInstance } from 'fastify';
import type { ServerOptions as HttpsOptions } from 'node:https';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { TLS_SESSION_SECONDS } from '../src/pki/tls-material.js';
import { sessionIdContext, SessionIdCache, trustFingerprint } from '../src/pki/tls-sessions.js';
import { lockSchema } from '../src/http/render.js';

// A lock as keyholder renders it after an acquire: the same keys in the same order, values of
// similar lengths (compare `curl` of a PUT …/lock; keep it in step when the lock JSON grows).
const FIXED_BODY = {
  id: 12,
  host_id: 12,
  name: 'bench-lock-12',
  enabled: true,
  type: 'ForemanDlm::Dlmlock::Update',
  created_at: '2025-01-01 00:00:00 UTC',
  updated_at: '2025-01-01 00:00:00 UTC',
  host: { name: 'bench-host-12', self: true },
  max_holders: 1,
  max_holders_rule: 1,
  members_count: null,
  members_days: 30,
  lease_seconds: null,
  fencing_token: 4711,
  fencing_counter: 4711,
  stale: false,
  windows: [],
  blackouts: [],
  paused_until: null,
  pause_reason: null,
  next_window_at: null,
  gates: [],
  gate_status: [],
  holders: [
    {
      name: 'bench-host-12',
      acquired_at: '2025-01-01 00:00:00 UTC',
      fencing_token: 4711,
      expires_at: null,
    },
  ],
  parent: null,
  children: [],
};

// keyholder's own lock schema, so both servers serialise the same shape the same way.
const schema = { response: { 200: lockSchema } };

export function buildCeiling(https: HttpsOptions): FastifyInstance {
  const app = Fastify({
    https,
    logger: false,
    routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true, maxParamLength: 2048 },
    return503OnClosing: true,
  });
  // Clients send `Content-Type: application/json` with no body; fastify's default parser
  // answers 400 to that, so accept it the way keyholder does.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(err as Error);
    }
  });
  const answer = async () => FIXED_BODY;
  app.put('/api/dlmlocks/:id/lock', { schema }, answer);
  app.delete('/api/dlmlocks/:id/lock', { schema }, answer);
  return app;
}

const FIXED_ANSWER = Buffer.from(
  `HTTP/1.1 200 OK\r\ncontent-type: application/json; charset=utf-8\r\n` +
    `content-length: ${Buffer.byteLength(JSON.stringify(FIXED_BODY))}\r\nconnection: close\r\n\r\n` +
    JSON.stringify(FIXED_BODY),
);

/**
 * The handshake ceiling: a bare TLS server with keyholder's TLS options (client certificate
 * asked for and verified, TLS >= 1.2, session tickets and IDs for resumption) that answers
 * whatever request arrives with the fixed lock JSON and closes. No HTTP parser, no app.
 */
export function buildBareTls(files: { cert: Buffer; key: Buffer; ca: Buffer }): TlsServer {
  const server = createTlsServer(
    {
      ...files,
      requestCert: true,
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
      sessionIdContext: sessionIdContext(trustFingerprint(files.ca)),
      sessionTimeout: TLS_SESSION_SECONDS,
    },
    (socket) => {
      let seen = '';
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString('latin1');
        if (seen.includes('\r\n\r\n')) socket.end(FIXED_ANSWER);
      });
      socket.on('error', () => socket.destroy());
    },
  );
  new SessionIdCache(10_000, TLS_SESSION_SECONDS * 1000).attach(server);
  return server;
}
