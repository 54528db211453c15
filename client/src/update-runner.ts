// Runs the update workflow (client/src/workflow.ts decides, this file acts): hooks, lock calls,
// the state file before every step, the reboot. Everything it does is logged with a time stamp.
import type { UpdateSettings } from './config.js';
import { ClientError, outcomeUnknown } from './errors.js';
import { lockRun } from './file-lock.js';
import { runProgram } from './hooks.js';
import type { DlmClient } from './http.js';
import { readBootId } from './boot-id.js';
import { renewHold } from './holding.js';
import { LeaseKeeper, lostError } from './lease-keeper.js';
import { acquireWithRetry, lockOnce, releaseWithRetry, retryTransient, type WindowWait } from './lock-ops.js';
import type { Logger } from './log.js';
import { clearState, readState, statePath, writeState, type UpdateState } from './state.js';
import {
  anyHookSaysYes,
  describeFailure,
  hookOptions,
  runAllHooks,
  type HookContext,
} from './update-hooks.js';
import { printPlan } from './update-plan.js';
import { describeCalendar, describeMoment } from './window-wait.js';
import { HOOK_DIR_OF, holdsLock, nextAfter, planStart, type Outcome, type Step } from './workflow.js';

export interface UpdateContext {
  settings: UpdateSettings;
  client: DlmClient;
  /** this host's name as the server knows it (certificate CN) */
  host: string;
  log: Logger;
  /** environment handed to hooks, extended with KEYHOLDER_* */
  env: NodeJS.ProcessEnv;
  /** aborted on SIGTERM/SIGINT/SIGHUP: the running hook is stopped, the run ends cleanly */
  signal?: AbortSignal;
}

export interface UpdateOptions {
  resume: boolean;
  retry: boolean;
  dryRun: boolean;
}

export type UpdateResult = 'nothing_to_do' | 'nothing_to_resume' | 'updated' | 'rebooting' | 'dry_run';

export async function runUpdate(ctx: UpdateContext, opts: UpdateOptions): Promise<UpdateResult> {
  if (opts.dryRun) {
    await printPlan({ ...ctx, url: ctx.client.baseUrl }, opts);
    return 'dry_run';
  }
  const unlock = await lockRun(ctx.settings.stateDir, (err) => ctx.log.warn(`file lock: ${err.message}`));
  try {
    return await run(ctx, opts);
  } finally {
    await unlock().catch(() => undefined);
  }
}

/** This boot's id; without one (no /proc) the resume cannot tell a reboot happened, and says so. */
async function currentBootId(ctx: UpdateContext): Promise<string | undefined> {
  try {
    return await readBootId(ctx.settings.bootIdFile);
  } catch (err) {
    ctx.log.warn(`${(err as Error).message}; cannot check that the reboot happened`);
    return undefined;
  }
}

/** Longest failure reason kept in the state file: the whole hook message, but not unbounded. */
const MAX_FAILURE_CHARS = 8000;

type Save = (patch: Partial<UpdateState>) => Promise<void>;

/** What a run knows about the lock it holds: the keeper renews it and notices its loss. */
interface Holder {
  keeper: LeaseKeeper | undefined;
}

