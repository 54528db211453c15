// What a lock change tells the waiters of every instance (PostgreSQL NOTIFY payload; SQLite
// hands the same values over in process): which lock changed and which waiters, named by
// queue id, may now be admitted. The queue order lives in the database, so naming the head
// lets each instance wake exactly its own waiters among it, even when another instance's
// waiter is first.

export interface LockChangeNote {
  /** null: every lock (the global pause changed), so every waiter of every lock may */
  lockId: number | null;
  /** the waiters at the head that may now get in; undefined: any waiter of the lock may */
  wake?: number[];
  /** the instance that made the change (it has told its own waiters already) */
  from?: string;
}

/** NOTIFY payloads are limited to 8000 bytes; MAX_NAMED_WAITERS ids stay far below. */
export function encodeChangeNote(note: LockChangeNote): string {
  return JSON.stringify({ lock: note.lockId, wake: note.wake, from: note.from });
}

/**
 * null: the payload says nothing usable, so anything may have changed. A bare lock id (the
 * payload of earlier versions, during a rolling upgrade) wakes every waiter of that lock.
 */
export function decodeChangeNote(payload: string | undefined): LockChangeNote | null {
  if (payload === undefined) return null;
  if (/^\d+$/.test(payload)) return { lockId: Number(payload) };
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null) return null;
  const { lock, wake, from } = parsed as Record<string, unknown>;
  // every lock: earlier versions read it as "anything may have changed", which it is
  if (lock === null) return { lockId: null, from: typeof from === 'string' ? from : undefined };
  if (!Number.isSafeInteger(lock)) return null;
  const ids =
    Array.isArray(wake) && wake.every((id) => Number.isSafeInteger(id)) ? (wake as number[]) : undefined;
  return { lockId: lock as number, wake: ids, from: typeof from === 'string' ? from : undefined };
}
