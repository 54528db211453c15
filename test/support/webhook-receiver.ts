// A real local HTTP receiver standing in for webhook targets (a chat service, Alertmanager, a
// monitoring hook): it records every POST and answers with the statuses it is told, then 200.
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: {
    id: number;
    event: string;
    lock: { name: string };
    host: { name: string } | null;
    detail: string | null;
  };
}

/** A receiver that records every POST and answers with the statuses it is told, then 200. */
export async function receiver() {
  const received: Received[] = [];
  const statuses: number[] = [];
  const hanging: ServerResponse[] = [];
  let hang = false;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (hang) {
        hanging.push(res);
        return;
      }
      const status = statuses.shift() ?? 200;
      if (status === 200)
        received.push({ path: req.url ?? '', headers: req.headers, body, json: JSON.parse(body) });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    received,
    statuses,
    setHang(on: boolean) {
      hang = on;
      if (!on) for (const res of hanging.splice(0)) res.writeHead(503).end();
    },
    forLock: (lock: string) => received.filter((r) => r.json.lock.name === lock),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export async function until(what: string, done: () => boolean, timeoutMs = 15_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
