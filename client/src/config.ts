// Client configuration: flags → config file (/etc/keyholder/client.yaml) → Puppet's agent
// certificates (client/src/puppet.ts). Validated once, with messages naming the file and field.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { clampWait, lockNameProblems, MAX_WAIT_SECONDS } from 'keyholder-protocol';
import { z } from 'zod';
import { ClientError } from './errors.js';
import { describePuppetSearch, findPuppetFiles, type PuppetFiles, type PuppetLookup } from './puppet.js';

export const DEFAULT_CONFIG_PATH = '/etc/keyholder/client.yaml';

const seconds = z.number().int().nonnegative();

const updateSchema = z.strictObject({
  /** the lock that serialises updates across the cluster */
  lock: z.string().min(1).optional(),
  /** holds needs_update.d, pre_update.d, update.d, needs_reboot.d, post_update.d */
  hooksDir: z.string().min(1).optional(),
  /** state file and the file lock live here; must survive a reboot */
  stateDir: z.string().min(1).optional(),
  hookTimeout: seconds.positive().optional(),
  /** argv (no shell) or a string run by /bin/sh -c */
  rebootCommand: z.union([z.array(z.string()).nonempty(), z.string().min(1)]).optional(),
  acquire: z
    .strictObject({
      /** keep trying for this long before giving up (exit 1) */
      timeout: seconds.optional(),
      /** ask keyholder to block up to this long per request; above 300 counts as 300; 0 polls */
      wait: seconds.optional(),
      minDelay: z.number().nonnegative().optional(),
      maxDelay: z.number().nonnegative().optional(),
    })
    .optional(),
  /** how long the final release retries an unreachable server before leaving it to the next run */
  releaseTimeout: seconds.optional(),
  /** where this boot's id is read (tests point it at a file they change to simulate a reboot) */
  bootIdFile: z.string().min(1).optional(),
});

export const fileConfigSchema = z.strictObject({
  url: z.string().min(1).optional(),
  cert: z.string().min(1).optional(),
  key: z.string().min(1).optional(),
  cacert: z.string().min(1).optional(),
  /** the name of Puppet's certificate files; default puppet.conf's certname, else `hostname -f` */
  certname: z.string().min(1).optional(),
  /** per-request timeout in seconds */
  requestTimeout: seconds.positive().optional(),
  /** operator commands (`keyholder locks|hosts|events`): file holding the API token */
  tokenFile: z.string().min(1).optional(),
  update: updateSchema.optional(),
});

export type FileConfig = z.infer<typeof fileConfigSchema>;

/**
 * Reads and validates the config file. A missing default file is fine (Puppet paths and flags
 * may suffice); a missing file the operator named explicitly is an error.
 */
