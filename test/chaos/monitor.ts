// The continuous check, a few times a second while the faults happen: from the database, no
// lock has more holders than max_holders, and every acquire the ledger holds as acknowledged
// (and not being operated on right now) is there with its fencing token.
import type { DbReader, HolderRow } from './db.js';
import type { Ledger, Pair } from './ledger.js';
import { sleep } from './random.js';

function checkRows(
  ledger: Ledger,
  rows: HolderRow[],
  snapshot: Array<[Pair, number, number]>,
  final: boolean,
) {
  const perLock = new Map<string, HolderRow[]>();
  for (const r of rows) perLock.set(r.lock, [...(perLock.get(r.lock) ?? []), r]);
  for (const [lock, holders] of perLock) {
    if (holders.length > holders[0]!.maxHolders) {
      ledger.violation(
        'over max_holders (database)',
        `${lock}: ${holders.length} holders (${holders.map((h) => h.host).join(', ')}), max ${holders[0]!.maxHolders}`,
      );
    }
  }
  for (const [pair, version, token] of snapshot) {
    if (pair.version !== version) continue; // an operation started or ended meanwhile
    ledger.counts.holderRowsChecked++;
    const row = perLock.get(pair.lock)?.find((r) => r.host === pair.host);
    if (!row || row.token !== token) {
      ledger.violation(
        'acknowledged acquire lost',
        `${pair.lock} by ${pair.host} (token ${token}): ${row ? `token ${row.token} in the database` : 'no holder row'}${final ? ' at the end' : ''}`,
      );
      pair.belief = { state: 'unknown' };
    } else ledger.verified(pair);
  }
}

function snapshotHeld(ledger: Ledger): Array<[Pair, number, number]> {
  const out: Array<[Pair, number, number]> = [];
  for (const p of ledger.pairs.values()) {
    if (p.belief.state === 'held' && !p.busy) out.push([p, p.version, p.belief.token]);
  }
  return out;
}

/** One round; false when the database could not be read (it is down: a fault). */
export async function checkOnce(ledger: Ledger, reader: DbReader, final = false): Promise<boolean> {
  const snapshot = snapshotHeld(ledger);
  const rows = await reader.holders();
  if (!rows) return false;
  checkRows(ledger, rows, snapshot, final);
  return true;
}

export async function runMonitor(ledger: Ledger, reader: DbReader, stopping: () => boolean): Promise<void> {
  while (!stopping()) {
    ledger.counts.monitorRounds++;
    if (!(await checkOnce(ledger, reader))) ledger.counts.monitorReadFailures++;
    await sleep(200);
  }
}
