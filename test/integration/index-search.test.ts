// GET /api/dlmlocks: Foreman's index wrapper, scoped search, order and pagination, on every store.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STORES } from '../support/stores.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { ageHolders } from '../support/db-sql.js';

describe.each(STORES)('index and search on %s', (kind) => {
  let s: TestServer;
  const names = async (query: string) => {
    const r = await s.asAdmin('GET', `/api/dlmlocks?${query}`);
    expect(r.status, r.text).toBe(200);
    return (r.json.results as { name: string }[]).map((l) => l.name);
  };

  beforeAll(async () => {
    s = await startTestServer(kind);
    await s.asHost('db01', 'PUT', '/api/dlmlocks/db-cluster/lock');
    await s.asHost('web01', 'PUT', '/api/dlmlocks/web-cluster/lock');
    await s.asHost('web01', 'DELETE', '/api/dlmlocks/WEB%20Edge/lock');
    await s.asAdmin('POST', '/api/dlmlocks', {
      body: { name: 'cache', type: 'Dlmlock::Update', enabled: false },
    });
    // db-cluster was taken five hours ago: stale (after the default four hours)
    await ageHolders(s.db, 'db-cluster', 5 * 3600 * 1000);
  });
  afterAll(() => s?.close());

  it("wraps results in Foreman's index shape", async () => {
    const r = await s.asAdmin('GET', '/api/dlmlocks');
    expect(r.json).toEqual({
      total: 4,
      subtotal: 4,
      page: 1,
      per_page: 20,
      search: null,
      sort: { by: null, order: null },
      results: expect.any(Array),
    });
    expect(r.json.results.map((l: { name: string }) => l.name)).toEqual([
      'cache',
      'db-cluster',
      'WEB Edge',
      'web-cluster',
    ]);
    expect(r.json.results[0].host).toBeNull();
  });

  it.each([
    ['name = cache', ['cache']],
    ['name ~ cluster', ['db-cluster', 'web-cluster']],
    ['name ~ web', ['WEB Edge', 'web-cluster']],
    ['name ~ WEB', ['WEB Edge', 'web-cluster']],
    ['name != cache', ['db-cluster', 'WEB Edge', 'web-cluster']],
    ['name !~ cluster', ['cache', 'WEB Edge']],
    ['host = web01', ['web-cluster']],
    ['type = ForemanDlm::Dlmlock::Update', ['cache', 'db-cluster', 'WEB Edge', 'web-cluster']],
    ['type = Other::Type', []],
    ['enabled = false', ['cache']],
    ['locked = true', ['db-cluster', 'web-cluster']],
    ['locked = false', ['cache', 'WEB Edge']],
    ['stale = true', ['db-cluster']],
    ['stale = false', ['cache', 'WEB Edge', 'web-cluster']],
    ['locked = true and host = db01', ['db-cluster']],
    ['host = db01 or enabled = false', ['cache', 'db-cluster']],
    ['not locked = true', ['cache', 'WEB Edge']],
    ['not (name = cache or name = db-cluster)', ['WEB Edge', 'web-cluster']],
    ['name = "WEB Edge"', ['WEB Edge']],
    ['cluster', ['db-cluster', 'web-cluster']],
    ['name ~ %', []],
    ['name ~ _', []],
  ])('search %s', async (search, expected) => {
    const r = await s.asAdmin('GET', `/api/dlmlocks?search=${encodeURIComponent(search)}`);
    expect(r.json.search).toBe(search);
    expect(r.json.subtotal).toBe(expected.length);
    expect(r.json.total).toBe(4);
    expect(r.json.results.map((l: { name: string }) => l.name)).toEqual(expected);
  });

  it('orders by a field, both ways, and echoes the sort', async () => {
    expect(await names('order=name%20DESC')).toEqual(['web-cluster', 'WEB Edge', 'db-cluster', 'cache']);
    const r = await s.asAdmin('GET', '/api/dlmlocks?order=id%20asc');
    expect(r.json.sort).toEqual({ by: 'id', order: 'ASC' });
    const ids = r.json.results.map((l: { id: number }) => l.id);
    expect(ids).toEqual([...ids].sort((a: number, b: number) => a - b));
  });

  it('pages', async () => {
    const r = await s.asAdmin('GET', '/api/dlmlocks?per_page=3&page=2');
    expect(r.json).toMatchObject({ page: 2, per_page: 3, total: 4, subtotal: 4 });
    expect(r.json.results.map((l: { name: string }) => l.name)).toEqual(['web-cluster']);
    expect(await names('per_page=3&page=5')).toEqual([]);
    expect(await names('per_page=1000')).toHaveLength(4);
  });

  it.each(
    [
      'search=name%20%3D',
      'search=bogus%20%3D%201',
      'search=(name%20%3D%20a',
      'search=enabled%20%3D%20maybe',
      'search=name%20%3D%20%22open',
      'search=name%20%3D%20a%20and',
      `search=${'x'.repeat(2000)}`,
      'order=password',
      'order=name%20sideways',
      'page=0',
      'page=-1',
      'page=abc',
      'per_page=1001',
      'per_page=1.5',
      'per_page=0',
      'page=1&page=2',
    ].map((q) => [q.length > 40 ? `${q.slice(0, 40)}… (${q.length} chars)` : q, q]),
  )('a bad query %s is a 422 with a message', async (_label, query) => {
    const r = await s.asAdmin('GET', `/api/dlmlocks?${query}`);
    expect(r.status).toBe(422);
    expect(r.json.error.message).toMatch(/Invalid/);
  });
});