async function run(ctx: UpdateContext, opts: UpdateOptions): Promise<UpdateResult> {
  const { settings, log } = ctx;
  const saved = await readState(settings.stateDir);
  const bootId = await currentBootId(ctx);
  const start = planStart(saved, { ...opts, bootId });
  if (start.kind === 'nothing') {
    log.info(start.why);
    return 'nothing_to_resume';
  }
  if (start.kind === 'refuse') throw new ClientError('hook', start.why);
  // The lock a previous run took is the one to release, even if the config changed since.
  const lock = saved?.lock ?? settings.lock;
  if (saved && saved.lock !== settings.lock) {
    log.warn(`continuing with lock '${saved.lock}' from the state file (config says '${settings.lock}')`);
  }
  log.info(`keyholder update: lock '${lock}', host ${ctx.host}, ${start.why}`);
  const now = () => new Date().toISOString();
  let state: UpdateState = saved ?? {
    version: 1,
    lock,
    url: ctx.client.baseUrl,
    host: ctx.host,
    step: start.step,
    status: 'running',
    startedAt: now(),
    updatedAt: now(),
  };
  const save: Save = async (patch) => {
    state = { ...state, ...patch, updatedAt: now() };
    delete state.failure;
    if (patch.failure) state.failure = patch.failure;
    if (patch.status !== 'rebooting' && !('bootId' in patch)) delete state.bootId;
    await writeState(settings.stateDir, state);
  };
  const holder: Holder = { keeper: undefined };
  const startKeeper = (leaseSeconds: number | undefined) => {
    holder.keeper = new LeaseKeeper({
      client: ctx.client,
      hold: { lock, host: ctx.host, fencingToken: state.fencingToken },
      log,
      leaseSeconds,
    });
    holder.keeper.start();
  };

  try {
    let step: Step = start.step;
    if (saved && holdsLock(step)) {
      // Renew first thing: the lease has been running down through the reboot.
      try {
        startKeeper(await resumeHold(ctx, lock, state, opts, save));
      } catch (err) {
        await afterFailure(ctx, lock, step, err, save);
        throw err;
      }
    }
    for (;;) {
      let outcome: Outcome;
      try {
        await guard(ctx, holder, step);
        // Nothing is held before the acquire: a crash there leaves nothing to clean up or resume.
        if (step !== 'needs_update') await save({ step, status: 'running' });
        log.info(`step ${step}: start`);
        outcome = await runStep(ctx, lock, step, state, save, holder, startKeeper);
      } catch (err) {
        await afterFailure(ctx, lock, step, err, save);
        throw err;
      }
      log.info(`step ${step}: ${outcome.replace('_', ' ')}`);
      const next = nextAfter(step, outcome);
      if ('step' in next) {
        step = next.step;
        continue;
      }
      if ('halt' in next) {
        log.info(`reboot requested; "keyholder update --resume" continues with post_update.d after the boot`);
        return 'rebooting';
      }
      await clearState(settings.stateDir);
      log.info(next.done === 'updated' ? `update finished, lock '${lock}' released` : 'no updates needed');
      return next.done;
    }
  } finally {
    await holder.keeper?.stop();
  }
}

/**
 * A run that continues while holding the lock (after the reboot, or after a failure) first makes
 * sure it still holds it with the same fencing token, renewing the lease. A lost lock stops it;
 * only an operator's --retry takes the lock again and carries on. Returns the lease to keep.
 */
async function resumeHold(
  ctx: UpdateContext,
  lock: string,
  state: UpdateState,
  opts: UpdateOptions,
  save: Save,
): Promise<number | undefined> {
  const { client, log, settings } = ctx;
  const hold = { lock, host: ctx.host, fencingToken: state.fencingToken };
  const result = await retryTransient(
    () => renewHold(client, hold, ctx.signal),
    retryTiming(ctx, settings.releaseTimeoutMs),
  );
  if (result.held) {
    log.info(
      `still holding lock '${lock}'${state.fencingToken ? ` (fencing token ${state.fencingToken})` : ''}`,
    );
    return result.leaseSeconds;
  }
  if (!opts.retry) throw lostError(result.why);
  log.warn(`${result.why}; taking it again (--retry)`);
  const held = await acquireWithRetry(client, lock, ctx.host, {
    ...retryTiming(ctx, settings.acquire.timeoutMs),
    waitSeconds: settings.acquire.waitSeconds,
    onWindowWait: logWindowWait(ctx, lock),
  });
  log.info(`acquired lock '${lock}'${held.fencingToken ? ` (fencing token ${held.fencingToken})` : ''}`);
  await save({ ...(held.fencingToken !== undefined && { fencingToken: held.fencingToken }) });
  return held.lock.lease_seconds ?? undefined;
}