export async function loadConfigFile(file: string, explicit: boolean): Promise<FileConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new ClientError('config', `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = parseYaml(text) ?? {};
  } catch (err) {
    throw new ClientError(
      'config',
      `config file ${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`,
    );
  }
  const parsed = fileConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first?.path.length ? first.path.join('.') : '(top level)';
    throw new ClientError('config', `config file ${file}: ${where}: ${first?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export interface ConnectionFlags {
  url?: string;
  cert?: string;
  key?: string;
  cacert?: string;
}

export interface Connection {
  url: string;
  cert: string;
  key: string;
  /** undefined → the system's trust store */
  cacert?: string;
  requestTimeoutMs: number;
}

/** Pure: which URL and files to use, flags winning over the file, the file over Puppet. */
export function resolveConnection(
  flags: ConnectionFlags,
  file: FileConfig,
  puppet: PuppetLookup,
): Connection {
  const url = flags.url ?? file.url;
  if (!url) {
    throw new ClientError('config', `no server URL: pass --url or set "url" in ${DEFAULT_CONFIG_PATH}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ClientError('config', `server URL "${url}" is not a URL`);
  }
  if (parsed.protocol !== 'https:') {
    throw new ClientError(
      'config',
      `server URL "${url}" must be https:// (hosts authenticate by client certificate)`,
    );
  }
  const needPuppet = !(flags.cert ?? file.cert) || !(flags.key ?? file.key) || !(flags.cacert ?? file.cacert);
  const fromPuppet: Partial<PuppetFiles> = (needPuppet ? findPuppetFiles(puppet) : undefined) ?? {};
  const cert = flags.cert ?? file.cert ?? fromPuppet.cert;
  const key = flags.key ?? file.key ?? fromPuppet.key;
  if (!cert || !key) {
    const missing = !cert ? 'certificate (--cert)' : 'private key (--key)';
    throw new ClientError(
      'config',
      `no client ${missing}: pass it, set it in ${DEFAULT_CONFIG_PATH}, or install ${describePuppetSearch(puppet)}`,
    );
  }
  const cacert = flags.cacert ?? file.cacert ?? fromPuppet.cacert;
  return {
    url,
    cert,
    key,
    ...(cacert !== undefined && { cacert }),
    requestTimeoutMs: (file.requestTimeout ?? 30) * 1000,
  };
}

// keyholder holds a blocking acquire at most MAX_WAIT_SECONDS; a longer wait is asked as that.
export { clampWait, MAX_WAIT_SECONDS };

export const DEFAULT_STATE_DIR = '/var/lib/keyholder';

export interface UpdateSettings {
  lock: string;
  bootIdFile: string;
  hooksDir: string;
  stateDir: string;
  hookTimeoutMs: number;
  rebootCommand: string[];
  acquire: { timeoutMs: number; waitSeconds: number; minDelayMs: number; maxDelayMs: number };
  releaseTimeoutMs: number;
}

export interface UpdateFlags {
  lock?: string;
  hooksDir?: string;
  stateDir?: string;
  acquireTimeout?: number;
  wait?: number;
}

/** Pure: the update workflow's settings with defaults a fleet can live with. */
export function resolveUpdateSettings(flags: UpdateFlags, file: FileConfig): UpdateSettings {
  const u = file.update ?? {};
  const lock = flags.lock ?? u.lock;
  if (!lock) {
    throw new ClientError(
      'config',
      `no lock name: pass --lock or set "update.lock" in ${DEFAULT_CONFIG_PATH}`,
    );
  }
  validateLockName(lock);
  const reboot = u.rebootCommand ?? ['systemctl', 'reboot'];
  return {
    lock,
    hooksDir: flags.hooksDir ?? u.hooksDir ?? '/etc/keyholder',
    stateDir: stateDirOf(flags, file),
    bootIdFile: u.bootIdFile ?? '/proc/sys/kernel/random/boot_id',
    hookTimeoutMs: (u.hookTimeout ?? 3600) * 1000,
    rebootCommand: typeof reboot === 'string' ? ['/bin/sh', '-c', reboot] : reboot,
    acquire: {
      // Long enough to outlast a neighbour's update and reboot; the timer tries again tomorrow.
      timeoutMs: (flags.acquireTimeout ?? u.acquire?.timeout ?? 4 * 3600) * 1000,
      waitSeconds: clampWait(flags.wait ?? u.acquire?.wait ?? MAX_WAIT_SECONDS),
      minDelayMs: (u.acquire?.minDelay ?? 15) * 1000,
      maxDelayMs: (u.acquire?.maxDelay ?? 300) * 1000,
    },
    // After a reboot the network may need a while; the lock must not stay held until tomorrow.
    releaseTimeoutMs: (u.releaseTimeout ?? 900) * 1000,
  };
}

/** Where the state file lives: needed before anything else, even without a valid config. */
export function stateDirOf(flags: UpdateFlags, file: FileConfig): string {
  return flags.stateDir ?? file.update?.stateDir ?? DEFAULT_STATE_DIR;
}

/** Names travel in the URL path; `/` can never round-trip through Foreman's router. */
/** The server's name rule, checked before anything is sent: a typo in a unit fails at once. */
export function validateLockName(name: string): void {
  const problems = lockNameProblems(name);
  if (problems.length > 0) {
    throw new ClientError('config', `lock name ${JSON.stringify(name)} ${problems.join(', ')}`);
  }
}
