import type { Command } from 'commander';
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

export function registerServerCommands(program: Command): void {
  storeOptions(program.command('server').description('run the lock service'))
    .option('-H, --host <address>', 'listen address (default 0.0.0.0)')
    .option('-p, --port <port>', 'listen port (default 8443)')
    .action(async (flags: ServerFlags) => {
      const config = configFrom(flags);
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