/**
 * Before each step while holding: a loss noticed by the renewals stops the run here, before the
 * next hook changes anything. Before post_update and the release the hold is checked once more
 * with the server (renewed, same fencing token), riding out a server that is briefly away.
 */
async function guard(ctx: UpdateContext, holder: Holder, step: Step): Promise<void> {
  const keeper = holder.keeper;
  if (!keeper || !holdsLock(step)) return;
  keeper.throwIfLost();
  if (step === 'post_update' || step === 'release') {
    await retryTransient(() => keeper.verify(), retryTiming(ctx, ctx.settings.releaseTimeoutMs));
  }
}

function retryTiming(ctx: UpdateContext, timeoutMs: number) {
  const { settings, log } = ctx;
  return {
    timeoutMs,
    minDelayMs: settings.acquire.minDelayMs,
    maxDelayMs: settings.acquire.maxDelayMs,
    ...(ctx.signal && { signal: ctx.signal }),
    onRetry: (err: ClientError) => log.info(`${err.message}; trying again`),
  };
}

/** The log line of an acquire that sits quietly until the lock's calendar lets it in. */
function logWindowWait(ctx: UpdateContext, lock: string) {
  return ({ refusal, sleepMs }: WindowWait) =>
    ctx.log.info(
      `${describeCalendar(lock, refusal.calendar)}; waiting for the window, it opens ` +
        `${describeMoment(refusal.calendar.opensAt)}; asking again in ${Math.ceil(sleepMs / 1000)}s`,
    );
}

/**
 * What a failed step leaves behind. Once the lock is held it stays held and the state file says
 * where the run stopped, so the rest of the cluster does not follow a broken update. Before that,
 * there is nothing to keep, except after an acquire whose answer never came (a dropped
 * connection, a 5xx from a proxy, an interruption): the server may have granted the lock, so it
 * is given back now, or, if that cannot be done either, the state stays for the next run.
 */
async function afterFailure(
  ctx: UpdateContext,
  lock: string,
  step: Step,
  err: unknown,
  save: Save,
): Promise<void> {
  const { settings, log } = ctx;
  const message = err instanceof Error ? err.message : String(err);
  const failure = message.length > MAX_FAILURE_CHARS ? `${message.slice(0, MAX_FAILURE_CHARS)}…` : message;
  const keep = async (what: string) => {
    try {
      await save({ step, status: 'failed', failure });
    } catch (saveErr) {
      log.error(`${(saveErr as Error).message}; ${what}`);
      return;
    }
    log.error(`${what} (state in ${statePath(settings.stateDir)})`);
  };
  if (step === 'acquire' || step === 'needs_update') {
    if (step === 'acquire' && outcomeUnknown(err)) {
      if (await releaseUnknownAcquire(ctx, lock)) await clearState(settings.stateDir);
      else
        await keep(
          `the answer to the acquire of lock '${lock}' was lost and the lock could not be released; the next run takes it up from the acquire`,
        );
      return;
    }
    await clearState(settings.stateDir);
    return;
  }
  if (err instanceof ClientError && err.kind === 'lost') {
    if (step === 'release') {
      // Nothing left to release or to resume; but another host may have updated alongside.
      await clearState(settings.stateDir);
      log.error(
        `the update ran to the end, but lock '${lock}' was lost on the way: another host may have updated at the same time`,
      );
      return;
    }
    await keep(`lock '${lock}' was lost; stopped before step ${step}. The host may be half-updated`);
    return;
  }
  if (err instanceof ClientError && err.kind === 'unreachable' && step === 'post_update') {
    // Only the check before post_update talks to the server, and it runs before the step is
    // recorded as started: the state still says where to go on, and any run may repeat it.
    log.error(
      `could not reach the server to check lock '${lock}' before post_update; the next run continues there`,
    );
    return;
  }
  if (err instanceof ClientError && err.kind === 'unreachable' && step === 'release') {
    await keep(`could not reach the server; keeping lock '${lock}', the next run releases it`);
    return;
  }
  await keep(`step ${step} failed; keeping lock '${lock}'`);
}

