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
      })
      .strict()
      .default({}),
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
    trustedProxies: z.array(trustedProxy).default([]),
    proxyHeaders: z
      .object({
        dn: z.string().min(1).default('ssl_client_s_dn'),
        verify: z.string().min(1).default('ssl_client_verify'),
      })
      .strict()
      .default({ dn: 'ssl_client_s_dn', verify: 'ssl_client_verify' }),
    hosts: z
      .object({ autoRegister: z.boolean().default(true) })
      .strict()
      .default({ autoRegister: true }),
    locks: z
      .object({
        staleAfterSeconds: z
          .number()
          .int()
          .min(1)
          .default(4 * 3600),
      })
      .strict()
      .default({ staleAfterSeconds: 4 * 3600 }),
    events: z
      .object({ retentionDays: z.number().int().min(1).default(14) })
      .strict()
      .default({ retentionDays: 14 }),
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
