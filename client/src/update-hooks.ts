// Running a step's hook directory for the update workflow: what the hooks are told (environment),
// where their output goes (the time-stamped log), and how a failure is reported (which hook, how
// it ended, the end of its output).
import path from 'node:path';
import type { UpdateSettings } from './config.js';
import { ClientError } from './errors.js';
import { listHooks, runProgram, type HookDir, type HookResult, type RunOptions } from './hooks.js';
import type { Logger } from './log.js';
import type { Step } from './workflow.js';

export interface HookContext {
  settings: UpdateSettings;
  log: Logger;
  /** this host's name as the server knows it (certificate CN) */
  host: string;
  url: string;
  /** environment handed to hooks, extended with KEYHOLDER_* */
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** called before each action hook; throws to stop the run there (the lock was lost) */
  beforeHook?: () => void;
}

export interface HookRun {
  lock: string;
  step: Step;
  fencingToken: string | undefined;
}

/** Check hooks (needs_update.d, needs_reboot.d): exit 0 = "no", any other exit = "yes". */
export async function anyHookSaysYes(ctx: HookContext, run: HookRun, dir: HookDir): Promise<boolean> {
  for (const hook of await hooksOf(ctx, dir)) {
    const name = `${dir}/${path.basename(hook)}`;
    ctx.log.info(`running ${name}`);
    const result = await runProgram([hook], hookOptions(ctx, run, name));
    if (result.status === 'failed') {
      ctx.log.info(`${name} said yes (exit ${result.exitCode ?? result.signal})`);
      return true;
    }
    // A check that hung or could not start answered nothing: guessing either way is wrong.
    if (result.status !== 'ok') throw hookError(`hook ${name} ${describeFailure(result)}`, result);
    ctx.log.info(`${name} said no`);
  }
  return false;
}

/** Action hooks (pre_update.d, update.d, post_update.d): each must succeed, the first failure stops. */
export async function runAllHooks(ctx: HookContext, run: HookRun, dir: HookDir): Promise<void> {
  for (const hook of await hooksOf(ctx, dir)) {
    const name = `${dir}/${path.basename(hook)}`;
    ctx.beforeHook?.();
    ctx.log.info(`running ${name}`);
    const result = await runProgram([hook], hookOptions(ctx, run, name));
    if (result.status !== 'ok') {
      throw hookError(`hook ${name} ${describeFailure(result, `lock '${run.lock}' stays held`)}`, result);
    }
    ctx.log.info(`${name} done`);
  }
}

async function hooksOf(ctx: HookContext, dir: HookDir): Promise<string[]> {
  const full = path.join(ctx.settings.hooksDir, dir);
  const hooks = await listHooks(full).catch((err: Error) => {
    throw new ClientError('local', `cannot read hook directory ${full}: ${err.message}`);
  });
  if (hooks.length === 0) ctx.log.info(`no hooks in ${full}`);
  return hooks;
}

export function hookOptions(ctx: HookContext, run: HookRun, name: string): RunOptions {
  return {
    env: {
      ...ctx.env,
      KEYHOLDER_LOCK: run.lock,
      KEYHOLDER_STEP: run.step,
      KEYHOLDER_HOOK: name,
      KEYHOLDER_HOST: ctx.host,
      KEYHOLDER_URL: ctx.url,
      KEYHOLDER_STATE_DIR: ctx.settings.stateDir,
      ...(run.fencingToken !== undefined && { KEYHOLDER_FENCING_TOKEN: run.fencingToken }),
    },
    timeoutMs: ctx.settings.hookTimeoutMs,
    onLine: (line: string) => ctx.log.hook(name, line),
    ...(ctx.signal && { signal: ctx.signal }),
  };
}

function hookError(message: string, result: HookResult): ClientError {
  return new ClientError(result.status === 'interrupted' ? 'interrupted' : 'hook', message);
}

/** "failed with exit code 3[; note]; its output ended with: …" — the note before the output, which can be long. */
export function describeFailure(result: Exclude<HookResult, { status: 'ok' }>, note?: string): string {
  const then = note ? `; ${note}` : '';
  switch (result.status) {
    case 'failed': {
      const how = result.exitCode !== null ? `exit code ${result.exitCode}` : `signal ${result.signal}`;
      return `failed with ${how}${then}${outputTail(result.output)}`;
    }
    case 'timeout':
      return `timed out and was killed${then}${outputTail(result.output)}`;
    case 'interrupted':
      return `was stopped because keyholder was interrupted${then}${outputTail(result.output)}`;
    case 'spawn_error':
      return `could not be started: ${result.message}${then}`;
  }
}

function outputTail(output: string): string {
  if (!output) return ' (no output)';
  const lines = output.split('\n').slice(-20);
  return `; its output ended with:\n${lines.map((l) => `  | ${l}`).join('\n')}`;
}
