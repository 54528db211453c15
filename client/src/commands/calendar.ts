// Blackouts and pauses from the command line (API token): `locks create|set --blackout
// FROM..TO[@ZONE][:REASON] --paused-until WHEN --pause-reason TEXT`, and `keyholder pause` /
// `keyholder resume` for every lock (the global pause) or, with --lock, for one. WHEN is a
// time (ISO 8601, UTC without an offset) or a duration from now (90m, 2h, 3d, 1w).
import { Command, InvalidArgumentError } from 'commander';
import { ClientError } from '../errors.js';
import { say } from '../output.js';
import { action, lockPath, withApiOptions, type OperatorFlags } from './operator.js';

export interface BlackoutArg {
  from: string;
  to: string;
  time_zone: string;
  reason?: string;
}

export type CalendarFlags = OperatorFlags & {
  blackout?: BlackoutArg[];
  pausedUntil?: string | null;
  pauseReason?: string | null;
};

const BLACKOUT = /^(\d{4}-\d{2}-\d{2})(?:\.\.(\d{4}-\d{2}-\d{2}))?(?:@([^:]+))?(?::(.+))?$/;
const DURATION = /^(\d+)(m|h|d|w)$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;

/** `--blackout 2026-12-20..2027-01-06@Europe/Berlin:freeze`, repeatable; "none" clears them. */
export function collectBlackout(value: string, previous: BlackoutArg[] = []): BlackoutArg[] {
  if (value === 'none') return [];
  const m = BLACKOUT.exec(value.trim());
  if (!m)
    throw new InvalidArgumentError(
      'expected FROM[..TO][@ZONE][:REASON] with dates YYYY-MM-DD, e.g. 2026-12-20..2027-01-06@Europe/Berlin:freeze, or "none"',
    );
  const [, from, to, zone, reason] = m;
  // the server checks the dates and the zone and names what is wrong
  return [
    ...previous,
    { from: from!, to: to ?? from!, time_zone: zone ?? 'UTC', ...(reason !== undefined && { reason }) },
  ];
}

/** A time, or a duration from now, as the ISO 8601 time the API takes. */
export function untilArg(value: string, now = Date.now()): string {
  const d = DURATION.exec(value.trim());
  if (d) return new Date(now + Number(d[1]) * UNIT_MS[d[2] as keyof typeof UNIT_MS]).toISOString();
  const at = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(value) ? value : `${value}Z`);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(at))
    throw new InvalidArgumentError(
      'expected a time such as 2026-12-24T18:00 (UTC) or a duration: 90m, 2h, 3d, 1w',
    );
  return new Date(at).toISOString();
}

export function calendarOptions(cmd: Command): Command {
  return cmd
    .option(
      '--blackout <FROM..TO[@ZONE][:REASON]>',
      'whole days without new holders, repeatable, e.g. 2026-12-20..2027-01-06@Europe/Berlin:freeze (zone default UTC); "none" clears them',
      collectBlackout,
    )
    .option(
      '--paused-until <when>',
      'no new holders before then: a time (UTC unless it has an offset) or a duration (2h, 3d); "none" lifts the pause',
      (v: string) => (v === 'none' ? null : untilArg(v)),
    )
    .option('--pause-reason <text>', 'why the lock is paused (shown to operators and FleetLock nodes)');
}

export function calendarBody(flags: CalendarFlags): Record<string, unknown> {
  return {
    ...(flags.blackout !== undefined && { blackouts: flags.blackout }),
    ...(flags.pausedUntil !== undefined && { paused_until: flags.pausedUntil }),
    ...(flags.pauseReason !== undefined && { pause_reason: flags.pauseReason }),
  };
}

/** `locks show`: the blackouts, the pause and when acquiring opens next. */
export function calendarLines(lock: Record<string, unknown>): string[] {
  const lines: string[] = [];
  const blackouts = Array.isArray(lock.blackouts) ? (lock.blackouts as BlackoutArg[]) : [];
  for (const b of blackouts) {
    const days = b.from === b.to ? b.from : `${b.from} to ${b.to}`;
    lines.push(`  blackout:    ${days} (${b.time_zone})${b.reason ? `: ${b.reason}` : ''}`);
  }
  if (typeof lock.paused_until === 'string') {
    const reason = typeof lock.pause_reason === 'string' ? `: ${lock.pause_reason}` : '';
    lines.push(`  paused until ${lock.paused_until}${reason}`);
  }
  if (typeof lock.next_window_at === 'string') lines.push(`  next opening: ${lock.next_window_at}`);
  return lines;
}

interface PauseAnswer {
  paused: boolean;
  paused_until: string | null;
  pause_reason: string | null;
}

export function registerPauseCommands(program: Command): void {
  withApiOptions(
    program
      .command('pause')
      .description('no new holders until a time: on every lock (the global pause) or, with --lock, on one'),
  )
    .requiredOption(
      '--until <when>',
      'a time (UTC unless it has an offset) or a duration: 90m, 2h, 3d, 1w',
      (v) => untilArg(v),
    )
    .option('--reason <text>', 'why (in the audit trail, the lock JSON and FleetLock answers)')
    .option('--lock <name>', 'pause only this lock')
    .option('--json', 'print the JSON answer')
    .addHelpText(
      'after',
      '\nExamples:\n  keyholder pause --until 2h --reason "incident 4711"\n  keyholder pause --lock web-cluster --until 2026-12-24T18:00 --reason "kernel regression"',
    )
    .action(
      action(async (api, flags: OperatorFlags & { until: string; reason?: string; lock?: string }) => {
        if (flags.lock !== undefined) {
          const lock = await api.call('PUT', lockPath(flags.lock), {
            paused_until: flags.until,
            pause_reason: flags.reason ?? null,
          });
          if (flags.json) return void process.stdout.write(`${JSON.stringify(lock, null, 2)}\n`);
          return say(process.stdout, `paused lock '${flags.lock}' until ${flags.until}`, 'ok');
        }
        const answer = await api.call<PauseAnswer>('PUT', '/api/pause', {
          paused_until: flags.until,
          pause_reason: flags.reason ?? null,
        });
        if (flags.json) return void process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
        if (!answer.paused)
          throw new ClientError('config', `${flags.until} has passed already: nothing is paused`);
        say(process.stdout, `paused every lock until ${answer.paused_until}`, 'ok');
      }),
    );

  withApiOptions(
    program.command('resume').description('lift the global pause or, with --lock, the pause of one lock'),
  )
    .option('--lock <name>', 'lift only this lock’s pause')
    .option('--json', 'print the JSON answer')
    .addHelpText('after', '\nExamples:\n  keyholder resume\n  keyholder resume --lock web-cluster')
    .action(
      action(async (api, flags: OperatorFlags & { lock?: string }) => {
        const answer =
          flags.lock !== undefined
            ? await api.call('PUT', lockPath(flags.lock), { paused_until: null })
            : await api.call('DELETE', '/api/pause');
        if (flags.json) return void process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
        say(
          process.stdout,
          flags.lock !== undefined ? `resumed lock '${flags.lock}'` : 'resumed every lock',
          'ok',
        );
      }),
    );
}
