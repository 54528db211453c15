// The routes to fuzz, read from the served OpenAPI document: each operation's method, path
// template, path parameters and request body schema. Plus the /api/v2 spelling of each, and
// a few paths and methods no route has.
import type { FastifyInstance } from 'fastify';

export interface Operation {
  method: string;
  /** e.g. /api/dlmlocks/{id}/lock */
  path: string;
  params: string[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  bodySchema?: any;
}

export async function operationsOf(app: FastifyInstance): Promise<Operation[]> {
  const r = await app.inject({ method: 'GET', url: '/api/openapi.json' });
  if (r.statusCode !== 200) throw new Error(`GET /api/openapi.json: ${r.statusCode}`);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const doc = r.json() as { paths: Record<string, Record<string, any>> };
  const ops: Operation[] = [];
  for (const [path, methods] of Object.entries(doc.paths)) {
    // an allowed call never ends (Server-Sent Events); its refusals are covered by
    // test/integration/event-stream.test.ts and the access matrix
    if (path === '/api/events/stream') continue;
    for (const [method, op] of Object.entries(methods)) {
      const content = op.requestBody?.content ?? {};
      ops.push({
        method: method.toUpperCase(),
        path,
        params: [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!),
        bodySchema: content['application/json']?.schema,
      });
    }
  }
  if (ops.length < 20) throw new Error(`only ${ops.length} operations in the OpenAPI document`);
  // Foreman's version segment, the UI's catch-all, and paths no route has
  const extra: Operation[] = [
    ...ops
      .filter((o) => o.path.startsWith('/api/dlmlocks'))
      .map((o) => ({ ...o, path: o.path.replace('/api/', '/api/v2/') })),
    { method: 'GET', path: '/API/USERS', params: [] },
    { method: 'GET', path: '/api/{x}', params: ['x'] },
    { method: 'GET', path: '/{x}', params: ['x'] },
    { method: 'GET', path: '/api/docs', params: [] },
  ];
  return [...ops, ...extra];
}
