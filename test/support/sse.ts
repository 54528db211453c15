// A Server-Sent Events reader for tests: real HTTPS, the events parsed as an EventSource would
// (id, event, data), collected as they arrive.
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';

export interface SseMessage {
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseStream {
  status: number;
  headers: IncomingHttpHeaders;
  messages: SseMessage[];
  /** comment lines (heartbeats) seen */
  comments: number;
  /** resolves with the first `count` messages once that many arrived (rejects after timeoutMs) */
  waitFor(count: number, timeoutMs?: number): Promise<SseMessage[]>;
  /** the whole body when the answer was not a stream (an error) */
  body(): Promise<string>;
  ended: Promise<void>;
  close(): void;
}

export function openSse(
  baseUrl: string,
  caPem: string,
  path: string,
  headers: Record<string, string>,
): Promise<SseStream> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: url.hostname,
        port: url.port,
        method: 'GET',
        path,
        headers: { accept: 'text/event-stream', ...headers },
        ca: caPem,
        servername: 'localhost',
        agent: false,
      },
      (res) => {
        const messages: SseMessage[] = [];
        const waiters = new Set<() => void>();
        let buffer = '';
        let raw = '';
        let comments = 0;
        const ended = new Promise<void>((done) => res.on('close', () => done()));
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          raw += chunk;
          buffer += chunk;
          let cut: number;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const message: SseMessage = { id: undefined, event: 'message', data: '' };
            let hasData = false;
            for (const line of block.split('\n')) {
              if (line.startsWith(':')) comments++;
              else if (line.startsWith('id: ')) message.id = line.slice(4);
              else if (line.startsWith('event: ')) message.event = line.slice(7);
              else if (line.startsWith('data: ')) {
                message.data += line.slice(6);
                hasData = true;
              }
            }
            if (hasData) messages.push(message);
          }
          for (const w of waiters) w();
        });
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          messages,
          get comments() {
            return comments;
          },
          waitFor: (count, timeoutMs = 5000) =>
            new Promise((ok, fail) => {
              const check = () => {
                if (messages.length < count) return;
                waiters.delete(check);
                clearTimeout(timer);
                ok(messages.slice(0, count));
              };
              const timer = setTimeout(() => {
                waiters.delete(check);
                fail(new Error(`${messages.length} of ${count} events within ${timeoutMs} ms: ${raw}`));
              }, timeoutMs);
              waiters.add(check);
              check();
            }),
          body: async () => {
            await ended;
            return raw;
          },
          ended,
          close: () => req.destroy(),
        });
      },
    );
    req.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    req.end();
  });
}
