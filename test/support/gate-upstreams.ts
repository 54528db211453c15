// Real local HTTP servers standing in for what health gates ask: Prometheus' instant query API
// (/api/v1/query), Alertmanager's alert list (/api/v2/alerts, honouring active, silenced,
// inhibited and filter= matchers like the real one) and a health endpoint. Each request is
// counted and its Authorization header kept, so tests can see the cache and the credentials.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeAlert {
  labels: Record<string, string>;
  silenced?: boolean;
  inhibited?: boolean;
}

export interface GateUpstreams {
  url: string;
  /** query → Prometheus' `data` answer ({resultType, result}) */
  prometheus: Map<string, { resultType: string; result: unknown }>;
  alerts: FakeAlert[];
  health: { status: number; body: string; delayMs: number };
  /** requests by path (+ the query for Prometheus: `/api/v1/query?<query>`) */
  count(key: string): number;
  authorizations: string[];
  close(): Promise<void>;
}

/** Alertmanager's matcher subset the tests use: =, !=, =~, !~ with quoted or bare values. */
function matches(alert: FakeAlert, matcher: string): boolean {
  const m = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$/.exec(matcher);
  if (!m) return false;
  const [, label, op, value] = m as unknown as [string, string, string, string];
  const actual = alert.labels[label] ?? '';
  const re = new RegExp(`^(?:${value})$`);
  if (op === '=') return actual === value;
  if (op === '!=') return actual !== value;
  if (op === '=~') return re.test(actual);
  return !re.test(actual);
}

export async function startGateUpstreams(): Promise<GateUpstreams> {
  const counts = new Map<string, number>();
  const state = {
    prometheus: new Map<string, { resultType: string; result: unknown }>(),
    alerts: [] as FakeAlert[],
    health: { status: 200, body: 'ok', delayMs: 0 },
    authorizations: [] as string[],
  };
  const bump = (key: string) => counts.set(key, (counts.get(key) ?? 0) + 1);
  const server: Server = createServer((req: IncomingMessage, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.headers.authorization) state.authorizations.push(req.headers.authorization);
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === '/api/v1/query') {
      const query = url.searchParams.get('query') ?? '';
      bump(`/api/v1/query?${query}`);
      const data = state.prometheus.get(query);
      if (!data) return json(400, { status: 'error', errorType: 'bad_data', error: 'parse error' });
      return json(200, { status: 'success', data });
    }
    if (url.pathname === '/api/v2/alerts') {
      bump('/api/v2/alerts');
      const flag = (name: string) => url.searchParams.get(name) !== 'false';
      const filters = url.searchParams.getAll('filter');
      const shown = state.alerts.filter(
        (a) =>
          (flag('silenced') || !a.silenced) &&
          (flag('inhibited') || !a.inhibited) &&
          filters.every((f) => matches(a, f)),
      );
      return json(
        200,
        shown.map((a) => ({
          labels: a.labels,
          status: {
            state: a.silenced || a.inhibited ? 'suppressed' : 'active',
            silencedBy: [],
            inhibitedBy: [],
          },
        })),
      );
    }
    if (url.pathname === '/health') {
      bump('/health');
      const { status, body, delayMs } = state.health;
      const timer = setTimeout(() => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(body);
      }, delayMs);
      res.on('close', () => clearTimeout(timer));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    ...state,
    get health() {
      return state.health;
    },
    set health(h) {
      state.health = h;
    },
    count: (key) => counts.get(key) ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on 127.0.0.1 with nothing listening (connection refused). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