/** true: the lock is certainly not held by this host (released, or never granted). */
async function releaseUnknownAcquire(ctx: UpdateContext, lock: string): Promise<boolean> {
  try {
    await lockOnce(ctx.client, 'release', lock, ctx.host);
    ctx.log.info(`the acquire's answer was lost; released lock '${lock}' in case it had been granted`);
    return true;
  } catch (releaseErr) {
    // Held by another host: whatever became of our request, the lock is not ours.
    return releaseErr instanceof ClientError && releaseErr.details.reason === 'held';
  }
}

async function runStep(
  ctx: UpdateContext,
  lock: string,
  step: Step,
  state: UpdateState,
  save: Save,
  holder: Holder,
  startKeeper: (leaseSeconds: number | undefined) => void,
): Promise<Outcome> {
  const { settings, log, client } = ctx;
  const hookCtx: HookContext = {
    ...ctx,
    url: client.baseUrl,
    beforeHook: () => holder.keeper?.throwIfLost(),
  };
  const hookRun = { lock, step, fencingToken: state.fencingToken };
  const retryTiming = {
    minDelayMs: settings.acquire.minDelayMs,
    maxDelayMs: settings.acquire.maxDelayMs,
    ...(ctx.signal && { signal: ctx.signal }),
    onRetry: (err: ClientError) => log.info(`${err.message}; trying again`),
  };
  switch (step) {
    case 'needs_update':
      return (await anyHookSaysYes(hookCtx, hookRun, 'needs_update.d')) ? 'updates_needed' : 'up_to_date';
    case 'acquire': {
      const held = await acquireWithRetry(client, lock, ctx.host, {
        ...retryTiming,
        timeoutMs: settings.acquire.timeoutMs,
        waitSeconds: settings.acquire.waitSeconds,
        onWindowWait: logWindowWait(ctx, lock),
      });
      log.info(`acquired lock '${lock}'${held.fencingToken ? ` (fencing token ${held.fencingToken})` : ''}`);
      if (held.fencingToken) await save({ fencingToken: held.fencingToken });
      startKeeper(held.lock.lease_seconds ?? undefined);
      return 'acquired';
    }
    case 'pre_update':
    case 'update':
    case 'post_update':
      await runAllHooks(hookCtx, hookRun, HOOK_DIR_OF[step]!);
      return 'ok';
    case 'needs_reboot':
      return (await anyHookSaysYes(hookCtx, hookRun, 'needs_reboot.d')) ? 'reboot_needed' : 'no_reboot';
    case 'reboot': {
      // Written before the command: the reboot may kill us before it returns. The boot id tells
      // the resume whether the reboot really happened.
      holder.keeper?.throwIfLost();
      const bootId = await currentBootId(ctx);
      await save({ step: 'post_update', status: 'rebooting', ...(bootId !== undefined && { bootId }) });
      const argv = settings.rebootCommand;
      log.info(`rebooting: ${argv.join(' ')}`);
      const result = await runProgram(argv, hookOptions(hookCtx, hookRun, 'reboot'));
      // The shutdown stopping us (SIGTERM) is what a reboot looks like from in here.
      if (result.status === 'interrupted') return 'rebooting';
      if (result.status !== 'ok') {
        throw new ClientError('hook', `reboot command ${argv.join(' ')} ${describeFailure(result)}`);
      }
      return 'rebooting';
    }
    case 'release':
      try {
        await releaseWithRetry(client, lock, ctx.host, {
          ...retryTiming,
          timeoutMs: settings.releaseTimeoutMs,
        });
      } catch (err) {
        // Another host holds it: an operator freed ours (or a lease ran out) and the cluster moved on.
        if (err instanceof ClientError && err.details.reason === 'held') throw lostError(err.message);
        throw err;
      }
      return 'released';
  }
}
