// Runs the update workflow (src/client/workflow.ts decides, this file acts): hooks, lock calls,
// the state file before every step, the reboot. Everything it does is logged with a time stamp.
import type { UpdateSettings } from './config.js';
import { ClientError } from './errors.js';
import { lockRun } from './file-lock.js';
import { runProgram } from './hooks.js';
import type { DlmClient } from './http.js';
import { acquireWithRetry, lockOnce, releaseWithRetry } from './lock-ops.js';
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

async function run(ctx: UpdateContext, opts: UpdateOptions): Promise<UpdateResult> {
  const { settings, log } = ctx;
  const saved = await readState(settings.stateDir);
  const start = planStart(saved, opts);
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
  const save = async (patch: Partial<UpdateState>) => {
    state = { ...state, ...patch, updatedAt: now() };
    delete state.failure;
    if (patch.failure) state.failure = patch.failure;
    await writeState(settings.stateDir, state);
  };

  let step: Step = start.step;
  for (;;) {
    // Nothing is held before the acquire: a crash there leaves nothing to clean up or resume.
    if (step !== 'needs_update') await save({ step, status: 'running' });
    log.info(`step ${step}: start`);
    let outcome: Outcome;
    try {
      outcome = await runStep(ctx, lock, step, state, save);
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
}

/**
 * What a failed step leaves behind. Once the lock is held it stays held and the state file says
 * where the run stopped, so the rest of the cluster does not follow a broken update. Before that,
 * there is nothing to keep, except after an interrupted acquire: the server may have granted the
 * lock just as we gave up, so make sure it is not left held by a run that no longer exists.
 */
async function afterFailure(
  ctx: UpdateContext,
  lock: string,
  step: Step,
  err: unknown,
  save: (patch: Partial<UpdateState>) => Promise<void>,
): Promise<void> {
  const { settings, log } = ctx;
  const message = err instanceof Error ? err.message : String(err);
  if (step === 'acquire' && err instanceof ClientError && err.kind === 'interrupted') {
    try {
      await lockOnce(ctx.client, 'release', lock, ctx.host);
    } catch (releaseErr) {
      if (!(releaseErr instanceof ClientError && releaseErr.details.reason === 'held')) {
        log.warn(
          `interrupted while acquiring and could not make sure lock '${lock}' is free; the next run repeats the acquire`,
        );
        return;
      }
    }
    await clearState(settings.stateDir);
    return;
  }
  if (holdsLock(step)) {
    await save({ step, status: 'failed', failure: message.split('\n')[0] ?? message });
    log.error(`step ${step} failed; keeping lock '${lock}' (state in ${statePath(settings.stateDir)})`);
  } else {
    await clearState(settings.stateDir);
  }
}

async function runStep(
  ctx: UpdateContext,
  lock: string,
  step: Step,
  state: UpdateState,
  save: (patch: Partial<UpdateState>) => Promise<void>,
): Promise<Outcome> {
  const { settings, log, client } = ctx;
  const hookCtx: HookContext = { ...ctx, url: client.baseUrl };
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
      });
      log.info(`acquired lock '${lock}'${held.fencingToken ? ` (fencing token ${held.fencingToken})` : ''}`);
      if (held.fencingToken) await save({ fencingToken: held.fencingToken });
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
      // Written before the command: the reboot may kill us before it returns.
      await save({ step: 'post_update', status: 'rebooting' });
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
        if (!(err instanceof ClientError && err.details.reason === 'held')) throw err;
        log.warn(`${err.message}; this host no longer holds it, nothing to release`);
      }
      return 'released';
  }
}
