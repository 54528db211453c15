// Health gates' pure parts: validation of definitions, the rule's order of checks (gates last,
// never for a holder's refresh), verdicts bound to a definition, thresholds and check-in
// minimums; and the cache's one check in flight per gate.
import { describe, expect, it } from 'vitest';
import { GateCache } from '../../src/gates/cache.js';
import {
  checkGates,
  compare,
  gateKey,
  parseGates,
  type GateDefinition,
  type GateVerdicts,
} from '../../src/lock/gates.js';
import { decideBlockingAcquire } from '../../src/lock/queue.js';
import { decideAcquire } from '../../src/lock/rules.js';
import type { HostRef, LockState } from '../../src/lock/types.js';
import { lockState } from '../support/lock-state.js';

const NOW = 1_700_000_000_000;
const A: HostRef = { id: 1, name: 'a', canAcquireLocks: true };
const B: HostRef = { id: 2, name: 'b', canAcquireLocks: true };

const HEALTH: GateDefinition = {
  name: 'health',
  type: 'http',
  url: 'http://127.0.0.1:9/',
  cache_seconds: 10,
  timeout_seconds: 5,
};

function lock(over: Partial<LockState> = {}): LockState {
  return lockState({ gates: [HEALTH], ...over }, NOW - 10_000);
}

const verdict = (ok: boolean, gate = HEALTH): GateVerdicts =>
  new Map([[gate.name, { key: gateKey(gate), ok, detail: ok ? 'HTTP 200' : 'HTTP 503' }]]);

describe('parseGates', () => {
  it('accepts each type, fills in the defaults and keeps credentials by name', () => {
    const { gates, problems } = parseGates([
      {
        name: 'no-critical-alerts',
        type: 'prometheus',
        url: 'https://prom.example:9090',
        query: 'ALERTS{severity="critical"}',
        expect: 'empty',
        credentials: 'prom',
      },
      { name: 'ratio', type: 'prometheus', url: 'http://p', query: 'x', expect: { op: '<', value: 0.05 } },
      {
        name: 'am',
        type: 'alertmanager',
        url: 'http://am',
        matchers: ['severity=critical', 'cluster=~"db.*"'],
      },
      {
        name: 'up',
        type: 'http',
        url: 'http://h/health',
        timeout_seconds: 2,
        body_regex: '^ok',
        cache_seconds: 0,
      },
      { name: 'fleet', type: 'checkins', min: '90%', within_seconds: 3600 },
    ]);
    expect(problems).toEqual([]);
    expect(gates[0]).toEqual({
      name: 'no-critical-alerts',
      cache_seconds: 10,
      type: 'prometheus',
      url: 'https://prom.example:9090',
      timeout_seconds: 5,
      credentials: 'prom',
      query: 'ALERTS{severity="critical"}',
      expect: 'empty',
    });
    expect(gates[3]).toMatchObject({ timeout_seconds: 2, cache_seconds: 0, body_regex: '^ok' });
    expect(gates[4]).toEqual({
      name: 'fleet',
      cache_seconds: 10,
      type: 'checkins',
      min: '90%',
      within_seconds: 3600,
    });
    expect(parseGates(null)).toEqual({ gates: [], problems: [] });
    expect(parseGates([])).toEqual({ gates: [], problems: [] });
  });

  it.each([
    ['not a list', { name: 'x' }, 'must be a list'],
    ['no name', [{ type: 'http', url: 'http://h' }], 'name must be'],
    ['a name unfit for a header', [{ name: 'a b', type: 'http', url: 'http://h' }], 'name must be'],
    ['unknown type', [{ name: 'x', type: 'nagios' }], 'type must be one of'],
    ['unknown key', [{ name: 'x', type: 'http', url: 'http://h', query: 'q' }], "unknown key 'query'"],
    ['ftp url', [{ name: 'x', type: 'http', url: 'ftp://h' }], 'http:// or https://'],
    ['no url', [{ name: 'x', type: 'http' }], 'http:// or https://'],
    ['a password in the url', [{ name: 'x', type: 'http', url: 'http://u:pw@h' }], 'must not carry a user'],
    [
      'timeout above 30 s',
      [{ name: 'x', type: 'http', url: 'http://h', timeout_seconds: 31 }],
      'timeout_seconds',
    ],
    [
      'cache above an hour',
      [{ name: 'x', type: 'http', url: 'http://h', cache_seconds: 3601 }],
      'cache_seconds',
    ],
    ['negative cache', [{ name: 'x', type: 'http', url: 'http://h', cache_seconds: -1 }], 'cache_seconds'],
    ['bad regex', [{ name: 'x', type: 'http', url: 'http://h', body_regex: '(' }], 'not a valid regular'],
    [
      'bad expect',
      [{ name: 'x', type: 'prometheus', url: 'http://p', query: 'q', expect: 'none' }],
      'expect must',
    ],
    [
      'bad op',
      [{ name: 'x', type: 'prometheus', url: 'http://p', query: 'q', expect: { op: '=', value: 1 } }],
      'expect must',
    ],
    ['no query', [{ name: 'x', type: 'prometheus', url: 'http://p', expect: 'empty' }], 'query must'],
    [
      'bad matcher',
      [{ name: 'x', type: 'alertmanager', url: 'http://a', matchers: ['severity'] }],
      'matchers must',
    ],
    ['min 0', [{ name: 'x', type: 'checkins', min: 0, within_seconds: 60 }], 'min must'],
    ['min 150%', [{ name: 'x', type: 'checkins', min: '150%', within_seconds: 60 }], 'min must'],
    ['no within', [{ name: 'x', type: 'checkins', min: 1 }], 'within_seconds'],
    [
      'url on checkins',
      [{ name: 'x', type: 'checkins', min: 1, within_seconds: 9, url: 'http://h' }],
      "unknown key 'url'",
    ],
    [
      'a secret-looking credentials value',
      [{ name: 'x', type: 'http', url: 'http://h', credentials: 'Bearer abc' }],
      'credentials must',
    ],
    [
      'two gates of one name',
      [
        { name: 'x', type: 'http', url: 'http://h' },
        { name: 'x', type: 'http', url: 'http://i' },
      ],
      'named twice',
    ],
  ])('refuses %s', (_what, raw, message) => {
    const { gates, problems } = parseGates(raw);
    expect(gates).toEqual([]);
    expect(problems.join('; ')).toContain(message);
  });
});

