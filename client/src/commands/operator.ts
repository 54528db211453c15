// Operator commands over the HTTP API with an API token, never the database:
// `keyholder locks …`, `keyholder hosts …`, `keyholder events tail`. The server comes from --url
// or KEYHOLDER_URL, the token from KEYHOLDER_TOKEN or --token-file, or both from the client
// config file (url, tokenFile). Exit codes as for `keyholder lock`: 0 done, 1 refused (412),
// 2 error, 3 server unreachable.
import { readFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { ApiClient } from '../api-client.js';
import { validateLockName } from '../config.js';
import { ClientError, EXIT_OK } from '../errors.js';
import { say } from '../output.js';
import { loadClientConfig } from '../setup.js';
import { renderTable } from '../table.js';
import {
  calendarBody,
  calendarLines,
  calendarOptions,
  registerPauseCommands,
  type CalendarFlags,
} from './calendar.js';
import { reportError, seconds } from './lock.js';

export interface OperatorFlags {
  config?: string;
  url?: string;
  token?: string;
  tokenFile?: string;
  cacert?: string;
  json?: boolean;
}

interface HolderRow {
  name: string;
  acquired_at?: string | null;
  fencing_token?: number | null;
  expires_at?: string | null;
  /** nested locks: the child lock this slot was taken through */
  via?: string;
}
interface LockRow {
  id: number;
  name: string;
  enabled: boolean;
  max_holders?: number;
  /** "10%" of the members, or the number */
  max_holders_rule?: number | string;
  members_count?: number | null;
  members_days?: number;
  lease_seconds?: number | null;
  stale?: boolean;
  updated_at?: string;
  holders?: HolderRow[];
  /** nested locks: the parent's name and the children's */
  parent?: string | null;
  children?: string[];
}
interface EventRow {
  id: number;
  event_type: string;
  created_at: string;
  host: { name: string } | null;
  user: { login: string } | null;
  detail?: string | null;
  /** in GET /api/events (every lock's stream) */
  lock?: { id: number | null; name: string };
}
interface HostRow {
  name: string;
  can_acquire_locks: boolean;
  last_checkin_at: string | null;
  locks_held?: number;
  stale?: boolean;
  locks?: { name: string }[];
}

export function withApiOptions(cmd: Command): Command {
  return cmd
    .option(
      '-c, --config <file>',
      'client config file with url, cacert, tokenFile (default /etc/keyholder/client.yaml)',
    )
    .addOption(new Option('--url <url>', 'server URL').env('KEYHOLDER_URL'))
    .option('--token-file <file>', 'file holding the API token (else KEYHOLDER_TOKEN)')
    .addOption(new Option('--token <token>').env('KEYHOLDER_TOKEN').hideHelp())
    .option('--cacert <file>', "CA bundle for the server's certificate (default: the system's)");
}

async function apiFor(flags: OperatorFlags): Promise<ApiClient> {
  const file = await loadClientConfig(flags);
  const url = flags.url ?? file.url;
  if (!url)
    throw new ClientError(
      'config',
      'no server URL: pass --url, set KEYHOLDER_URL, or set "url" in the config',
    );
  const tokenFile = flags.tokenFile ?? file.tokenFile;
  let token = flags.token;
  if (tokenFile) {
    token = (
      await readFile(tokenFile, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new ClientError('config', `cannot read token file ${tokenFile}: ${err.code ?? err.message}`);
      })
    ).trim();
  }
  if (!token) throw new ClientError('config', 'no API token: set KEYHOLDER_TOKEN or pass --token-file');
  const cacert = flags.cacert ?? file.cacert;
  const ca = cacert
    ? await readFile(cacert).catch((err: NodeJS.ErrnoException) => {
        throw new ClientError('config', `cannot read CA certificate ${cacert}: ${err.code ?? err.message}`);
      })
    : undefined;
  return new ApiClient({ url, token, ...(ca && { ca }), timeoutMs: (file.requestTimeout ?? 30) * 1000 });
}

/** Runs one operator action with the shared error handling and exit codes. */
export function action<A extends unknown[], F extends OperatorFlags = OperatorFlags>(
  fn: (api: ApiClient, flags: F, ...args: A) => Promise<void>,
): (...args: [...A, F, Command]) => Promise<void> {
  return async (...all) => {
    const flags = all[all.length - 2] as F;
    const args = all.slice(0, -2) as A;
    try {
      await fn(await apiFor(flags), flags, ...args);
      process.exitCode = EXIT_OK;
    } catch (err) {
      process.exitCode = reportError(err, flags.json === true);
    }
  };
}

