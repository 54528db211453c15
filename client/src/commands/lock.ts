// `keyholder lock status|acquire|release NAME`: the host side of the Foreman DLM API, for
// scripts and operators. Exit codes: 0 done, 1 lock not available (HTTP 412), 2 any other error.
import { Command, InvalidArgumentError, Option } from 'commander';
import { ClientError, EXIT_ERROR, EXIT_OK, exitCodeFor } from '../errors.js';
import { clampWait, MAX_WAIT_SECONDS, validateLockName } from '../config.js';
import { lockExec } from '../lock-exec.js';
import { createLogger } from '../log.js';
import { interruptOnSignals } from '../signals.js';
import { acquireWithRetry, lockOnce } from '../lock-ops.js';
import { statusLine, successLine } from '../messages.js';
import { say } from '../output.js';
import { connect, type CommonFlags } from '../setup.js';

interface LockFlags extends CommonFlags {
  json?: boolean;
  wait?: number;
}

export function seconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n))
    throw new InvalidArgumentError('expected whole seconds');
  return n;
}

/** --config/--url/--cert/--key/--cacert, the same on every client command. */
export function addConnectionOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'client config file (default /etc/keyholder/client.yaml)')
    .option('--url <url>', 'server URL, e.g. https://keyholder.example.com:8443')
    .option('--cert <file>', "this host's client certificate (PEM)")
    .option('--key <file>', "this host's private key (PEM)")
    .option('--cacert <file>', "CA bundle for the server's certificate (PEM)");
}

export function registerLockCommands(program: Command): void {
  const lock = program
    .command('lock')
    .description('show, acquire or release a lock as this host (exit 0 ok, 1 not available, 2 error)');

  for (const op of ['status', 'acquire', 'release'] as const) {
    const cmd = addConnectionOptions(
      lock.command(`${op} <name>`).description(
        {
          status: 'show who holds the lock',
          acquire: 'take the lock for this host',
          release: 'give the lock back',
        }[op],
      ),
    ).option('--json', 'print the lock JSON (or {"error":…}) on stdout');
    if (op === 'acquire') {
      cmd.addOption(
        new Option(
          '-w, --wait <seconds>',
          'keep trying up to this long (blocking on keyholder; a paused or closed lock is waited out until it opens, or refused at once if that is later)',
        ).argParser(seconds),
      );
    }
    cmd.action(async (name: string, flags: LockFlags) => {
      process.exitCode = await runLockCommand(op, name, flags);
    });
  }
  registerExec(lock);
}

function registerExec(lock: Command): void {
  addConnectionOptions(
    lock
      .command('exec <name> <command...>')
      .description(
        'run a command while holding the lock: wait for it (first come, first served), renew its lease, release it at the end',
      ),
  )
    .addOption(
      new Option(
        '-w, --wait <seconds>',
        'give up acquiring after this long (default: wait as long as it takes; a paused or closed lock that opens later is refused at once)',
      ).argParser(seconds),
    )
    .addHelpText(
      'after',
      `
The command gets KEYHOLDER_LOCK, KEYHOLDER_HOST (this host, the holder) and, on keyholder,
KEYHOLDER_FENCING_TOKEN. Put "--" before the command so its options stay its own.

Exit code: the command's; 1 if the lock was not acquired in time; 3 if the server could not be
reached (also for the release at the end); 4 if the lock was lost while the command ran (the
command's process group was sent SIGTERM, then SIGKILL); 2 for any other error.

Examples:
  keyholder lock exec db-backup -- /usr/local/sbin/backup --full
  keyholder lock exec --wait 600 deploy-web -- sh -c 'deploy && smoke-test'`,
    )
    .action(async (name: string, argv: string[], flags: LockFlags) => {
      const log = createLogger(process.stderr, process.stderr);
      const interruption = interruptOnSignals((sig) =>
        log.warn(`received ${sig}, passing it on to the command`),
      );
      try {
        validateLockName(name);
        const { client, host } = await connect(flags);
        process.exitCode = await lockExec({
          client,
          host,
          lock: name,
          argv,
          waitSeconds: flags.wait,
          requestWaitSeconds: clampWait(flags.wait ?? MAX_WAIT_SECONDS),
          log,
          env: process.env,
          signal: interruption.signal,
        });
      } catch (err) {
        process.exitCode = reportError(err, false);
      } finally {
        interruption.dispose();
      }
    });
}

async function runLockCommand(
  op: 'status' | 'acquire' | 'release',
  name: string,
  flags: LockFlags,
): Promise<number> {
  try {
    validateLockName(name);
    const { client, host } = await connect(flags);
    if (op === 'status') {
      const lock = await client.show(name);
      if (flags.json) process.stdout.write(`${JSON.stringify(lock ?? null)}\n`);
      else say(process.stdout, statusLine(name, lock, host), 'plain');
      return EXIT_OK;
    }
    const result =
      op === 'acquire' && flags.wait
        ? await acquireWithRetry(client, name, host, {
            timeoutMs: flags.wait * 1000,
            waitSeconds: clampWait(flags.wait),
            minDelayMs: 1000,
            maxDelayMs: 30_000,
          })
        : await lockOnce(client, op, name, host);
    if (flags.json) process.stdout.write(`${JSON.stringify(result.lock)}\n`);
    else say(process.stdout, successLine(op, name, result.fencingToken), 'ok');
    return EXIT_OK;
  } catch (err) {
    return reportError(err, flags.json === true);
  }
}

/** One line on stderr saying what happened; with --json also a machine-readable error on stdout. */
export function reportError(err: unknown, json: boolean): number {
  const code = exitCodeFor(err);
  const message = err instanceof Error ? err.message : String(err);
  if (json) {
    const details = err instanceof ClientError ? { kind: err.kind, ...err.details } : { kind: 'internal' };
    process.stdout.write(`${JSON.stringify({ error: { message, ...details } })}\n`);
  }
  say(process.stderr, `keyholder: ${message}`, code === EXIT_ERROR ? 'error' : 'warn');
  return code;
}
