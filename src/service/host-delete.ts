// Deleting a host: each lock it holds is force-released through the lock rules first (one
// lock transaction each, with a `force_release` event naming the user, so waiters are served
// as after any release), then the host row goes, with an audit event listing what was freed.
// The service decides and answers; the store only runs the transactions (its host deletion
// releases nothing through the rules: a holding that appeared meanwhile is taken out of its
// lock's holders in the same transaction as the host row, src/store/hosts.ts).
import { AppError } from '../errors.js';
import { decideForceRelease } from '../lock/rules.js';
import type { AuditActor, HostDetail, Store } from '../store/store.js';

export function hostNotFound(ref: string): AppError {
  return new AppError('not_found', `Resource host not found by name '${ref.slice(0, 255)}'`);
}

export async function deleteHost(store: Store, ref: string, actor: AuditActor): Promise<HostDetail> {
  const found = await store.hostDirectory.get(ref);
  if (!found) throw hostNotFound(ref);
  const { host } = found;
  const lockActor =
    actor.userId !== null && actor.login !== null ? { user: { id: actor.userId, login: actor.login } } : {};
  const freed: string[] = [];
  for (const held of host.locks) {
    const done = await store.lockOp({
      ref: String(held.id),
      actor: lockActor,
      decide: (lock, ctx) => {
        if (lock.id !== held.id) return { events: [], result: false };
        const d = decideForceRelease(lock, ctx.now, lockActor, { hostName: host.name });
        return { next: d.next, events: d.events, result: d.ok && d.outcome === 'released' };
      },
    });
    if (done?.result) freed.push(held.name);
  }
  const detail = freed.length ? `released ${freed.map((n) => JSON.stringify(n)).join(', ')}` : null;
  if (!(await store.hostDirectory.delete(host.id, actor, detail))) throw hostNotFound(ref);
  return { ...host, locks: [] };
}
