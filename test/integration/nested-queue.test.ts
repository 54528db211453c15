// Nested locks, first come first served at every level: a host blocking on the parent
// (dc-berlin) and a host blocking on a child (rack-1) compete for the parent's place, and the
// one that asked first gets it, in either order. A waiter whose own lock is full does not hold
// the parent up; one that leaves without a grant (time up, client gone) lets the waiter it held
// back on another level in at once. Over real HTTPS on both stores.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestResponse } from '../support/http.js';
import { startTestServer, type TestServer } from '../support/server.js';
import { STORES } from '../support/stores.js';
import { untilWaiters } from '../support/db-sql.js';
import { resolvesWithin } from '../support/within.js';

/** The test's own bound on an answer that is due (the waiters ask for 60 s). */
const ANSWER_MS = 8_000;
/**
 * The bound on a held-back waiter's answer after the waiter ahead of it left: well within the
 * wait queue's 10 s re-check, which would answer it without the wake-up.
 */
const LEFT_MS = 4_000;

describe.each(STORES)('first come first served across the levels of nested locks on %s', (kind) => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer(kind);
  });
  afterAll(() => s?.close());

  const enc = encodeURIComponent;
  const acquire = (host: string, lock: string, query = '') =>
    s.asHost(host, 'PUT', `/api/dlmlocks/${enc(lock)}/lock${query}`);
  const release = (host: string, lock: string) => s.asHost(host, 'DELETE', `/api/dlmlocks/${enc(lock)}/lock`);
  const create = async (name: string, attrs: Record<string, unknown> = {}) => {
    const r = await s.asAdmin('POST', '/api/dlmlocks', { body: { dlmlock: { name, ...attrs } } });
    expect(r.status, r.text).toBe(201);
  };
  const holders = async (lock: string) =>
    ((await s.asAdmin('GET', `/api/dlmlocks/${enc(lock)}`)).json.holders as { name: string }[])
      .map((h) => h.name)
      .sort();

  /**
   * A host blocking on a lock, once its entry is in the queue (`queued` entries in all). The
   * answer comes wrapped: an async function returning it bare would wait for it.
   */
  async function waiter(
    host: string,
    lock: string,
    queued: number,
  ): Promise<{ answer: Promise<TestResponse> }> {
    const answer = acquire(host, lock, '?wait=60');
    await untilWaiters(s.db, queued);
    return { answer };
  }

  /** Whether the answer has come (without waiting for it). */
  async function answered(p: Promise<unknown>): Promise<boolean> {
    const pending = Symbol('pending');
    return (await Promise.race([p, new Promise((r) => setImmediate(() => r(pending)))])) !== pending;
  }

  it("the parent's earlier waiter gets the parent's place before a child's later waiter", async () => {
    const dc = `dc-first-${kind}`;
    const rack = `rack-first-${kind}`;
    await create(dc);
    await create(rack, { parent: dc });
    expect((await acquire('pf-holder', dc)).status).toBe(200);
    const { answer: parentWaiter } = await waiter('pf-parent', dc, 1);
    const { answer: childWaiter } = await waiter('pf-child', rack, 2);

    expect((await release('pf-holder', dc)).status).toBe(200);
    const first = await resolvesWithin(parentWaiter, ANSWER_MS, "the parent's waiter");
    expect(first.status, first.text).toBe(200);
    expect(await holders(dc)).toEqual(['pf-parent']);
    // the child's waiter is still queued behind it
    await untilWaiters(s.db, 1);
    expect(await answered(childWaiter)).toBe(false);

    expect((await release('pf-parent', dc)).status).toBe(200);
    const second = await resolvesWithin(childWaiter, ANSWER_MS, "the child's waiter");
    expect(second.status, second.text).toBe(200);
    expect(await holders(dc)).toEqual(['pf-child']);
    expect(await holders(rack)).toEqual(['pf-child']);
    expect((await release('pf-child', rack)).status).toBe(200);
    await untilWaiters(s.db, 0);
  }, 30_000);

  it("a child's earlier waiter gets the parent's place before the parent's later waiter", async () => {
    const dc = `dc-second-${kind}`;
    const rack = `rack-second-${kind}`;
    await create(dc);
    await create(rack, { parent: dc });
    expect((await acquire('cf-holder', dc)).status).toBe(200);
    const { answer: childWaiter } = await waiter('cf-child', rack, 1);
    const { answer: parentWaiter } = await waiter('cf-parent', dc, 2);

    expect((await release('cf-holder', dc)).status).toBe(200);
    const first = await resolvesWithin(childWaiter, ANSWER_MS, "the child's waiter");
    expect(first.status, first.text).toBe(200);
    expect(await holders(dc)).toEqual(['cf-child']);
    await untilWaiters(s.db, 1);
    expect(await answered(parentWaiter)).toBe(false);

    // the child's release frees the parent's place with it
    expect((await release('cf-child', rack)).status).toBe(200);
    const second = await resolvesWithin(parentWaiter, ANSWER_MS, "the parent's waiter");
    expect(second.status, second.text).toBe(200);
    expect(await holders(dc)).toEqual(['cf-parent']);
    expect((await release('cf-parent', dc)).status).toBe(200);
    await untilWaiters(s.db, 0);
  }, 30_000);

  it("a waiter whose own lock is full does not hold the parent's free place up", async () => {
    const dc = `dc-open-${kind}`;
    const rack = `rack-open-${kind}`;
    await create(dc, { max_holders: 2 });
    await create(rack, { parent: dc });
    expect((await acquire('op-rack', rack)).status).toBe(200);
    // waits for the rack, not for the data centre
    const { answer: rackWaiter } = await waiter('op-waiter', rack, 1);
    const direct = await acquire('op-direct', dc);
    expect(direct.status, direct.text).toBe(200);
    expect(await holders(dc)).toEqual(['op-direct', 'op-rack']);
    expect((await release('op-direct', dc)).status).toBe(200);
    expect((await release('op-rack', rack)).status).toBe(200);
    expect((await resolvesWithin(rackWaiter, ANSWER_MS, "the rack's waiter")).status).toBe(200);
    expect((await release('op-waiter', rack)).status).toBe(200);
    await untilWaiters(s.db, 0);
  }, 30_000);
  /**
   * Three levels: dc (2 places) > row (1) > rack (1). `blocker` holds the row (and so one of the
   * data centre's places); a rack waiter, blocked by the row, asked first and counts at the data
   * centre (levels between are taken as open, src/lock/tree-queue.ts): a later data-centre
   * waiter is held back though a place is free, until the rack waiter leaves.
   */
  async function heldBackByRackWaiter(tag: string, rackWait: { query: string; timeoutMs?: number }) {
    const dc = `dc-${tag}-${kind}`;
    const row = `row-${tag}-${kind}`;
    const rack = `rack-${tag}-${kind}`;
    await create(dc, { max_holders: 2 });
    await create(row, { parent: dc });
    await create(rack, { parent: row });
    expect((await acquire(`${tag}-blocker`, row)).status).toBe(200);
    const rackWaiter = s
      .asHost(`${tag}-rack`, 'PUT', `/api/dlmlocks/${enc(rack)}/lock${rackWait.query}`, {
        timeoutMs: rackWait.timeoutMs,
      })
      .then(
        (r) => r.status,
        () => 'gone' as const,
      );
    await untilWaiters(s.db, 1);
    const { answer: dcWaiter } = await waiter(`${tag}-dc`, dc, 2);
    return { dc, row, rackWaiter, dcWaiter };
  }

  it('a waiter whose time is up wakes the later waiter it held back on another level', async () => {
    const { dc, row, rackWaiter, dcWaiter } = await heldBackByRackWaiter('timeup', { query: '?wait=2' });
    expect(await answered(dcWaiter)).toBe(false);
    expect(await rackWaiter).toBe(412);
    // at once, not at the 10 s re-check
    const admitted = await resolvesWithin(dcWaiter, LEFT_MS, "the data centre's waiter");
    expect(admitted.status, admitted.text).toBe(200);
    expect(await holders(dc)).toEqual(['timeup-blocker', 'timeup-dc']);
    expect((await release('timeup-dc', dc)).status).toBe(200);
    expect((await release('timeup-blocker', row)).status).toBe(200);
    await untilWaiters(s.db, 0);
  }, 30_000);

  it('a waiter whose client went away wakes the later waiter it held back on another level', async () => {
    const { dc, row, rackWaiter, dcWaiter } = await heldBackByRackWaiter('gone', {
      query: '?wait=60',
      timeoutMs: 1500,
    });
    expect(await rackWaiter).toBe('gone');
    const admitted = await resolvesWithin(dcWaiter, LEFT_MS, "the data centre's waiter");
    expect(admitted.status, admitted.text).toBe(200);
    expect(await holders(dc)).toEqual(['gone-blocker', 'gone-dc']);
    expect((await release('gone-dc', dc)).status).toBe(200);
    expect((await release('gone-blocker', row)).status).toBe(200);
    await untilWaiters(s.db, 0);
  }, 30_000);
});
