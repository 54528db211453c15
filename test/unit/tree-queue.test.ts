// Nested locks, first come first served at every level: which earlier waiters of a tree compete
// for a level's place (src/lock/tree-queue.ts), and what acquireUpward answers with them.
import { describe, expect, it } from 'vitest';
import { acquireUpward, type Family } from '../../src/lock/nested.js';
import { decideAcquire } from '../../src/lock/rules.js';
import { competingAhead, type TreeQueue, type TreeWaiter } from '../../src/lock/tree-queue.js';
import type { HostRef } from '../../src/lock/types.js';
import { lockState } from '../support/lock-state.js';

const NOW = 1_700_000_000_000;
const host = (id: number): HostRef => ({ id, name: `h${id}`, canAcquireLocks: true });
const DC = 1;
const RACK1 = 2;
const RACK2 = 3;
const dc = lockState({ id: DC, name: 'dc-berlin', maxHolders: 1, children: ['rack-1', 'rack-2'] });
const rack1 = lockState({ id: RACK1, name: 'rack-1', parentId: DC, parent: 'dc-berlin' });
const holder = (hostId: number, via?: number) => ({
  hostId,
  hostName: `h${hostId}`,
  acquiredAt: NOW - 1000,
  refreshedAt: NOW - 1000,
  fencingToken: 1,
  expiresAt: null,
  ...(via === undefined ? {} : { viaLockId: via, viaLockName: 'x' }),
});

function tree(waiters: TreeWaiter[], full: number[] = []): TreeQueue {
  const locks = new Map(
    [DC, RACK1, RACK2].map((id) => [
      id,
      { enabled: true, maxHolders: 1, holding: full.includes(id) ? 1 : 0 },
    ]),
  );
  return { waiters, locks };
}
const at = (id: number, hostId: number, lockId: number, chainLevelId = lockId): TreeWaiter => ({
  id,
  hostId,
  lockId,
  chainLevelId,
});

describe('competingAhead', () => {
  const chain = [RACK1, DC];
  it("counts the level's own waiters and the waiters below it that have a place at their own lock", () => {
    const t = tree([at(10, 20, DC), at(11, 21, RACK2, DC), at(12, 22, RACK1)]);
    expect(competingAhead(t, chain, 1, dc, 99)).toBe(3);
    // at the rack itself only its own waiter
    expect(competingAhead(t, chain, 0, rack1, 99)).toBe(1);
  });

  it('leaves out a waiter whose own lock is full, one whose host holds the level, and the host itself', () => {
    expect(competingAhead(tree([at(11, 21, RACK2, DC)], [RACK2]), chain, 1, dc, 99)).toBe(0);
    // only the first of a lock's queue has its one place
    expect(competingAhead(tree([at(11, 21, RACK2, DC), at(12, 22, RACK2, DC)]), chain, 1, dc, 99)).toBe(1);
    const holding = { ...dc, holders: [holder(21, RACK2)] };
    expect(competingAhead(tree([at(11, 21, RACK2, DC)]), chain, 1, holding, 99)).toBe(0);
    expect(competingAhead(tree([at(11, 99, RACK2, DC)]), chain, 1, dc, 99)).toBe(0);
  });

  it("a waiter above the level is not the level's", () => {
    // seen from the rack (index 0), the data centre's own waiter competes higher up only
    expect(competingAhead(tree([at(10, 20, DC)]), chain, 0, rack1, 99)).toBe(0);
  });
});

describe('acquireUpward with the tree queue', () => {
  const family = (t: TreeQueue): Family => ({ ancestors: [dc], siblings: [], tree: t });

  it("a child's acquire waits for the parent's earlier waiter (queued@dc-berlin)", () => {
    const own = decideAcquire(rack1, host(5), NOW);
    const { decision } = acquireUpward(own, rack1, host(5), NOW, family(tree([at(10, 20, DC)])));
    expect(decision).toMatchObject({ ok: false, reason: 'queued', level: 'dc-berlin' });
    expect(decision.events.map((e) => e.detail)).toEqual(['acquire: queued@dc-berlin']);
    // without anyone earlier it takes both levels
    const free = acquireUpward(own, rack1, host(5), NOW, family(tree([])));
    expect(free.decision.ok).toBe(true);
    expect(free.chain?.ancestors[0]?.holders.map((h) => h.hostId)).toEqual([5]);
  });

  it("the parent's acquire waits for a child's earlier waiter that has its place below (queued)", () => {
    const own = decideAcquire(dc, host(5), NOW);
    const chainOfDc: Family = { ancestors: [], siblings: [] };
    // seen from the data centre, the rack is below it: its chain level is the data centre
    const below = tree([at(10, 20, RACK1, DC)]);
    expect(acquireUpward(own, dc, host(5), NOW, { ...chainOfDc, tree: below }).decision).toMatchObject({
      ok: false,
      reason: 'queued',
    });
    // the rack's waiter whose rack is full waits for the rack: the data centre admits
    const fullBelow = tree([at(10, 20, RACK1, DC)], [RACK1]);
    expect(acquireUpward(own, dc, host(5), NOW, { ...chainOfDc, tree: fullBelow }).decision.ok).toBe(true);
    // a refresh takes no new place
    const held = { ...dc, holders: [holder(5)] };
    const refresh = decideAcquire(held, host(5), NOW);
    expect(acquireUpward(refresh, held, host(5), NOW, { ...chainOfDc, tree: below }).decision.ok).toBe(true);
  });
});
