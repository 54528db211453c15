// Builds the configuration: defaults → config file (YAML or JSON) → KEYHOLDER_* environment
// (with *_FILE variants for secrets) → command-line flags. Nothing else reads process.env.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { ConfigSchema, type Config } from './schema.js';

export class ConfigError extends Error {}

type Plain = Record<string, unknown>;

function isPlain(v: unknown): v is Plain {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(base: Plain, over: Plain): Plain {
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    out[k] = isPlain(v) && isPlain(out[k]) ? merge(out[k] as Plain, v) : v;
  }
  return out;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

function fromFile(path: string): Plain {
  let parsed: unknown;
  try {
    parsed = parseYaml(readText(path, 'config file'));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`config file ${path} is not valid YAML/JSON: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (!isPlain(parsed)) throw new ConfigError(`config file ${path} must hold a mapping at the top level`);
  return parsed;
}

function secret(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const file = env[`${name}_FILE`];
  // An empty file means "not set": a package can ship the (root-only) file before it is filled in.
  if (file) return readText(file, `${name}_FILE`).trim() || undefined;
  return env[name] || undefined;
}

function numberFrom(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new ConfigError(`${name} must be an integer, got '${raw}'`);
  return n;
}

function boolFrom(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(`${name} must be true or false, got '${env[name]}'`);
}

/** A comma-separated list, e.g. addresses and CIDRs. */
function listFrom(env: NodeJS.ProcessEnv, name: string): string[] | undefined {
  const raw = env[name];
  return raw
    ? raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : undefined;
}

function fromEnv(env: NodeJS.ProcessEnv): Plain {
  return {
    dataDir: env.KEYHOLDER_DATA_DIR || undefined,
    host: env.KEYHOLDER_HOST || undefined,
    port: numberFrom(env, 'KEYHOLDER_PORT'),
    tls: {
      cert: env.KEYHOLDER_TLS_CERT || undefined,
      key: env.KEYHOLDER_TLS_KEY || undefined,
      ca: env.KEYHOLDER_TLS_CA || undefined,
      crl: env.KEYHOLDER_TLS_CRL || undefined,
      watchSeconds: numberFrom(env, 'KEYHOLDER_TLS_WATCH_SECONDS'),
      devPki: boolFrom(env, 'KEYHOLDER_TLS_DEV_PKI'),
      devKeyType: env.KEYHOLDER_TLS_DEV_KEY_TYPE || undefined,
      ticketKeyFile: env.KEYHOLDER_TLS_TICKET_KEY_FILE || undefined,
      sessionCacheSize: numberFrom(env, 'KEYHOLDER_TLS_SESSION_CACHE_SIZE'),
    },
    database: {
      url: secret(env, 'KEYHOLDER_DATABASE_URL'),
      connectTimeoutSeconds: numberFrom(env, 'KEYHOLDER_DATABASE_CONNECT_TIMEOUT_SECONDS'),
      password: secret(env, 'KEYHOLDER_DATABASE_PASSWORD'),
    },
    instanceId: env.KEYHOLDER_INSTANCE_ID || undefined,
    adminPassword: secret(env, 'KEYHOLDER_ADMIN_PASSWORD'),
    trustedProxies: listFrom(env, 'KEYHOLDER_TRUSTED_PROXIES'),
    hosts: {
      autoRegister: boolFrom(env, 'KEYHOLDER_HOSTS_AUTO_REGISTER'),
      matchSan: boolFrom(env, 'KEYHOLDER_HOSTS_MATCH_SAN'),
    },
    locks: {
      staleAfterSeconds: numberFrom(env, 'KEYHOLDER_LOCKS_STALE_AFTER_SECONDS'),
      expiryIntervalSeconds: numberFrom(env, 'KEYHOLDER_LOCKS_EXPIRY_INTERVAL_SECONDS'),
      instanceHeartbeatSeconds: numberFrom(env, 'KEYHOLDER_LOCKS_INSTANCE_HEARTBEAT_SECONDS'),
      instanceTimeoutSeconds: numberFrom(env, 'KEYHOLDER_LOCKS_INSTANCE_TIMEOUT_SECONDS'),
    },
    events: {
      retentionDays: numberFrom(env, 'KEYHOLDER_EVENTS_RETENTION_DAYS'),
      auditRetentionDays: numberFrom(env, 'KEYHOLDER_EVENTS_AUDIT_RETENTION_DAYS'),
    },
    fleetlock: {
      enabled: boolFrom(env, 'KEYHOLDER_FLEETLOCK_ENABLED'),
      defaultMaxHolders: numberFrom(env, 'KEYHOLDER_FLEETLOCK_DEFAULT_MAX_HOLDERS'),
      // names only; each gets fleetlock.defaultMaxHolders (the config file can set maxHolders)
      groups: listFrom(env, 'KEYHOLDER_FLEETLOCK_GROUPS')?.reduce<Plain>(
        (all, g) => ({ ...all, [g]: {} }),
        {},
      ),
      allowedNetworks: listFrom(env, 'KEYHOLDER_FLEETLOCK_ALLOWED_NETWORKS'),
      requireClientCertificate: boolFrom(env, 'KEYHOLDER_FLEETLOCK_REQUIRE_CLIENT_CERTIFICATE'),
    },
    http: {
      keepAliveTimeoutSeconds: numberFrom(env, 'KEYHOLDER_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS'),
      requestTimeoutSeconds: numberFrom(env, 'KEYHOLDER_HTTP_REQUEST_TIMEOUT_SECONDS'),
      maxConnectionAgeSeconds: numberFrom(env, 'KEYHOLDER_HTTP_MAX_CONNECTION_AGE_SECONDS'),
      maxConnections: numberFrom(env, 'KEYHOLDER_HTTP_MAX_CONNECTIONS'),
      shutdownGraceSeconds: numberFrom(env, 'KEYHOLDER_HTTP_SHUTDOWN_GRACE_SECONDS'),
    },
    metrics: { maxLockLabels: numberFrom(env, 'KEYHOLDER_METRICS_MAX_LOCK_LABELS') },
    log: { level: env.KEYHOLDER_LOG_LEVEL || undefined },
  };
}

export interface LoadOptions {
  env?: NodeJS.ProcessEnv;
  /** --config; falls back to KEYHOLDER_CONFIG */
  file?: string;
  /** command-line flags, already shaped like the config */
  flags?: Plain;
}

export function loadConfig(options: LoadOptions = {}): Config {
  const env = options.env ?? process.env;
  const file = options.file ?? env.KEYHOLDER_CONFIG;
  let raw: Plain = {};
  if (file) raw = merge(raw, fromFile(file));
  raw = merge(raw, fromEnv(env));
  raw = merge(raw, options.flags ?? {});
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration:\n${lines.join('\n')}`);
  }
  return deepFreeze(parsed.data);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
