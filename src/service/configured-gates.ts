// Health gates declared in the config file (`gates.locks`): a fleet's rollout rules can live in
// configuration management next to the credentials they name. Applied at every start: a missing
// lock is created, a lock whose gates differ gets the configured list (an `update` event, like
// an operator's change); a lock whose gates already match is left alone, so several instances
// starting at once write nothing twice. The config stays the source of truth for these locks'
// gates: a change made over the API lasts until the next start.
import { gateKey, type GateDefinition } from '../lock/gates.js';
import type { Actor } from '../lock/types.js';
import type { LockService } from './locks.js';

/** the actor of these changes: the server itself, on the config's behalf */
const CONFIG: Actor = {};

function sameGates(a: readonly GateDefinition[], b: readonly GateDefinition[]): boolean {
  return a.length === b.length && a.every((gate, i) => gateKey(gate) === gateKey(b[i]!));
}

/** Applies the declared gates; answers the names of the locks it created or changed. */
export async function applyConfiguredGates(
  locks: LockService,
  declared: Readonly<Record<string, GateDefinition[]>>,
): Promise<string[]> {
  const changed: string[] = [];
  for (const [name, gates] of Object.entries(declared)) {
    if (!(await locks.exists(name))) {
      await locks.create({ name, gates }, CONFIG);
      changed.push(name);
      continue;
    }
    const current = await locks.show(name);
    if (sameGates(current.gates ?? [], gates)) continue;
    await locks.update(name, { gates }, CONFIG);
    changed.push(name);
  }
  return changed;
}
