// `keyholder update --dry-run`: what a run would do from here, step by step, with the hooks it
// would run. Reads the state file and hook directories; runs nothing, asks the server nothing.
import path from 'node:path';
import type { UpdateSettings } from './config.js';
import { listHooks, type HookDir } from './hooks.js';
import type { Logger } from './log.js';
import { readState, statePath } from './state.js';
import { STEPS, planStart, type Step } from './workflow.js';

export interface PlanContext {
  settings: UpdateSettings;
  log: Logger;
  host: string;
  url: string;
}

export async function printPlan(ctx: PlanContext, opts: { resume: boolean; retry: boolean }): Promise<void> {
  const { settings, log } = ctx;
  const saved = await readState(settings.stateDir);
  const start = planStart(saved, opts);
  const lock = saved?.lock ?? settings.lock;
  log.info(`dry run: nothing is executed, no lock is taken`);
  log.info(`server ${ctx.url} as host ${ctx.host}, lock '${lock}', state ${statePath(settings.stateDir)}`);
  if (start.kind !== 'run') {
    log.info(`would not run: ${start.why}`);
    return;
  }
  log.info(`would start at step ${start.step} (${start.why})`);
  const a = settings.acquire;
  const hookList = async (dir: HookDir, rule: string): Promise<string> => {
    const full = path.join(settings.hooksDir, dir);
    const names = (await listHooks(full)).map((h) => path.basename(h));
    return `${full}: ${names.length ? names.join(', ') : '(no hooks)'} — ${rule}`;
  };
  const describe: Record<Step, () => Promise<string>> = {
    needs_update: () => hookList('needs_update.d', 'any non-zero exit means updates are needed; none → stop'),
    acquire: async () =>
      `acquire '${lock}', trying for up to ${a.timeoutMs / 1000}s` +
      (a.waitSeconds > 0 ? ` (blocking up to ${a.waitSeconds}s per request)` : '') +
      `, backoff ${a.minDelayMs / 1000}–${a.maxDelayMs / 1000}s with jitter` +
      '; a paused or closed lock: no retries until it opens',
    pre_update: () => hookList('pre_update.d', 'each must succeed'),
    update: () => hookList('update.d', 'each must succeed'),
    needs_reboot: () => hookList('needs_reboot.d', 'any non-zero exit means a reboot is needed'),
    reboot: async () => `if needed: ${settings.rebootCommand.join(' ')}, then resume after boot`,
    post_update: () => hookList('post_update.d', 'each must succeed'),
    release: async () => `release '${lock}'`,
  };
  for (const step of STEPS.slice(STEPS.indexOf(start.step))) log.info(`  ${step}: ${await describe[step]()}`);
}
