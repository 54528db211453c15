// The pure mapping from foreman_dlm rows to a keyholder import: what is refused, what is left
// out and reported, and how holders and hosts are derived.
import { describe, expect, it } from 'vitest';
import { describeSummary, planForemanImport } from '../../src/ops/foreman-plan.js';
import type { ForemanSnapshot } from '../../src/ops/foreman-source.js';

const T = Date.UTC(2019, 6, 10, 18, 33, 47);

function snapshot(over: Partial<ForemanSnapshot> = {}): ForemanSnapshot {
  return {
    locks: [
      {
        id: 1,
        name: 'katello',
        type: 'ForemanDlm::Dlmlock::Update',
        enabled: true,
        hostId: 1,
        createdAt: T - 9e6,
        updatedAt: T,
      },
      {
        id: 2,
        name: 'legacy',
        type: 'Dlmlock::Update',
        enabled: true,
        hostId: null,
        createdAt: T,
        updatedAt: T,
      },
      { id: 3, name: 'untyped', type: null, enabled: false, hostId: 42, createdAt: T, updatedAt: T },
    ],
    events: [
      { id: 1, lockId: 1, eventType: 'acquire', hostId: 1, userId: null, createdAt: T - 60_000 },
      { id: 2, lockId: 1, eventType: 'bogus', hostId: 1, userId: null, createdAt: T },
      { id: 3, lockId: 3, eventType: 'disable', hostId: null, userId: 5, createdAt: T },
    ],
    hosts: new Map([[1, 'web1.example.com']]),
    users: new Map([[5, 'ops']]),
    checkins: new Map([[1, T]]),
    ...over,
  };
}

describe('planning a foreman_dlm import', () => {
  it('keeps holders by host name, names every lock type in keyholder terms and reports unknown hosts', () => {
    const { data, summary } = planForemanImport(snapshot());
    expect(data.locks.map((l) => [l.name, l.type, l.enabled, l.holder?.hostName ?? null])).toEqual([
      ['katello', 'ForemanDlm::Dlmlock::Update', true, 'web1.example.com'],
      ['legacy', 'ForemanDlm::Dlmlock::Update', true, null],
      ['untyped', 'ForemanDlm::Dlmlock::Update', false, null],
    ]);
    // held since its acquire event; its last refresh is the row's updated_at
    expect(data.locks[0]!.holder).toEqual({
      hostName: 'web1.example.com',
      acquiredAt: T - 60_000,
      refreshedAt: T,
    });
    expect(data.hosts).toEqual([{ name: 'web1.example.com', createdAt: T - 60_000, lastCheckinAt: T }]);
    expect(data.events.map((e) => [e.lockName, e.type, e.hostName, e.userLogin])).toEqual([
      ['katello', 'acquire', 'web1.example.com', null],
      ['untyped', 'disable', null, 'ops'],
    ]);
    expect(summary).toMatchObject({
      locks: 3,
      enabled: 2,
      disabled: 1,
      unknownHostIds: [42],
      skippedEvents: 1,
      problems: [],
    });
    expect(describeSummary(summary)).toContain('unknown host ids (not in Foreman');
  });

  it('refuses lock names and types keyholder cannot take', () => {
    const { summary } = planForemanImport(
      snapshot({
        locks: [
          { id: 1, name: 'a/b', type: null, enabled: true, hostId: null, createdAt: T, updatedAt: T },
          {
            id: 2,
            name: 'custom',
            type: 'Acme::Lock',
            enabled: true,
            hostId: null,
            createdAt: T,
            updatedAt: T,
          },
        ],
        events: [],
      }),
    );
    expect(summary.problems).toEqual([
      'lock "a/b": name must not contain /',
      'lock "custom": type Acme::Lock is not included in the list (ForemanDlm::Dlmlock::Update)',
    ]);
  });
});
