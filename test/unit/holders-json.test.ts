// `holderColumnsOf` (SQLite's fast host rule) writes the holders without building the stored
// objects first: it must store exactly what the general writer stores for the same holders.
import { describe, expect, it } from 'vitest';
import { holderColumns, holderColumnsOf, toStoredHolders } from '../../src/store/holders-json.js';
import type { Holder } from '../../src/lock/types.js';

const holder = (hostId: number, token: number, extra: Partial<Holder> = {}): Holder => ({
  hostId,
  hostName: `h${hostId}`,
  acquiredAt: 1_700_000_000_000 + token,
  refreshedAt: 1_700_000_000_500 + token,
  fencingToken: token,
  expiresAt: null,
  ...extra,
});

describe('holderColumnsOf', () => {
  const cases: [string, Holder[], Map<number, number>][] = [
    ['no holders', [], new Map()],
    ['one holder without a lease', [holder(7, 3)], new Map()],
    [
      'leases, a slot through a child and stale reports',
      [
        holder(1, 4, { expiresAt: 1_800_000_000_000 }),
        holder(2, 9, { viaLockId: 12, viaLockName: 'child', expiresAt: null }),
        holder(3, 11, { expiresAt: 1_799_999_999_999 }),
      ],
      new Map([[2, 1_700_000_001_234]]),
    ],
    ['holders out of token order (the general way)', [holder(1, 9), holder(2, 4)], new Map([[1, 5]])],
  ];

  it.each(cases)('%s: the same text, count and next expiry', (_name, holders, reports) => {
    const general = holderColumns(toStoredHolders(holders, (id) => reports.get(id) ?? null));
    expect(holderColumnsOf(holders, reports)).toEqual(general);
  });
});
