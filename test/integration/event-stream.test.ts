// GET /api/events/stream on both stores, over real HTTPS: lock changes arrive as they happen
// with the event id, `?lock=` narrows them, Last-Event-ID resumes exactly after what was seen,
// the UI's session cookie works, the per-instance limit holds, and a second instance on the
// same database sees the first one's changes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { startServer, type RunningServer } from '../../src/server.js';
import { ADMIN, startTestServer, type TestServer } from '../support/server.js';
import { openSse, type SseStream } from '../support/sse.js';
import { STORES } from '../support/stores.js';

const MAX_STREAMS = 3;
const basic = { authorization: `Basic ${Buffer.from(ADMIN.join(':')).toString('base64')}` };

describe.each(STORES)('the live event stream on %s', (kind) => {
  let s: TestServer;
  const open: SseStream[] = [];
  const stream = async (path: string, headers: Record<string, string> = basic) => {
    const st = await openSse(s.url, s.pki.ca.certPem, path, headers);
    open.push(st);
    return st;
  };
  const closeAll = async () => {
    for (const st of open.splice(0)) {
      st.close();
      await st.ended;
    }
  };
  const acquire = (lock: string, host = 'sse-host') => s.asHost(host, 'PUT', `/api/dlmlocks/${lock}/lock`);
  const release = (lock: string, host = 'sse-host') => s.asHost(host, 'DELETE', `/api/dlmlocks/${lock}/lock`);
  const parsed = (st: SseStream) => st.messages.map((m) => ({ id: Number(m.id), ...JSON.parse(m.data) }));

  beforeAll(async () => {
    s = await startTestServer(kind, { http: { maxEventStreams: MAX_STREAMS } });
  });
  afterAll(async () => {
    await closeAll();
    await s?.close();
  });

  it('sends each lock change as it happens, with the event id', async () => {
    const st = await stream('/api/events/stream');
    expect(st.status).toBe(200);
    expect(st.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(st.headers['strict-transport-security']).toBe('max-age=31536000');
    expect(st.headers['x-content-type-options']).toBe('nosniff');
    expect((await acquire('sse-a')).status).toBe(200);
    expect((await release('sse-a')).status).toBe(200);
    // create (foreman_dlm creates on acquire), acquire, release
    await st.waitFor(3);
    const events = parsed(st);
    expect(events.map((e) => [e.event_type, e.lock.name])).toEqual([
      ['create', 'sse-a'],
      ['acquire', 'sse-a'],
      ['release', 'sse-a'],
    ]);
    expect(events[1].host).toEqual({ name: 'sse-host' });
    expect(events.map((e) => e.id)).toEqual(events.map((e) => e.id).sort((a, b) => a - b));
    for (const e of events) expect(e.id).toBe(Number(st.messages[events.indexOf(e)]!.id));
    await closeAll();
  });

  it('narrows the stream to one lock with ?lock=', async () => {
    const st = await stream('/api/events/stream?lock=sse-b');
    await acquire('sse-other');
    await acquire('sse-b');
    await st.waitFor(2);
    // give a stray event of the other lock the chance to arrive: none must
    await release('sse-other');
    await release('sse-b');
    await st.waitFor(3);
    expect(parsed(st).map((e) => [e.event_type, e.lock.name])).toEqual([
      ['create', 'sse-b'],
      ['acquire', 'sse-b'],
      ['release', 'sse-b'],
    ]);
    await closeAll();
  });

  it('resumes after Last-Event-ID with exactly what was missed', async () => {
    const first = await stream('/api/events/stream?lock=sse-c');
    await acquire('sse-c');
    const [created] = await first.waitFor(1);
    await first.waitFor(2);
    await closeAll();
    // while nobody listens
    await release('sse-c');
    await acquire('sse-c', 'sse-host-2');
    const resumed = await stream('/api/events/stream?lock=sse-c', {
      ...basic,
      'last-event-id': created!.id!,
    });
    await resumed.waitFor(3);
    expect(parsed(resumed).map((e) => [e.event_type, e.host?.name])).toEqual([
      ['acquire', 'sse-host'],
      ['release', 'sse-host'],
      ['acquire', 'sse-host-2'],
    ]);
    expect(Number(resumed.messages[0]!.id)).toBeGreaterThan(Number(created!.id));
    await closeAll();
  });

  it('accepts the web UI session cookie and refuses the unauthenticated and bad ids', async () => {
    const login = await s.request('POST', '/api/session', { body: { login: ADMIN[0], password: ADMIN[1] } });
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    const st = await stream('/api/events/stream?lock=sse-d', { cookie });
    expect(st.status).toBe(200);
    await acquire('sse-d');
    await st.waitFor(2);
    await closeAll();

    const anonymous = await stream('/api/events/stream', {});
    expect(anonymous.status).toBe(401);
    const badId = await stream('/api/events/stream', { ...basic, 'last-event-id': 'yesterday' });
    expect(badId.status).toBe(422);
    expect(JSON.parse(await badId.body()).error.message).toMatch(/Last-Event-ID/);
    await closeAll();
  });

  it(`serves at most ${MAX_STREAMS} streams per instance, then 503 too_many_streams`, async () => {
    for (let i = 0; i < MAX_STREAMS; i++) expect((await stream('/api/events/stream')).status).toBe(200);
    const refused = await stream('/api/events/stream');
    expect(refused.status).toBe(503);
    expect(JSON.parse(await refused.body()).error.message).toMatch(/Too many event streams/);
    await closeAll();
    // the slots come back once the clients are gone
    await expect.poll(async () => (await stream('/api/events/stream')).status, { timeout: 5000 }).toBe(200);
    await closeAll();
  });

  it('delivers changes made through another instance on the same database', async () => {
    const config = loadConfig({
      env: {},
      flags: {
        dataDir: s.db.dataDir,
        host: '127.0.0.1',
        port: 0,
        database: { url: s.db.url },
        tls: { cert: s.pki.serverCertPath, key: s.pki.serverKeyPath, ca: s.pki.caPath },
        adminPassword: ADMIN[1],
        log: { level: 'silent' },
      },
    });
    let other: RunningServer | undefined;
    try {
      other = await startServer(config);
      const st = await stream('/api/events/stream?lock=sse-e');
      const otherHost = await s.host('sse-host');
      const { httpsRequest } = await import('../support/http.js');
      const r = await httpsRequest(
        `https://127.0.0.1:${other.port}`,
        s.pki.ca.certPem,
        'PUT',
        '/api/dlmlocks/sse-e/lock',
        { cert: otherHost },
      );
      expect(r.status).toBe(200);
      await st.waitFor(2, 5000);
      expect(parsed(st).map((e) => e.event_type)).toEqual(['create', 'acquire']);
    } finally {
      await closeAll();
      await other?.close();
    }
  });
});
