// The database's state for "a refused request changed nothing": the export (src/store/backup.ts)
// minus what a refusal may legitimately write — the audit trail (failed logins are audited by
// SPEC section 8) and the last-seen times of hosts and tokens. A 412 is not such a refusal: its
// `fail` event is foreman_dlm's contract.
import type { Store } from '../../src/store/store.js';

type Tables = Record<string, Array<Record<string, unknown>>>;

const IGNORED_TABLES = new Set(['audit_events']);
const IGNORED_COLUMNS: Record<string, string[]> = {
  hosts: ['last_checkin_at'],
  api_tokens: ['last_used_at'],
};

export async function stateOf(store: Store): Promise<Tables> {
  const { tables } = await store.exportData();
  const out: Tables = {};
  for (const [name, rows] of Object.entries(tables)) {
    if (IGNORED_TABLES.has(name)) continue;
    const drop = IGNORED_COLUMNS[name] ?? [];
    out[name] = rows.map((r) => Object.fromEntries(Object.entries(r).filter(([c]) => !drop.includes(c))));
  }
  return out;
}

/**
 * The first difference, as a short human description; undefined when equal. `allowNewHosts`:
 * a verified host identity on /api/dlmlocks registers its host even when the request is then
 * refused (SPEC section 2: auto-registered on the first verified request).
 */
export function difference(
  before: Tables,
  after: Tables,
  allowNewHosts = false,
  allowLockEvents = false,
): string | undefined {
  if (allowLockEvents) {
    // FleetLock's "not granted" (409) is its lock semantics, like a 412: a declared group's lock
    // may be created and a `fail` event written; hosts, users and tokens must still not change
    const { locks: _l, lock_events: _e, lock_holders: _h, ...restBefore } = before;
    const { locks: _l2, lock_events: _e2, lock_holders: _h2, ...restAfter } = after;
    before = restBefore;
    after = restAfter;
  }
  if (allowNewHosts && after.hosts && before.hosts) {
    const known = new Set(before.hosts.map((h) => h.id));
    after = { ...after, hosts: after.hosts.filter((h) => known.has(h.id)) };
  }
  for (const name of new Set([...Object.keys(before), ...Object.keys(after)])) {
    const a = before[name] ?? [];
    const b = after[name] ?? [];
    if (a.length !== b.length) {
      const added = b.filter((row) => !a.some((x) => JSON.stringify(x) === JSON.stringify(row)));
      return `${name}: ${a.length} rows became ${b.length}${added.length ? `, e.g. ${JSON.stringify(added[0]).slice(0, 300)}` : ''}`;
    }
    for (let i = 0; i < a.length; i++) {
      const x = JSON.stringify(a[i]);
      const y = JSON.stringify(b[i]);
      if (x !== y) return `${name}: row ${x.slice(0, 200)} became ${y.slice(0, 200)}`;
    }
  }
  return undefined;
}
