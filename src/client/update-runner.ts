// Runs the update workflow (src/client/workflow.ts decides, this file acts): hooks, lock calls,
// the state file before every step, the reboot. Everything it does is logged with a time stamp.
import path from 'node:path';
import type { UpdateSettings } from './config.js';
import { ClientError } from './errors.js';
import { lockRun } from './file-lock.js';
import { listHooks, runProgram, type HookDir, type HookResult } from './hooks.js';
import type { DlmClient } from './http.js';
import { ownFencingToken } from './lock-json.js';
import { acquireWithRetry, lockOnce } from './lock-ops.js';
import type { Logger } from './log.js';
import { clearState, readState, statePath, writeState, type UpdateState } from './state.js';
import { HOOK_DIR_OF, STEPS, holdsLock, nextAfter, planStart, type Outcome, type Step } from './workflow.js';

export interface UpdateContext {
  settings: UpdateSettings;
  client: DlmClient;
  /** this host's name as the server knows it (certificate CN) */
  host: string;
  log: Logger;
  /** environment handed to hooks, extended with KEYHOLDER_* */
  env: NodeJS.ProcessEnv;
}

export interface UpdateOptions {
  resume: boolean;
  retry: boolean;
  dryRun: boolean;
}

export type UpdateResult = 'nothing_to_do' | 'nothing_to_resume' | 'updated' | 'rebooting' | 'dry_run';

