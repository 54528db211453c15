// The OpenAPI document describes every /api route with its access (security) and its schemas,
// and Swagger UI is served from this server's own files (no CDN).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessOf } from '../../../src/identity/gate.js';
import { startTestServer, type TestServer } from '../../support/server.js';

describe('OpenAPI document and docs page', () => {
  let s: TestServer;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let doc: any;
  beforeAll(async () => {
    s = await startTestServer('sqlite');
    const r = await s.request('GET', '/api/openapi.json');
    expect(r.status).toBe(200);
    doc = r.json;
  });
  afterAll(() => s?.close());

  it('is OpenAPI 3.1 with the four ways to authenticate', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual([
      'basicAuth',
      'bearerAuth',
      'hostCertificate',
      'sessionCookie',
    ]);
    expect(doc.components.securitySchemes.hostCertificate.type).toBe('mutualTLS');
  });

  it('has every documented route of the app, with the security its access declares', () => {
    const documented = s.server.app.routeEntries.filter(
      (e) =>
        e.method !== 'HEAD' &&
        !/^\/api\/v\d\//.test(e.url) &&
        !e.url.startsWith('/api/docs') &&
        e.url !== '/api/openapi.json' &&
        // the web UI's files are not part of the API
        e.url !== '/*',
    );
    expect(documented.length).toBeGreaterThan(20);
    for (const e of documented) {
      const path = e.url.replace(/:(\w+)/g, '{$1}');
      const op = doc.paths[path]?.[e.method.toLowerCase()];
      expect(op, `${e.method} ${path}`).toBeDefined();
      const access = accessOf(e.route)!;
      const schemes = (op.security as Record<string, unknown>[]).flatMap((x) => Object.keys(x)).sort();
      const want =
        access.kind === 'public'
          ? []
          : access.kind === 'host'
            ? ['hostCertificate']
            : access.kind === 'host_or_user'
              ? ['basicAuth', 'bearerAuth', 'hostCertificate', 'sessionCookie']
              : ['basicAuth', 'bearerAuth', 'sessionCookie'];
      expect(schemes, `${e.method} ${path}`).toEqual(want);
      if (access.kind === 'user') expect(op.description).toContain(`role ${access.role}`);
    }
    expect(Object.keys(doc.paths).some((p) => p.startsWith('/api/v2/'))).toBe(false);
  });

  it('describes request bodies and answers from the route schemas', () => {
    const create = doc.paths['/api/users'].post;
    const body = create.requestBody.content['application/json'].schema;
    expect(body.required).toEqual(['login', 'password']);
    expect(body.properties.role.enum).toEqual(['viewer', 'operator', 'admin']);
    expect(body.additionalProperties).toBe(false);
    expect(create.responses['201'].content['application/json'].schema.properties.password).toBeUndefined();
    const hosts = doc.paths['/api/hosts'].get.responses['200'].content['application/json'].schema;
    expect(Object.keys(hosts.properties)).toEqual([
      'total',
      'subtotal',
      'page',
      'per_page',
      'search',
      'sort',
      'results',
    ]);
    const token = doc.paths['/api/tokens'].post.responses['201'].content['application/json'].schema;
    expect(token.properties.token).toBeDefined();
    for (const op of [doc.paths['/api/dlmlocks'].post, doc.paths['/api/dlmlocks/{id}'].put]) {
      const body = op.requestBody.content['application/json'].schema;
      expect(Object.keys(body.properties.dlmlock.properties)).toEqual([
        'name',
        'type',
        'enabled',
        'host_id',
        'max_holders',
        'lease_seconds',
        'windows',
        'gates',
        'blackouts',
        'paused_until',
        'pause_reason',
        'members_days',
        'parent',
      ]);
      expect(body.properties.windows).toBeDefined();
      expect(body.properties.gates.items.properties.type.enum).toContain('alertmanager');
    }
  });

  it('serves Swagger UI from local files only', async () => {
    const page = await s.request('GET', '/api/docs');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const refs = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(2);
    for (const ref of refs) expect(ref, ref).not.toMatch(/^(https?:)?\/\//);
    const bundle = await s.request('GET', '/api/docs/static/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.text.length).toBeGreaterThan(100_000);
    const init = await s.request('GET', '/api/docs/static/swagger-initializer.js');
    // the document comes from this server, and no validator badge calls out
    expect(init.text).toContain("url: resolveUrl('./json')");
    expect(init.text).toContain('"validatorUrl":null');
    expect(init.text).not.toMatch(/(src|href|url)\s*[:=]\s*['"]https?:/i);
  });
});
