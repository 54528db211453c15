// The global pause as the lock JSON shows it (next_window_at) is read at most once a second:
// from memory while fresh, with no promise, and by one shared read when stale, whatever the
// number of requests that find it stale together. Real stores, both kinds.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PauseService } from '../../src/service/pause.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase, STORES, type TestDatabase } from '../support/stores.js';

const ACTOR = { userId: null, login: null, address: '127.0.0.1' };

describe.each(STORES)('%s: the global pause for rendering', (kind) => {
  let db: TestDatabase;
  let store: Store;
  let other: Store;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = db.open();
    await store.migrate();
    other = db.open();
  });
  afterAll(async () => {
    await store?.close();
    await other?.close();
    await db?.dispose();
  });

  it('reads once for requests arriving together, then answers from memory until a second has passed', async () => {
    let reads = 0;
    const getGlobalPause = store.getGlobalPause.bind(store);
    store.getGlobalPause = () => {
      reads++;
      return getGlobalPause();
    };
    const pauses = new PauseService(store);
    const together = Array.from({ length: 10 }, () => pauses.forRendering());
    expect(together.every((p) => p instanceof Promise)).toBe(true);
    expect(await Promise.all(together)).toEqual(Array(10).fill(null));
    expect(reads).toBe(1);
    // fresh: the value itself, not a promise, and no read
    expect(pauses.forRendering()).toBeNull();
    expect(reads).toBe(1);

    // another instance pauses: seen here once the cached read is a second old
    const until = Date.now() + 3_600_000;
    await new PauseService(other).set({ until, reason: 'freeze' }, ACTOR);
    expect(pauses.forRendering()).toBeNull();
    await new Promise((r) => setTimeout(r, 1050));
    const stale = pauses.forRendering();
    expect(stale).toBeInstanceOf(Promise);
    expect(await stale).toMatchObject({ reason: 'freeze' });
    expect(reads).toBe(2);
    expect(pauses.forRendering()).toMatchObject({ reason: 'freeze' });
  });
});