export const lockPath = (name: string) => {
  validateLockName(name);
  return `/api/dlmlocks/${encodeURIComponent(name)}`;
};
const out = (text: string): void => void process.stdout.write(`${text}\n`);
const json = (value: unknown): void => out(JSON.stringify(value, null, 2));
const width = () => process.stdout.columns ?? 0;

function lockState(l: LockRow): string {
  if (!l.enabled) return 'disabled';
  return l.holders?.length ? 'held' : 'free';
}

function lockTable(locks: LockRow[]): string {
  return renderTable(
    ['NAME', 'STATE', 'HOLDERS', 'MAX', 'LEASE', 'UPDATED'],
    locks.map((l) => [
      l.name,
      lockState(l) + (l.stale ? ' (stale)' : ''),
      String(l.holders?.length ?? 0),
      String(l.max_holders ?? 1),
      l.lease_seconds ? `${l.lease_seconds}s` : '-',
      l.updated_at ?? '',
    ]),
    width(),
  );
}

/** One event as a line; `withLock` names the lock too (a tail of every lock). */
function eventLine(e: EventRow, withLock = false): string {
  const who = [e.host?.name, e.user ? `user ${e.user.login}` : undefined].filter(Boolean).join(', ');
  const lock = withLock && e.lock ? `${e.lock.name}  ` : '';
  return `${e.created_at}  ${lock}${e.event_type.padEnd(13)} ${who}${e.detail ? `  (${e.detail})` : ''}`;
}

function searchOf(search: string | undefined, opts: { stale?: boolean; held?: boolean }): string {
  const parts = [search?.trim() ? `(${search.trim()})` : undefined];
  if (opts.stale) parts.push('stale = true');
  if (opts.held) parts.push('locked = true');
  return parts.filter(Boolean).join(' and ');
}

function positiveInt(value: string): number {
  const n = seconds(value);
  if (n < 1) throw new InvalidArgumentError('expected a whole number of at least 1');
  return n;
}

/** `--window JSON`, repeatable; the server checks the fields and names what is wrong. */
function collectWindow(value: string, previous: unknown[] = []): unknown[] {
  if (value === 'none') return [];
  try {
    return [...previous, JSON.parse(value) as unknown];
  } catch {
    throw new InvalidArgumentError('expected a JSON object, or "none"');
  }
}

/** `--gate JSON`, repeatable: a health gate; the server checks it and names what is wrong. */
function collectGate(value: string, previous: unknown[] = []): unknown[] {
  try {
    return [...previous, JSON.parse(value) as unknown];
  } catch {
    throw new InvalidArgumentError('expected a JSON object');
  }
}

/** `--max-holders 3` or `--max-holders 10%` (of the lock's members); the server checks the range. */
function maxHoldersArg(value: string): number | string {
  return /^\d{1,3}%$/.test(value) ? value : positiveInt(value);
}

/** `max holders: 3 (10% of 31 members)` */
function limitText(l: LockRow): string {
  const rule = l.max_holders_rule;
  const of = typeof rule === 'string' ? ` (${rule} of ${l.members_count ?? '?'} members)` : '';
  return `${l.max_holders ?? 1}${of}`;
}

interface MemberRow {
  name: string;
  source: string;
  last_acquired_at: string | null;
  last_checkin_at: string | null;
}

function leaseArg(value: string): number | null {
  if (value === 'none') return null;
  return positiveInt(value);
}

