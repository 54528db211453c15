// The update workflow's rules, without processes: which step follows which outcome, and where a
// run starts (or refuses to) given the state file a previous run left.
import { describe, expect, it } from 'vitest';
import { STEPS, holdsLock, nextAfter, planStart, type Step } from '../../client/src/workflow.js';

describe('update workflow rules', () => {
  it('walks the steps in the documented order', () => {
    expect(nextAfter('needs_update', 'updates_needed')).toEqual({ step: 'acquire' });
    expect(nextAfter('needs_update', 'up_to_date')).toEqual({ done: 'nothing_to_do' });
    expect(nextAfter('acquire', 'acquired')).toEqual({ step: 'pre_update' });
    expect(nextAfter('pre_update', 'ok')).toEqual({ step: 'update' });
    expect(nextAfter('update', 'ok')).toEqual({ step: 'needs_reboot' });
    expect(nextAfter('needs_reboot', 'reboot_needed')).toEqual({ step: 'reboot' });
    expect(nextAfter('needs_reboot', 'no_reboot')).toEqual({ step: 'post_update' });
    expect(nextAfter('reboot', 'rebooting')).toEqual({ halt: 'rebooting' });
    expect(nextAfter('post_update', 'ok')).toEqual({ step: 'release' });
    expect(nextAfter('release', 'released')).toEqual({ done: 'updated' });
    expect(() => nextAfter('update', 'acquired')).toThrow(/impossible/);
  });

  it('holds the lock from pre_update to release', () => {
    expect(STEPS.filter(holdsLock)).toEqual([
      'pre_update',
      'update',
      'needs_reboot',
      'reboot',
      'post_update',
      'release',
    ]);
  });

  it('starts fresh without state, and --resume alone does nothing then', () => {
    expect(planStart(undefined, { resume: false, retry: false })).toMatchObject({
      kind: 'run',
      step: 'needs_update',
    });
    expect(planStart(undefined, { resume: true, retry: false })).toMatchObject({ kind: 'nothing' });
  });

  it('continues after a reboot at post_update, whichever way it is started', () => {
    for (const resume of [true, false]) {
      expect(planStart({ step: 'post_update', status: 'rebooting' }, { resume, retry: false })).toMatchObject(
        {
          kind: 'run',
          step: 'post_update',
        },
      );
    }
  });

  it('refuses to go on after a reboot that did not happen (same boot id), unless --retry', () => {
    const rebooting = { step: 'post_update' as const, status: 'rebooting' as const, bootId: 'boot-1' };
    for (const resume of [true, false]) {
      const refused = planStart(rebooting, { resume, retry: false, bootId: 'boot-1' });
      expect(refused).toMatchObject({ kind: 'refuse' });
      expect(refused.why).toContain('reboot this run asked for has not happened');
      expect(planStart(rebooting, { resume, retry: false, bootId: 'boot-2' })).toMatchObject({
        kind: 'run',
        step: 'post_update',
      });
    }
    expect(planStart(rebooting, { resume: true, retry: true, bootId: 'boot-1' })).toMatchObject({
      kind: 'run',
      step: 'post_update',
    });
  });

  it('repeats safe steps by itself but leaves steps that change the host to an operator', () => {
    const unattended = { resume: false, retry: false };
    const safe: Step[] = ['acquire', 'needs_reboot', 'release'];
    for (const step of safe) {
      expect(planStart({ step, status: 'failed' }, unattended)).toMatchObject({ kind: 'run', step });
    }
    const changing: Step[] = ['pre_update', 'update', 'reboot', 'post_update'];
    for (const step of changing) {
      const refused = planStart({ step, status: 'failed', failure: 'hook update.d/10 failed' }, unattended);
      expect(refused).toMatchObject({ kind: 'refuse' });
      expect(refused.why).toContain('hook update.d/10 failed');
      expect(planStart({ step, status: 'running' }, { resume: true, retry: false }).kind).toBe('refuse');
      expect(planStart({ step, status: 'failed' }, { resume: false, retry: true })).toMatchObject({
        kind: 'run',
        step,
      });
    }
  });
});
