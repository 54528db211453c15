// Time stamps are formatted once per second and kept (src/lock/time.ts): the kept text must be
// what formatting afresh gives, for interleaved seconds, sub-second offsets, times before 1970,
// and after the cache has been emptied for being full.
import { describe, expect, it } from 'vitest';
import { formatNullableTimestamp, formatTimestamp } from '../../src/lock/time.js';

const fresh = (ms: number) =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19).replace('T', ' ') + ' UTC';

describe('formatTimestamp', () => {
  it("renders foreman_dlm's format, the same whether the second was seen before or not", () => {
    expect(formatTimestamp(Date.UTC(2026, 10, 28, 19, 5, 7, 999))).toBe('2026-11-28 19:05:07 UTC');
    expect(formatTimestamp(-1)).toBe('1969-12-31 23:59:59 UTC');
    expect(formatNullableTimestamp(null)).toBeNull();
    const base = Date.UTC(2026, 0, 1);
    // a lock's old creation time interleaved with the current seconds, then more seconds than kept
    for (let i = 0; i < 5000; i++) {
      for (const ms of [base - 86_400_000 * 400 + 17, base + i * 1000 + (i % 1000), base + i * 1000 + 999]) {
        expect(formatTimestamp(ms)).toBe(fresh(ms));
      }
    }
  });
});
