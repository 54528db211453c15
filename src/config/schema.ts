// The one configuration schema. Parsed once at start (defaults → file → env → flags),
// validated with messages that name the offending key, then frozen.
import { z } from 'zod';
import proxyaddr from 'proxy-addr';
import { credentialNames, parseGates, type GateDefinition } from '../lock/gates.js';
import { lockNameProblems } from '../lock/validate.js';

const trustedProxy = z.string().refine(
  (value) => {
    try {
      proxyaddr.compile([value]);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'must be an IP address or CIDR (e.g. 10.0.0.0/8)' },
);

/** What a webhook target receives (src/jobs/notify-formats.ts). */
export const WEBHOOK_FORMATS = ['keyholder', 'slack', 'teams', 'alertmanager'] as const;

/** What a webhook may subscribe to (SPEC §3). */
export const WEBHOOK_EVENTS = [
  'acquire',
  'release',
  'fail',
  'expire',
  'stale',
  'enable',
  'disable',
  'force_release',
  /** a health gate's outcome changed (pass → fail or back) */
  'gate',
] as const;

export const ConfigSchema = z
  .object({
    dataDir: z.string().min(1).default('./data'),
    host: z.string().min(1).default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(8443),
    tls: z
      .object({
        /** PEM paths; when all absent, a development PKI is generated in dataDir/pki */
        cert: z.string().optional(),
        key: z.string().optional(),
        ca: z.string().optional(),
        crl: z.string().optional(),
        /** re-read cert, key, CA and CRL when they change (checked every N seconds; 0 = only on SIGHUP) */
        watchSeconds: z.number().int().min(0).max(86_400).default(0),
        /** false: without cert/key/ca the server stops and says what to mount (packages, images) */
        devPki: z.boolean().default(true),
        /** key type of the development PKI generated in dataDir/pki (`keyholder ca` has --key-type) */
        devKeyType: z.enum(['ecdsa', 'rsa']).default('ecdsa'),
        /**
         * a file of at least 32 random bytes that the TLS session ticket keys are derived from;
         * instances sharing it resume each other's sessions (default: a random secret per process)
         */
        ticketKeyFile: z.string().min(1).optional(),
        /** TLS 1.2 session IDs kept for resumption by clients without tickets (0: none) */
        sessionCacheSize: z.number().int().min(0).max(1_000_000).default(10_000),
      })
      .strict()
      .default({ watchSeconds: 0, devPki: true, devKeyType: 'ecdsa', sessionCacheSize: 10_000 }),
    database: z
      .object({
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
          .optional(),
        /** the password, when the URL holds none (from KEYHOLDER_DATABASE_PASSWORD_FILE, say) */
        password: z.string().min(1).optional(),
        poolSize: z.number().int().min(1).max(200).default(16),
        /**
         * how long a request waits for a new database connection before it is answered 503
         * (protects against a database host that swallows packets: requests would hang)
         */
        connectTimeoutSeconds: z.number().min(0.1).max(300).default(5),
      })
      .strict()
      .default({ poolSize: 16, connectTimeoutSeconds: 5 }),
    /**
     * names this process in keyholder_build_info, so scrapes through a load balancer are not
     * read as one instance's counters going back; default host name:port
     */
    instanceId: z.string().min(1).max(200).optional(),
    adminPassword: z.string().min(8, 'must be at least 8 characters').optional(),
    /** users' UI sessions and login throttling (src/identity) */
    auth: z
      .object({
        sessionIdleSeconds: z
          .number()
          .int()
          .min(60)
          .max(7 * 86_400)
          .default(1800),
        sessionMaxSeconds: z
          .number()
          .int()
          .min(300)
          .max(90 * 86_400)
          .default(12 * 3600),
        /** failed password checks (login and HTTP Basic) counted over this window */
        loginWindowSeconds: z.number().int().min(1).max(86_400).default(900),
        maxFailuresPerUser: z.number().int().min(1).max(10_000).default(10),
        maxFailuresPerAddress: z.number().int().min(1).max(100_000).default(30),
      })
      .strict()
      .default({
        sessionIdleSeconds: 1800,
        sessionMaxSeconds: 12 * 3600,
        loginWindowSeconds: 900,
        maxFailuresPerUser: 10,
        maxFailuresPerAddress: 30,
      }),
    trustedProxies: z.array(trustedProxy).default([]),
    /** what a trusted proxy forwards about its client's certificate (see src/identity/dn.ts) */
    proxyHeaders: z
      .object({
        /** the subject DN, RFC 2253 form recommended (the one-line form is read only when unambiguous) */
        dn: z.string().min(1).default('ssl_client_s_dn'),
        /** the proxy's verification result; anything but SUCCESS (or NONE: no certificate) is refused */
        verify: z.string().min(1).default('ssl_client_verify'),
        /** a DN without the verify header is refused; off only for a proxy that cannot send it */
        requireVerify: z.boolean().default(true),
      })
      .strict()
      .default({ dn: 'ssl_client_s_dn', verify: 'ssl_client_verify', requireVerify: true }),
    hosts: z
      .object({
        autoRegister: z.boolean().default(true),
        /** a certificate also names a registered host through a DNS subjectAltName, not only its CN */
        matchSan: z.boolean().default(false),
      })
      .strict()
      .default({ autoRegister: true, matchSan: false }),
    /** FleetLock (Zincati): POST /v1/pre-reboot and /v1/steady-state, see src/http/fleetlock.ts */
    fleetlock: z
      .object({
        enabled: z.boolean().default(true),
        /** max_holders of a `fleetlock-<group>` lock created by its first request */
        defaultMaxHolders: z.number().int().min(1).max(10_000).default(1),
        /**
         * The groups FleetLock may create a lock for (SPEC §4); any other group works only once
         * an operator created its `fleetlock-<group>` lock. Unauthenticated requests for
         * undeclared groups are refused and write nothing.
         */
        groups: z
          .record(
            z.string().regex(/^[a-zA-Z0-9.-]{1,245}$/, 'a group name matches ^[a-zA-Z0-9.-]+$'),
            z
              .object({ maxHolders: z.number().int().min(1).max(10_000).optional() })
              .strict()
              .nullish()
              .transform((g) => g ?? {}),
          )
          .default({ default: {} }),
        /** client addresses/CIDRs that may speak FleetLock; empty = anyone */
        allowedNetworks: z.array(trustedProxy).default([]),
        /** only verified client certificates; the holder is then the certificate's CN */
        requireClientCertificate: z.boolean().default(false),
      })
      .strict()
      .default({
        enabled: true,
        defaultMaxHolders: 1,
        groups: { default: {} },
        allowedNetworks: [],
        requireClientCertificate: false,
      }),
    locks: z
      .object({
        staleAfterSeconds: z
          .number()
          .int()
          .min(1)
          .default(4 * 3600),
        /** how often expired leases and lapsed waiters are cleared (acquire checks leases anyway) */
        expiryIntervalSeconds: z.number().min(0.1).max(3600).default(5),
        /** how often held locks are checked for staleness (a `stale` event and webhook, once) */
        staleScanIntervalSeconds: z.number().min(0.1).max(3600).default(60),
        /** how often this instance renews its row in `instances` (its blocking waiters are live while it does) */
        instanceHeartbeatSeconds: z.number().min(0.1).max(600).default(5),
        /**
         * an instance that has not renewed its row for this long counts as dead: its blocking
         * waiters stop holding up the queue (a killed instance's ghosts are gone within this)
         */
        instanceTimeoutSeconds: z.number().min(0.5).max(3600).default(15),
      })
      .strict()
      .refine((l) => l.instanceTimeoutSeconds > l.instanceHeartbeatSeconds, {
        message: 'instanceTimeoutSeconds must be longer than instanceHeartbeatSeconds',
        path: ['instanceTimeoutSeconds'],
      })
      .default({
        staleAfterSeconds: 4 * 3600,
        expiryIntervalSeconds: 5,
        staleScanIntervalSeconds: 60,
        instanceHeartbeatSeconds: 5,
        instanceTimeoutSeconds: 15,
      }),
    events: z
      .object({
        retentionDays: z.number().int().min(1).default(14),
        /** the audit trail (logins, tokens, roles) is kept longer than lock events */
        auditRetentionDays: z.number().int().min(1).default(365),
      })
      .strict()
      .default({ retentionDays: 14, auditRetentionDays: 365 }),
    /** signed JSON POSTs of lock events (src/jobs/webhooks.ts) */
    webhooks: z
      .object({
        targets: z
          .array(
            z
              .object({
                url: z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL'),
                /** keyholder: signed JSON; slack/teams: a chat message; alertmanager: stale-lock alerts (url = Alertmanager's base URL) */
                format: z.enum(WEBHOOK_FORMATS).default('keyholder'),
                /** HMAC-SHA256 key: receivers check X-Keyholder-Signature with it (format keyholder) */
                secret: z.string().min(16, 'must be at least 16 characters').optional(),
                events: z
                  .array(z.enum(WEBHOOK_EVENTS))
                  .min(1)
                  .default([...WEBHOOK_EVENTS]),
                timeoutSeconds: z.number().min(0.1).max(60).default(5),
                /** a PEM file to verify an https receiver's certificate against (else the system CAs) */
                ca: z.string().optional(),
                /** format alertmanager: labels added to every alert (severity defaults to warning) */
                labels: z.record(z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/), z.string()).default({}),
              })
              .strict()
              .refine((t) => t.format !== 'keyholder' || t.secret !== undefined, {
                message: 'a keyholder-format target needs a secret (at least 16 characters)',
                path: ['secret'],
              }),
          )
          .default([]),
        pollIntervalSeconds: z.number().min(0.05).max(60).default(1),
        /** attempts per event before it is skipped (logged) so one bad event cannot stall a target */
        maxAttempts: z.number().int().min(1).max(100).default(12),
        /** how often alertmanager targets are told again about locks that are still stale */
        alertResendSeconds: z.number().min(1).max(3600).default(60),
      })
      .strict()
      .default({ targets: [], pollIntervalSeconds: 1, maxAttempts: 12, alertResendSeconds: 60 }),
    /** health gates (src/gates/): the credentials gates name, so no secret is stored in a lock */
    gates: z
      .object({
        credentials: z
          .record(
            z
              .string()
              .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'a credential name: letters, digits, . _ -'),
            z
              .object({
                bearerToken: z.string().min(1).optional(),
                /** a file holding the token (read at each check, so rotation needs no restart) */
                bearerTokenFile: z.string().min(1).optional(),
                basicAuth: z
                  .object({
                    username: z.string().min(1),
                    password: z.string().optional(),
                    passwordFile: z.string().min(1).optional(),
                  })
                  .strict()
                  .refine((b) => (b.password === undefined) !== (b.passwordFile === undefined), {
                    message: 'give exactly one of password and passwordFile',
                  })
                  .optional(),
                /** a PEM file to verify the upstream's certificate against (else the system CAs) */
                caFile: z.string().min(1).optional(),
              })
              .strict()
              .refine(
                (c) =>
                  [c.bearerToken, c.bearerTokenFile, c.basicAuth].filter((v) => v !== undefined).length <= 1,
                { message: 'give at most one of bearerToken, bearerTokenFile and basicAuth' },
              ),
          )
          .default({}),
        /**
         * Gates declared for locks by name (src/service/configured-gates.ts): applied at start,
         * creating the lock if needed; the config is then the source of truth for their gates.
         */
        locks: z
          .record(z.string(), z.unknown())
          .transform((declared, ctx) => {
            const out: Record<string, GateDefinition[]> = {};
            for (const [name, raw] of Object.entries(declared)) {
              const problems = [...lockNameProblems(name), ...parseGates(raw).problems];
              for (const problem of problems) {
                ctx.addIssue({ code: z.ZodIssueCode.custom, path: [name], message: problem });
              }
              out[name] = parseGates(raw).gates;
            }
            return out;
          })
          .default({}),
      })
      .strict()
      // a declared gate naming credentials the file does not define would fail every check
      .superRefine((gates, ctx) => {
        for (const [name, list] of Object.entries(gates.locks)) {
          for (const missing of credentialNames(list).filter((c) => !(c in gates.credentials))) {
            ctx.addIssue({
              code: z.ZodIssueCode.custom,
              path: ['locks', name],
              message: `credentials '${missing}' are not defined in gates.credentials`,
            });
          }
        }
      })
      .default({ credentials: {}, locks: {} }),
    /** request and connection limits (src/http/connections.ts); each guards against a slow or idle client */
    http: z
      .object({
        bodyLimit: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(64 * 1024),
        /** how long a keep-alive connection may sit idle between requests (not during one) */
        keepAliveTimeoutSeconds: z.number().min(0.1).max(3600).default(60),
        /** the TLS handshake, the headers and the body must arrive within this (a waiting handler is not cut) */
        requestTimeoutSeconds: z.number().min(0.1).max(3600).default(30),
        /** a connection is closed after its current response once older than this */
        maxConnectionAgeSeconds: z
          .number()
          .min(0.1)
          .max(7 * 86_400)
          .default(600),
        /** open connections per instance; more are refused at once */
        maxConnections: z.number().int().min(1).max(1_000_000).default(4096),
        /** open GET /api/events/stream connections per instance (the web UI holds one per tab) */
        maxEventStreams: z.number().int().min(0).max(100_000).default(256),
        /** on SIGTERM, how long requests in flight may take before every connection is closed */
        shutdownGraceSeconds: z.number().min(0).max(600).default(10),
      })
      .strict()
      .default({
        bodyLimit: 64 * 1024,
        keepAliveTimeoutSeconds: 60,
        requestTimeoutSeconds: 30,
        maxConnectionAgeSeconds: 600,
        maxConnections: 4096,
        maxEventStreams: 256,
        shutdownGraceSeconds: 10,
      }),
    /** /metrics (src/http/metrics-locks.ts) */
    metrics: z
      .object({
        /**
         * at most this many locks appear by name in the per-lock series (stale ones first, then
         * the longest held); the rest are counted in keyholder_lock_series_omitted
         */
        maxLockLabels: z.number().int().min(0).max(10_000).default(50),
      })
      .strict()
      .default({ maxLockLabels: 50 }),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type Config = Readonly<z.infer<typeof ConfigSchema>>;
export type ConfigInput = z.input<typeof ConfigSchema>;