function registerLocks(program: Command): void {
  const locks = program
    .command('locks')
    .description('list, show, create, change, release, disable, enable and delete locks (API token)');

  withApiOptions(locks.command('list [search]').description('list locks (search: the API search syntax)'))
    .option('--stale', 'only locks held longer than stale_after')
    .option('--held', 'only locks someone holds')
    .option('--json', 'print the JSON')
    .addOption(
      new Option('--watch [seconds]', 'redraw every few seconds until interrupted').argParser(seconds),
    )
    .addHelpText(
      'after',
      `
Examples:
  keyholder locks list
  keyholder locks list 'name ~ web' --held
  keyholder locks list --stale --json`,
    )
    .action(
      action(
        async (
          api,
          flags: OperatorFlags & { stale?: boolean; held?: boolean; watch?: number | true },
          search?: string,
        ) => {
          const q = searchOf(search, flags);
          const path = `/api/dlmlocks?per_page=1000&order=name${q ? `&search=${encodeURIComponent(q)}` : ''}`;
          const draw = async () => {
            const page = await api.get<{ results: LockRow[] }>(path);
            if (flags.json) json(page.results);
            else out(page.results.length ? lockTable(page.results) : 'no locks');
          };
          if (flags.watch === undefined) return draw();
          const every = (flags.watch === true ? 2 : flags.watch) * 1000;
          for (;;) {
            if (process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
            await draw();
            await new Promise((resolve) => setTimeout(resolve, every));
          }
        },
      ),
    );

  withApiOptions(locks.command('show <name>').description('a lock: holders, settings and its last events'))
    .option('--json', 'print the JSON')
    .addHelpText('after', '\nExample:\n  keyholder locks show web-cluster')
    .action(
      action(async (api, flags, name: string) => {
        const lock = await api.get<LockRow & Record<string, unknown>>(lockPath(name));
        const events = await api.get<{ results: EventRow[] }>(`${lockPath(name)}/dlmlock_events?per_page=10`);
        if (flags.json) return json({ ...lock, events: events.results });
        out(`lock '${lock.name}': ${lockState(lock)}${lock.stale ? ', stale' : ''}`);
        out(`  max holders: ${limitText(lock)}`);
        if (lock.members_count != null)
          out(`  members:     ${lock.members_count} (within ${lock.members_days ?? 30} days)`);
        out(`  lease:       ${lock.lease_seconds ? `${lock.lease_seconds}s` : 'none'}`);
        if (Array.isArray(lock.windows) && lock.windows.length)
          out(`  windows:     ${JSON.stringify(lock.windows)}`);
        if (Array.isArray(lock.gates) && lock.gates.length) {
          const status = (Array.isArray(lock.gate_status) ? lock.gate_status : []) as {
            name: string;
            ok: boolean;
            detail: string;
            checked_at: string;
          }[];
          out('gates:');
          for (const gate of lock.gates as { name: string }[]) {
            const last = status.find((g) => g.name === gate.name);
            const state = last
              ? `${last.ok ? 'passing' : 'failing'}: ${last.detail} (${last.checked_at})`
              : 'not checked yet';
            out(`  ${gate.name}: ${state}`);
            out(`    ${JSON.stringify(gate)}`);
          }
        }
        for (const line of calendarLines(lock)) out(line);
        if (lock.parent) {
          // nested locks: the whole chain up to the root (a holder of this lock holds a slot in each)
          const chain = [lock.name];
          for (let parent: string | null | undefined = lock.parent; parent && chain.length < 16;) {
            chain.push(parent);
            parent = (await api.get<LockRow>(lockPath(parent))).parent;
          }
          out(`  chain:       ${chain.join(' → ')}`);
        }
        if (lock.children?.length) out(`  children:    ${lock.children.join(', ')}`);
        out('holders:');
        out(
          lock.holders?.length
            ? renderTable(
                ['  HOST', 'SINCE', 'TOKEN', 'EXPIRES'],
                lock.holders.map((h) => [
                  `  ${h.name}`,
                  h.acquired_at ?? '',
                  String(h.fencing_token ?? '-'),
                  h.via ? `via ${h.via}` : (h.expires_at ?? '-'),
                ]),
                width(),
              )
            : '  none',
        );
        out('last events:');
        out(events.results.length ? events.results.map((e) => `  ${eventLine(e)}`).join('\n') : '  none');
      }),
    );

  const attributes = (cmd: Command) =>
    cmd
      .addOption(
        new Option(
          '--max-holders <n>',
          'how many hosts may hold it at once, or "10%" of its members',
        ).argParser(maxHoldersArg),
      )
      .addOption(
        new Option('--members-days <n>', 'a host that took it stays a member this many days').argParser(
          positiveInt,
        ),
      )
      .addOption(
        new Option('--lease <seconds>', 'lease in seconds ("none" for no lease)').argParser(leaseArg),
      )
      .option(
        '--window <json>',
        'a maintenance window, repeatable, e.g. \'{"days":["sun"],"start":"02:00","duration_minutes":120,"time_zone":"Europe/Berlin"}\'; "none" clears them',
        collectWindow,
      )
      .option(
        '--gate <json>',
        'a health gate, repeatable (replaces the list), e.g. \'{"name":"no-alerts","type":"alertmanager","url":"http://am:9093","matchers":["severity=critical"]}\'',
        collectGate,
      )
      .option('--no-gates', 'remove every health gate')
      .option(
        '--parent <name>',
        'nested locks: a holder of this lock also takes a slot in the parent (and its ancestors)',
      )
      .option('--no-parent', 'no parent lock (detach)')
      .option('--json', 'print the JSON');
  const withCalendar = (cmd: Command) => calendarOptions(attributes(cmd));
  type AttrFlags = CalendarFlags & {
    maxHolders?: number | string;
    membersDays?: number;
    lease?: number | null;
    disabled?: boolean;
    window?: unknown[];
    gate?: unknown[];
    /** false with --no-gates */
    gates?: boolean;
    /** a name, or false for --no-parent */
    parent?: string | false;
  };
  const body = (flags: AttrFlags) => ({
    ...(flags.maxHolders !== undefined && { max_holders: flags.maxHolders }),
    ...(flags.membersDays !== undefined && { members_days: flags.membersDays }),
    ...(flags.lease !== undefined && { lease_seconds: flags.lease }),
    ...(flags.window !== undefined && { windows: flags.window }),
    ...(flags.gate !== undefined && { gates: flags.gate }),
    ...(flags.gates === false && { gates: [] }),
    ...calendarBody(flags),
    ...(flags.parent !== undefined && { parent: flags.parent === false ? null : flags.parent }),
  });

  withCalendar(withApiOptions(locks.command('create <name>').description('create a lock')))
    .option('--disabled', 'create it disabled')
    .addHelpText(
      'after',
      '\nExamples:\n  keyholder locks create web-cluster\n  keyholder locks create reboot-slots --max-holders 3 --lease 900',
    )
    .action(
      action(async (api, flags: AttrFlags, name: string) => {
        validateLockName(name);
        const lock = await api.call<LockRow>('POST', '/api/dlmlocks', {
          name,
          ...body(flags),
          ...(flags.disabled && { enabled: false }),
        });
        if (flags.json) json(lock);
        else say(process.stdout, `created lock '${lock.name}'`, 'ok');
      }),
    );

  withCalendar(withApiOptions(locks.command('set <name>').description("change a lock's settings")))
    .addHelpText(
      'after',
      '\nExamples:\n  keyholder locks set reboot-slots --max-holders 5\n  keyholder locks set web-cluster --lease none' +
        '\n  keyholder locks set web-cluster --parent dc-berlin' +
        "\n  keyholder locks set web-cluster --blackout '2026-12-20..2027-01-06@Europe/Berlin:year-end freeze'",
    )
    .action(
      action(async (api, flags: AttrFlags, name: string) => {
        const changes = body(flags);
        if (Object.keys(changes).length === 0) {
          throw new ClientError(
            'config',
            'nothing to change: pass --max-holders, --members-days, --lease, --window, --gate, --no-gates, --blackout, --paused-until, --pause-reason or --parent',
          );
        }
        const lock = await api.call<LockRow>('PUT', lockPath(name), changes);
        if (flags.json) json(lock);
        else say(process.stdout, `changed lock '${lock.name}'`, 'ok');
      }),
    );

  withApiOptions(
    locks
      .command('release <name>')
      .description('free the lock from one holder or all of them (force release), saying why'),
  )
    .option('--holder <host>', 'only this holder (default: every holder)')
    .requiredOption(
      '--reason <text>',
      'why: recorded in the lock event and the audit trail (1-500 characters)',
    )
    .option('--json', 'print the lock JSON after the release')
    .addHelpText(
      'after',
      '\nExamples:\n  keyholder locks release reboot-slots --holder web03.example.com --reason "web03 died mid-update"' +
        '\n  keyholder locks release web-cluster --reason "stuck since the power cut"',
    )
    .action(
      action(async (api, flags: OperatorFlags & { holder?: string; reason: string }, name: string) => {
        // POST …/release records the operator and the reason (a PUT host_id: null records neither)
        const lock = await api.call<LockRow>('POST', `${lockPath(name)}/release`, {
          ...(flags.holder !== undefined && { host: flags.holder }),
          reason: flags.reason,
        });
        if (flags.json) return json(lock);
        const from = flags.holder === undefined ? 'every holder' : flags.holder;
        say(process.stdout, `released lock '${name}' from ${from}`, 'ok');
      }),
    );

  withApiOptions(
    locks
      .command('members <name> [action] [host]')
      .description('a lock\'s members (who a "10%" limit counts); add or remove one an operator keeps'),
  )
    .option('--json', 'print the JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  keyholder locks members reboot-slots\n  keyholder locks members reboot-slots add web07.example.com' +
        '\n  keyholder locks members reboot-slots remove web07.example.com',
    )
    .action(
      action(async (api, flags, name: string, verb?: string, host?: string) => {
        if (verb === undefined) {
          const page = await api.get<{ total: number; results: MemberRow[] }>(
            `${lockPath(name)}/members?per_page=1000`,
          );
          if (flags.json) return json(page);
          out(
            page.results.length
              ? renderTable(
                  ['HOST', 'SOURCE', 'LAST ACQUIRED', 'LAST CHECK-IN'],
                  page.results.map((m) => [
                    m.name,
                    m.source,
                    m.last_acquired_at ?? '-',
                    m.last_checkin_at ?? '-',
                  ]),
                  width(),
                )
              : `lock '${name}' has no members`,
          );
          return;
        }
        if ((verb !== 'add' && verb !== 'remove') || !host) {
          throw new ClientError(
            'config',
            'expected: members NAME, members NAME add HOST or members NAME remove HOST',
          );
        }
        const path = `${lockPath(name)}/members/${encodeURIComponent(host)}`;
        const answer = await api.call<{ member?: MemberRow | null }>(verb === 'add' ? 'PUT' : 'DELETE', path);
        if (flags.json) return json(answer);
        if (verb === 'add')
          return say(process.stdout, `added ${host} to the members of lock '${name}'`, 'ok');
        // an acquire within members_days keeps it counted until that ages out
        const still = answer.member
          ? ` (still a member by its acquire on ${answer.member.last_acquired_at})`
          : '';
        say(process.stdout, `removed ${host} from the members of lock '${name}'${still}`, 'ok');
      }),
    );

  const simple: SimpleVerb[] = [
    [
      'disable',
      'refuse every acquire until enabled again',
      (api, n) => api.call('PUT', lockPath(n), { enabled: false }),
      'disabled',
    ],
    [
      'enable',
      'accept acquires again',
      (api, n) => api.call('PUT', lockPath(n), { enabled: true }),
      'enabled',
    ],
    ['delete', 'delete the lock and its events', (api, n) => api.call('DELETE', lockPath(n)), 'deleted'],
  ];
  registerSimpleVerbs(locks, simple, 'web-cluster', (done, name) => `${done} lock '${name}'`);
}

type SimpleVerb = [string, string, (api: ApiClient, name: string) => Promise<unknown>, string];

/** `<noun> <verb> <name>` commands that make one API call and say what they did. */
function registerSimpleVerbs(
  parent: Command,
  verbs: SimpleVerb[],
  exampleName: string,
  said: (done: string, name: string) => string,
): void {
  for (const [verb, description, call, done] of verbs) {
    withApiOptions(parent.command(`${verb} <name>`).description(description))
      .option('--json', 'print the JSON answer')
      .addHelpText('after', `\nExample:\n  keyholder ${parent.name()} ${verb} ${exampleName}`)
      .action(
        action(async (api, flags, name: string) => {
          const answer = await call(api, name);
          if (flags.json) json(answer ?? null);
          else say(process.stdout, said(done, name), 'ok');
        }),
      );
  }
}

function registerHosts(program: Command): void {
  const hosts = program.command('hosts').description('list, show, bar, unbar and delete hosts (API token)');
  const hostPath = (name: string) => `/api/hosts/${encodeURIComponent(name)}`;

  withApiOptions(hosts.command('list').description('hosts: last check-in, locks held, allowed to take locks'))
    .option('--json', 'print the JSON')
    .addHelpText('after', '\nExample:\n  keyholder hosts list')
    .action(
      action(async (api, flags) => {
        const page = await api.get<{ results: HostRow[] } | HostRow[]>('/api/hosts?per_page=1000');
        const rows = Array.isArray(page) ? page : page.results;
        if (flags.json) return json(rows);
        out(
          rows.length
            ? renderTable(
                ['NAME', 'MAY ACQUIRE', 'LOCKS', 'LAST CHECK-IN'],
                rows.map((h) => [
                  h.name + (h.stale ? ' (stale)' : ''),
                  h.can_acquire_locks ? 'yes' : 'NO (barred)',
                  String(h.locks_held ?? h.locks?.length ?? 0),
                  h.last_checkin_at ?? 'never',
                ]),
                width(),
              )
            : 'no hosts',
        );
      }),
    );

  withApiOptions(hosts.command('show <name>').description('one host and the locks it holds'))
    .option('--json', 'print the JSON')
    .action(
      action(async (api, flags, name: string) => {
        const h = await api.get<HostRow>(hostPath(name));
        if (flags.json) return json(h);
        out(`host ${h.name}: ${h.can_acquire_locks ? 'may take locks' : 'barred from taking locks'}`);
        out(`  last check-in: ${h.last_checkin_at ?? 'never'}`);
        out(`  holds: ${h.locks?.length ? h.locks.map((l) => l.name).join(', ') : 'nothing'}`);
      }),
    );

  const verbs: SimpleVerb[] = [
    [
      'bar',
      'refuse every acquire by this host (412)',
      (api, n) => api.call('PUT', hostPath(n), { can_acquire_locks: false }),
      'barred',
    ],
    [
      'unbar',
      'let this host take locks again',
      (api, n) => api.call('PUT', hostPath(n), { can_acquire_locks: true }),
      'unbarred',
    ],
    ['delete', 'forget this host', (api, n) => api.call('DELETE', hostPath(n)), 'deleted'],
  ];
  registerSimpleVerbs(hosts, verbs, 'web01.example.com', (done, name) => `${done} host ${name}`);
}

function registerEvents(program: Command): void {
  const events = program.commands.find((c) => c.name() === 'events') ?? program.command('events');
  withApiOptions(
    events
      .command('tail')
      .description('follow the events of every lock, or of one, as they happen (API token)'),
  )
    .option('--lock <name>', 'only the events of this lock')
    .addOption(new Option('--interval <seconds>', 'how often to look (default 1)').argParser(positiveInt))
    .option('-n, --lines <n>', 'how many past events to show first (default 10)', (v) => seconds(v))
    .option('--json', 'one JSON object per event')
    .addHelpText(
      'after',
      '\nExamples:\n  keyholder events tail\n  keyholder events tail --lock web-cluster --lines 50',
    )
    .action(
      action(async (api, flags: OperatorFlags & { lock?: string; interval?: number; lines?: number }) => {
        const lines = flags.lines ?? 10;
        const show = (e: EventRow) =>
          out(flags.json ? JSON.stringify(e) : eventLine(e, flags.lock === undefined));
        const pause = () => new Promise((resolve) => setTimeout(resolve, (flags.interval ?? 1) * 1000));
        if (flags.lock !== undefined) {
          validateLockName(flags.lock);
          return tailOneLock(api, flags.lock, lines, show, pause);
        }
        // every lock: GET /api/events, newest first, then after the last id seen
        type Page = { last_id: number; results: EventRow[] };
        const first = await api.get<Page>(`/api/events?per_page=${Math.max(1, lines)}`);
        first.results.slice(first.results.length - lines).forEach(show);
        let lastId = first.last_id;
        for (;;) {
          await pause();
          let page: Page;
          do {
            page = await api.get<Page>(`/api/events?after_id=${lastId}&per_page=${TAIL_PAGE}`);
            page.results.forEach(show);
            lastId = page.last_id;
          } while (page.results.length === TAIL_PAGE);
        }
      }),
    );
}

const TAIL_PAGE = 100;

/** One lock's events: its newest page, polled (the lock's event list is newest first). */
async function tailOneLock(
  api: ApiClient,
  lock: string,
  lines: number,
  show: (e: EventRow) => void,
  pause: () => Promise<unknown>,
): Promise<never> {
  const path = `${lockPath(lock)}/dlmlock_events?per_page=`;
  const first = await api.get<{ results: EventRow[] }>(`${path}${Math.max(1, lines)}`);
  for (const e of first.results.slice(0, lines).reverse()) show(e);
  let lastId = Math.max(0, ...first.results.map((e) => e.id));
  for (;;) {
    await pause();
    const page = await api.get<{ results: EventRow[] }>(`${path}${TAIL_PAGE}`);
    for (const e of page.results.filter((x) => x.id > lastId).reverse()) show(e);
    lastId = Math.max(lastId, ...page.results.map((e) => e.id));
  }
}

export function registerOperatorCommands(program: Command): void {
  registerLocks(program);
  registerHosts(program);
  registerEvents(program);
  registerPauseCommands(program);
}