export async function runUpdate(ctx: UpdateContext, opts: UpdateOptions): Promise<UpdateResult> {
  if (opts.dryRun) {
    await printPlan(ctx, opts);
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
      const message = err instanceof Error ? err.message : String(err);
      if (holdsLock(step)) {
        await save({ step, status: 'failed', failure: message.split('\n')[0] ?? message });
        log.error(`step ${step} failed; keeping lock '${lock}' (state in ${statePath(settings.stateDir)})`);
      } else {
        await clearState(settings.stateDir);
      }
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

async function runStep(
  ctx: UpdateContext,
  lock: string,
  step: Step,
  state: UpdateState,
  save: (patch: Partial<UpdateState>) => Promise<void>,
): Promise<Outcome> {
  const { settings, log, client } = ctx;
  switch (step) {
    case 'needs_update':
      return (await anyHookSaysYes(ctx, lock, step, state, 'needs_update.d'))
        ? 'updates_needed'
        : 'up_to_date';
    case 'acquire': {
      const held = await acquireWithRetry(client, lock, ctx.host, {
        ...settings.acquire,
        onRetry: (err) => log.info(`${err.message}; trying again`),
      });
      const token = ownFencingToken(held, ctx.host);
      log.info(`acquired lock '${lock}'${token ? ` (fencing token ${token})` : ''}`);
      if (token) await save({ fencingToken: token });
      return 'acquired';
    }
    case 'pre_update':
    case 'update':
    case 'post_update':
      await runAllHooks(ctx, lock, step, state, HOOK_DIR_OF[step]!);
      return 'ok';
    case 'needs_reboot':
      return (await anyHookSaysYes(ctx, lock, step, state, 'needs_reboot.d')) ? 'reboot_needed' : 'no_reboot';
    case 'reboot': {
      // Written before the command: the reboot may kill us before it returns.
      await save({ step: 'post_update', status: 'rebooting' });
      const argv = settings.rebootCommand;
      log.info(`rebooting: ${argv.join(' ')}`);
      const result = await runProgram(argv, hookOptions(ctx, lock, step, state, 'reboot'));
      if (result.status !== 'ok') {
        throw new ClientError('hook', `reboot command ${argv.join(' ')} ${describeFailure(result)}`);
      }
      return 'rebooting';
    }
    case 'release':
      await lockOnce(client, 'release', lock, ctx.host);
      return 'released';
  }
}

/** Check hooks: exit 0 = "no", anything else = "yes". Timeouts and unrunnable hooks are errors. */
async function anyHookSaysYes(
  ctx: UpdateContext,
  lock: string,
  step: Step,
  state: UpdateState,
  dir: HookDir,
) {
  const hooks = await listHooks(path.join(ctx.settings.hooksDir, dir));
  if (hooks.length === 0) ctx.log.info(`no hooks in ${path.join(ctx.settings.hooksDir, dir)}`);
  for (const hook of hooks) {
    const name = `${dir}/${path.basename(hook)}`;
    ctx.log.info(`running ${name}`);
    const result = await runProgram([hook], hookOptions(ctx, lock, step, state, name));
    if (result.status === 'failed') {
      ctx.log.info(`${name} said yes (exit ${result.exitCode ?? result.signal})`);
      return true;
    }
    if (result.status !== 'ok') throw new ClientError('hook', `hook ${name} ${describeFailure(result)}`);
    ctx.log.info(`${name} said no`);
  }
  return false;
}

async function runAllHooks(ctx: UpdateContext, lock: string, step: Step, state: UpdateState, dir: HookDir) {
  const hooks = await listHooks(path.join(ctx.settings.hooksDir, dir));
  if (hooks.length === 0) ctx.log.info(`no hooks in ${path.join(ctx.settings.hooksDir, dir)}`);
  for (const hook of hooks) {
    const name = `${dir}/${path.basename(hook)}`;
    ctx.log.info(`running ${name}`);
    const result = await runProgram([hook], hookOptions(ctx, lock, step, state, name));
    if (result.status !== 'ok') {
      throw new ClientError('hook', `hook ${name} ${describeFailure(result)}; lock '${lock}' stays held`);
    }
    ctx.log.info(`${name} done`);
  }
}

function hookOptions(ctx: UpdateContext, lock: string, step: Step, state: UpdateState, name: string) {
  return {
    env: {
      ...ctx.env,
      KEYHOLDER_LOCK: lock,
      KEYHOLDER_STEP: step,
      KEYHOLDER_HOST: ctx.host,
      KEYHOLDER_URL: ctx.client.baseUrl,
      KEYHOLDER_STATE_DIR: ctx.settings.stateDir,
      ...(state.fencingToken !== undefined && { KEYHOLDER_FENCING_TOKEN: state.fencingToken }),
    },
    timeoutMs: ctx.settings.hookTimeoutMs,
    onLine: (line: string) => ctx.log.hook(name, line),
  };
}

export function describeFailure(result: Exclude<HookResult, { status: 'ok' }>): string {
  switch (result.status) {
    case 'failed': {
      const how = result.exitCode !== null ? `exit code ${result.exitCode}` : `signal ${result.signal}`;
      return `failed with ${how}${outputTail(result.output)}`;
    }
    case 'timeout':
      return `timed out and was killed${outputTail(result.output)}`;
    case 'spawn_error':
      return `could not be started: ${result.message}`;
  }
}

function outputTail(output: string): string {
  if (!output) return ' (no output)';
  const lines = output.split('\n').slice(-20);
  return `; its output ended with:\n${lines.map((l) => `  | ${l}`).join('\n')}`;
}

async function printPlan(ctx: UpdateContext, opts: UpdateOptions): Promise<void> {
  const { settings, log } = ctx;
  const saved = await readState(settings.stateDir);
  const start = planStart(saved, opts);
  const lock = saved?.lock ?? settings.lock;
  log.info(`dry run: nothing is executed, no lock is taken`);
  log.info(
    `server ${ctx.client.baseUrl} as host ${ctx.host}, lock '${lock}', state ${statePath(settings.stateDir)}`,
  );
  if (start.kind !== 'run') {
    log.info(`would not run: ${start.why}`);
    return;
  }
  log.info(`would start at step ${start.step} (${start.why})`);
  const a = settings.acquire;
  const describe: Record<Step, () => Promise<string>> = {
    needs_update: () => hookList('needs_update.d', 'any non-zero exit means updates are needed; none → stop'),
    acquire: async () =>
      `acquire '${lock}', trying for up to ${a.timeoutMs / 1000}s` +
      (a.waitSeconds > 0 ? ` (blocking up to ${a.waitSeconds}s per request)` : '') +
      `, backoff ${a.minDelayMs / 1000}–${a.maxDelayMs / 1000}s with jitter`,
    pre_update: () => hookList('pre_update.d', 'each must succeed'),
    update: () => hookList('update.d', 'each must succeed'),
    needs_reboot: () => hookList('needs_reboot.d', 'any non-zero exit means a reboot is needed'),
    reboot: async () => `if needed: ${settings.rebootCommand.join(' ')}, then resume after boot`,
    post_update: () => hookList('post_update.d', 'each must succeed'),
    release: async () => `release '${lock}'`,
  };
  for (const step of STEPS.slice(STEPS.indexOf(start.step))) log.info(`  ${step}: ${await describe[step]()}`);

  async function hookList(dir: HookDir, rule: string): Promise<string> {
    const hooks = await listHooks(path.join(settings.hooksDir, dir));
    const names = hooks.map((h) => path.basename(h));
    return `${path.join(settings.hooksDir, dir)}: ${names.length ? names.join(', ') : '(no hooks)'} — ${rule}`;
  }
}
