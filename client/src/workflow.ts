// The update workflow as a pure state machine: which step follows which outcome, and where a
// run starts given the state file. The runner does the I/O; every rule lives here and is
// unit-tested without hooks, servers or reboots.
import type { HookDir } from './hooks.js';

export const STEPS = [
  'needs_update',
  'acquire',
  'pre_update',
  'update',
  'needs_reboot',
  'reboot',
  'post_update',
  'release',
] as const;
export type Step = (typeof STEPS)[number];

export type Outcome =
  | 'updates_needed'
  | 'up_to_date'
  | 'acquired'
  | 'ok'
  | 'reboot_needed'
  | 'no_reboot'
  | 'rebooting'
  | 'released';

/** What happens after a step: run another, finish, or stop the process because the host reboots. */
export type Next = { step: Step } | { done: 'nothing_to_do' | 'updated' } | { halt: 'rebooting' };

const TRANSITIONS: Record<Step, Partial<Record<Outcome, Next>>> = {
  needs_update: { updates_needed: { step: 'acquire' }, up_to_date: { done: 'nothing_to_do' } },
  acquire: { acquired: { step: 'pre_update' } },
  pre_update: { ok: { step: 'update' } },
  update: { ok: { step: 'needs_reboot' } },
  needs_reboot: { reboot_needed: { step: 'reboot' }, no_reboot: { step: 'post_update' } },
  reboot: { rebooting: { halt: 'rebooting' } },
  post_update: { ok: { step: 'release' } },
  release: { released: { done: 'updated' } },
};

export function nextAfter(step: Step, outcome: Outcome): Next {
  const next = TRANSITIONS[step][outcome];
  if (!next) throw new Error(`outcome ${outcome} is impossible after step ${step}`);
  return next;
}

export const HOOK_DIR_OF: Partial<Record<Step, HookDir>> = {
  needs_update: 'needs_update.d',
  pre_update: 'pre_update.d',
  update: 'update.d',
  needs_reboot: 'needs_reboot.d',
  post_update: 'post_update.d',
};

/** Steps during which this host holds the lock: a failure there keeps it, on purpose. */
export function holdsLock(step: Step): boolean {
  return STEPS.indexOf(step) >= STEPS.indexOf('pre_update');
}

/**
 * Steps that change the host. If one failed or was cut short, running it again unattended could
 * repeat a broken update, so only an operator's --retry continues there. The others (checks and
 * lock calls) are safe to repeat and are continued by any run.
 */
export function needsOperator(step: Step): boolean {
  return step === 'pre_update' || step === 'update' || step === 'reboot' || step === 'post_update';
}

export interface SavedState {
  step: Step;
  status: 'running' | 'failed' | 'rebooting';
  failure?: string | undefined;
  bootId?: string | undefined;
}

export interface StartOptions {
  resume: boolean;
  retry: boolean;
  /** this boot's id; undefined when it cannot be known (the check is then skipped) */
  bootId?: string | undefined;
}

export type Start =
  | { kind: 'run'; step: Step; why: string }
  | { kind: 'nothing'; why: string }
  | { kind: 'refuse'; why: string };

export function planStart(state: SavedState | undefined, opts: StartOptions): Start {
  if (!state) {
    if (opts.resume && !opts.retry) return { kind: 'nothing', why: 'no interrupted update to resume' };
    return { kind: 'run', step: 'needs_update', why: 'fresh run' };
  }
  if (state.status === 'rebooting') {
    const sameBoot = state.bootId !== undefined && opts.bootId !== undefined && state.bootId === opts.bootId;
    if (!sameBoot) return { kind: 'run', step: 'post_update', why: 'resuming after the reboot' };
    if (opts.retry) {
      return {
        kind: 'run',
        step: 'post_update',
        why: 'continuing without the reboot that did not happen (--retry)',
      };
    }
    return {
      kind: 'refuse',
      why:
        'the reboot this run asked for has not happened (this is still the same boot); the lock stays held. ' +
        'Reboot the host (keyholder-resume.service then finishes the update), or run "keyholder update --retry" ' +
        'to continue with post_update without a reboot',
    };
  }
  const what =
    state.status === 'failed' ? `failed at step ${state.step}` : `was interrupted during step ${state.step}`;
  if (!needsOperator(state.step)) {
    return { kind: 'run', step: state.step, why: `previous run ${what}; repeating that step` };
  }
  if (opts.retry) return { kind: 'run', step: state.step, why: `retrying step ${state.step} (--retry)` };
  const detail = state.failure ? ` (${state.failure})` : '';
  return {
    kind: 'refuse',
    why:
      `previous run ${what}${detail}; the lock stays held so the rest of the cluster does not follow. ` +
      `Fix the cause, then run "keyholder update --retry" to continue from that step`,
  };
}
