// The one configuration schema. Parsed once at start (defaults → file → env → flags),
// validated with messages that name the offending key, then frozen.
import { z } from 'zod';
import proxyaddr from 'proxy-addr';

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
      })
      .strict()
      .default({ watchSeconds: 0, devPki: true }),
    database: z
      .object({
        url: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
          .optional(),
        poolSize: z.number().int().min(1).max(200).default(10),
      })
      .strict()
      .default({ poolSize: 10 }),
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
    proxyHeaders: z
      .object({
        dn: z.string().min(1).default('ssl_client_s_dn'),
        verify: z.string().min(1).default('ssl_client_verify'),
      })
      .strict()
      .default({ dn: 'ssl_client_s_dn', verify: 'ssl_client_verify' }),
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
        /** client addresses/CIDRs that may speak FleetLock; empty = anyone */
        allowedNetworks: z.array(trustedProxy).default([]),
        /** only verified client certificates; the holder is then the certificate's CN */
        requireClientCertificate: z.boolean().default(false),
      })
      .strict()
      .default({ enabled: true, defaultMaxHolders: 1, allowedNetworks: [], requireClientCertificate: false }),
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
      })
      .strict()
      .default({ staleAfterSeconds: 4 * 3600, expiryIntervalSeconds: 5, staleScanIntervalSeconds: 60 }),
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
                /** HMAC-SHA256 key: receivers check X-Keyholder-Signature with it */
                secret: z.string().min(16, 'must be at least 16 characters'),
                events: z
                  .array(z.enum(WEBHOOK_EVENTS))
                  .min(1)
                  .default([...WEBHOOK_EVENTS]),
                timeoutSeconds: z.number().min(0.1).max(60).default(5),
                /** a PEM file to verify an https receiver's certificate against (else the system CAs) */
                ca: z.string().optional(),
              })
              .strict(),
          )
          .default([]),
        pollIntervalSeconds: z.number().min(0.05).max(60).default(1),
        /** attempts per event before it is skipped (logged) so one bad event cannot stall a target */
        maxAttempts: z.number().int().min(1).max(100).default(12),
      })
      .strict()
      .default({ targets: [], pollIntervalSeconds: 1, maxAttempts: 12 }),
    http: z
      .object({
        bodyLimit: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(64 * 1024),
      })
      .strict()
      .default({ bodyLimit: 64 * 1024 }),
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
