import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import { openStore } from '../store/open.js';
import { startServer } from '../server.js';
import { configFromFlags, storeOptions, type StoreFlags } from './store-options.js';

interface ServerFlags extends StoreFlags {
  host?: string;
  port?: string;
}

function configFrom(flags: ServerFlags) {
  let port: number | undefined;
  if (flags.port !== undefined) {
    port = Number(flags.port);
    if (!Number.isInteger(port)) throw new Error(`--port must be an integer, got '${flags.port}'`);
  }
  return configFromFlags(flags, { host: flags.host, port });
}

/**
 * Without certificate files the server makes up a development CA, which is right for trying it
 * out and wrong for a package or an image: there (tls.devPki false) it stops and says what to mount.
 */
export function checkTlsSource(config: Config): void {
  const { cert, key, ca, devPki } = config.tls;
  if (devPki || cert || key || ca) return;
  throw new Error(
    [
      'no TLS certificates configured, and generating a development CA is switched off (tls.devPki: false).',
      'Provide the server certificate, its key, and the CA bundle that host certificates chain to:',
      '  KEYHOLDER_TLS_CERT=/etc/keyholder/tls/server.crt KEYHOLDER_TLS_KEY=/etc/keyholder/tls/server.key',
      '  KEYHOLDER_TLS_CA=/etc/keyholder/tls/ca.crt   (or tls.cert, tls.key, tls.ca in the config file)',
      'in a container, mount them read-only: -v /path/to/tls:/etc/keyholder/tls:ro',
      'or set KEYHOLDER_TLS_DEV_PKI=true to generate a development CA in the data directory.',
    ].join('\n'),
  );
}

export function registerServerCommands(program: Command): void {
  storeOptions(program.command('server').description('run the lock service'))
    .option('-H, --host <address>', 'listen address (default 0.0.0.0)')
    .option('-p, --port <port>', 'listen port (default 8443)')
    .action(async (flags: ServerFlags) => {
      const config = configFrom(flags);
      checkTlsSource(config);
      const server = await startServer(config);
      const lines = [
        `keyholder listening on ${server.url}`,
        `  database: ${config.database.url ? 'postgresql' : `sqlite in ${config.dataDir}`}`,
        `  client CA: ${server.tls.ca}${server.tls.generated ? ' (development CA, generated now)' : ''}`,
      ];
      if (server.admin.password) {
        lines.push(`  admin user: admin  password: ${server.admin.password}  (shown once; save it now)`);
      } else if (server.admin.created) {
        lines.push('  admin user: admin  (password from KEYHOLDER_ADMIN_PASSWORD)');
      }
      // `ca issue` signs with the development CA: no use to hosts of an external CA
      if (server.tls.development) {
        lines.push(
          `  host certificate for trying it out: keyholder ca issue HOSTNAME --data-dir ${config.dataDir}`,
        );
      }
      console.log(lines.join('\n'));
      const stop = (signal: string) => {
        server.app.log.info({ signal }, 'shutting down');
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
      // SIGHUP re-reads the certificate, key, CA bundle and CRL (a CA rotation without downtime)
      process.on('SIGHUP', () => {
        try {
          server.reloadTls();
        } catch (err) {
          server.app.log.error({ err }, 'TLS reload failed; keeping the current certificates');
        }
      });
    });

  storeOptions(program.command('migrate').description('apply database migrations and exit')).action(
    async (flags: ServerFlags) => {
      const store = openStore(configFrom(flags));
      await store.migrate();
      await store.close();
      console.log('migrations applied');
    },
  );
}