describe('the acquire rule with gates', () => {
  it('asks for verdicts only when everything else would admit the host', () => {
    expect(decideAcquire(lock(), A, NOW)).toMatchObject({ ok: false, reason: 'gates_needed', events: [] });
    const held = lock({
      holders: [
        { hostId: 2, hostName: 'b', acquiredAt: NOW, refreshedAt: NOW, fencingToken: 1, expiresAt: null },
      ],
    });
    expect(decideAcquire(held, A, NOW)).toMatchObject({ ok: false, reason: 'held' });
    expect(decideAcquire(lock({ enabled: false }), A, NOW)).toMatchObject({ reason: 'disabled' });
    expect(decideAcquire(lock(), A, NOW, { host: A }, 1)).toMatchObject({ reason: 'queued' });
  });

  it('a holder refreshes without any gate check', () => {
    const mine = lock({
      holders: [
        { hostId: 1, hostName: 'a', acquiredAt: NOW, refreshedAt: NOW, fencingToken: 1, expiresAt: null },
      ],
    });
    expect(decideAcquire(mine, A, NOW + 5)).toMatchObject({ ok: true, outcome: 'refreshed' });
    expect(decideAcquire(mine, A, NOW + 5, { host: A }, 0, { gateVerdicts: verdict(false) })).toMatchObject({
      ok: true,
      outcome: 'refreshed',
    });
  });

  it('admits on passing verdicts, refuses with gate_failed and a fail event otherwise', () => {
    expect(decideAcquire(lock(), A, NOW, { host: A }, 0, { gateVerdicts: verdict(true) })).toMatchObject({
      ok: true,
      outcome: 'acquired',
    });
    const refused = decideAcquire(lock(), A, NOW, { host: A }, 0, { gateVerdicts: verdict(false) });
    expect(refused).toMatchObject({ ok: false, reason: 'gate_failed' });
    expect(refused.events.map((e) => [e.type, e.detail])).toEqual([['fail', 'acquire: gate_failed']]);
  });

  it('a verdict for another definition of the gate does not count', () => {
    const changed = { ...HEALTH, url: 'http://127.0.0.1:9/other' };
    expect(checkGates([changed], verdict(true))).toEqual({ kind: 'needed' });
    expect(checkGates([HEALTH], verdict(false))).toEqual({
      kind: 'failed',
      gate: 'health',
      detail: 'HTTP 503',
    });
    expect(checkGates([], new Map())).toEqual({ kind: 'pass' });
  });

  it('a blocking acquire keeps waiting on a failing gate and does not queue for missing verdicts', () => {
    const wait = { deadline: NOW + 10_000, final: false };
    const needed = decideBlockingAcquire(lock(), B, NOW, [], wait);
    expect(needed.keepWaiting).toBe(false);
    expect(needed.enqueue).toBeUndefined();
    expect(needed.dequeue).toBeUndefined();
    const failing = decideBlockingAcquire(lock(), B, NOW, [], wait, { gateVerdicts: verdict(false) });
    expect(failing).toMatchObject({ keepWaiting: true, enqueue: { deadline: NOW + 10_000 }, events: [] });
  });
});

describe('thresholds and minimums', () => {
  it.each([
    [0.01, '<', 0.05, true],
    [0.05, '<', 0.05, false],
    [0.05, '<=', 0.05, true],
    [2, '>', 1, true],
    [1, '>=', 1, true],
    [3, '==', 3, true],
    [3, '!=', 3, false],
  ] as const)('%d %s %d is %s', (value, op, threshold, ok) => {
    expect(compare(value, op, threshold)).toBe(ok);
  });
});

describe('GateCache', () => {
  it('one check in flight per gate, then the result for cache_seconds', async () => {
    let clock = NOW;
    const cache = new GateCache(() => clock);
    const key = GateCache.key(7, HEALTH);
    let runs = 0;
    let release!: () => void;
    const slow = () =>
      new Promise<{ ok: boolean; detail: string }>((resolve) => {
        runs++;
        release = () => resolve({ ok: true, detail: 'HTTP 200' });
      });
    const all = Promise.all(Array.from({ length: 50 }, () => cache.get(key, HEALTH, slow)));
    await new Promise((r) => setTimeout(r, 10));
    release();
    const results = await all;
    expect(runs).toBe(1);
    expect(results.filter((r) => r.checked)).toHaveLength(1);
    expect(new Set(results.map((r) => r.result.ok))).toEqual(new Set([true]));
    clock += 9_999;
    await cache.get(key, HEALTH, async () => ({ ok: false, detail: 'x' }));
    expect(cache.fresh(key, HEALTH)?.ok).toBe(true);
    clock += 1;
    const after = await cache.get(key, HEALTH, async () => ({ ok: false, detail: 'HTTP 503' }));
    expect(after).toMatchObject({ checked: true, result: { ok: false, detail: 'HTTP 503' } });
    // another definition of the gate is another key
    expect(GateCache.key(7, { ...HEALTH, timeout_seconds: 1 })).not.toBe(key);
  });
});
