// GET /api/events/stream: lock events as Server-Sent Events, for the web UI and any dashboard.
// Authenticated like every read of the API (the UI's session cookie included); `?lock=NAME`
// narrows it to one lock; a reconnect with Last-Event-ID resumes after that event. Comment
// lines keep idle proxies from closing the connection.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { validationError } from '../errors.js';
import type { Access } from '../identity/access.js';
import type { EventHub } from '../service/event-stream.js';
import { SECURITY_HEADERS } from './errors.js';
import { renderEventWithLock } from './render.js';

export interface EventRoutesOptions {
  hub: EventHub;
  heartbeatMs?: number;
  /** a stream ends after this; the client reconnects and is authenticated again (a logout counts) */
  maxAgeMs: number;
}

const VIEWER = { access: { kind: 'user', role: 'viewer' } satisfies Access };
/** a client that stops reading must not make the server buffer without end: it is cut off */
const MAX_BUFFERED_BYTES = 1024 * 1024;
/** what an EventSource waits before reconnecting */
const RETRY_MS = 2000;

function lastEventId(request: FastifyRequest): number {
  const query = request.query as Record<string, unknown>;
  const raw = request.headers['last-event-id'] ?? query.last_event_id;
  if (raw === undefined || raw === '') return 0;
  if (typeof raw !== 'string' || !/^\d{1,15}$/.test(raw)) {
    throw validationError({ 'Last-Event-ID': ['must be the id of an event (a whole number)'] });
  }
  return Number(raw);
}

function lockFilter(request: FastifyRequest): string | undefined {
  const raw = (request.query as Record<string, unknown>).lock;
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > 255) {
    throw validationError({ lock: ['must be one lock name of at most 255 characters'] });
  }
  return raw;
}

export async function eventRoutes(app: FastifyInstance, opts: EventRoutesOptions): Promise<void> {
  const { hub } = opts;
  const heartbeatMs = opts.heartbeatMs ?? 15_000;

  app.get(
    '/events/stream',
    {
      config: VIEWER,
      schema: {
        tags: ['events'],
        summary: 'Lock events as Server-Sent Events (text/event-stream); resumable with Last-Event-ID',
        querystring: {
          type: 'object',
          properties: {
            lock: { type: 'string', description: 'only events of the lock with this name' },
            last_event_id: { type: 'string', description: 'as the Last-Event-ID header' },
          },
        },
      },
    },
    async (request, reply) => {
      // everything that can be refused is refused before the stream starts: a plain 4xx/503
      const after = lastEventId(request);
      const lock = lockFilter(request);
      const release = hub.reserve();

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        // written below fastify, so its hooks' headers are not: SPEC wants these on every response
        ...SECURITY_HEADERS,
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        // nginx would otherwise hold events back in its buffer
        'x-accel-buffering': 'no',
      });
      // HEAD (fastify answers it with the GET route) gets the headers only
      if (request.method === 'HEAD') {
        release();
        res.end();
        return;
      }
      res.write(`retry: ${RETRY_MS}\n\n`);

      let unsubscribe: (() => void) | undefined;
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        clearInterval(heartbeat);
        clearTimeout(maxAge);
        release();
        unsubscribe?.();
        if (!res.writableEnded) res.end();
      };
      const write = (text: string) => {
        if (ended) return;
        res.write(text);
        if (res.writableLength > MAX_BUFFERED_BYTES) {
          end();
          res.destroy();
        }
      };
      const heartbeat = setInterval(() => write(': keep-alive\n\n'), heartbeatMs);
      heartbeat.unref();
      const maxAge = setTimeout(end, opts.maxAgeMs);
      maxAge.unref();
      res.on('close', end);

      try {
        unsubscribe = await hub.subscribe(
          {
            lock,
            after,
            send: (events) =>
              write(
                events
                  .map((e) => `id: ${e.id}\ndata: ${JSON.stringify(renderEventWithLock(e))}\n\n`)
                  .join(''),
              ),
            reset: (latest) => write(`id: ${latest}\nevent: reset\ndata: {}\n\n`),
            close: end,
          },
          release,
        );
        // the client went away while the backlog was read
        if (ended) unsubscribe();
      } catch (err) {
        request.log.warn({ err }, 'event stream could not start');
        end();
      }
    },
  );
}
