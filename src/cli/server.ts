import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { openStore } from '../store/open.js';
import { startServer } from '../server.js';

interface ServerFlags {
  config?: string;
  dataDir?: string;
  host?: string;
  port?: string;
  databaseUrl?: string;
}

function configFrom(flags: ServerFlags) {
  let port: number | undefined;
  if (flags.port !== undefined) {
    port = Number(flags.port);
    if (!Number.isInteger(port)) throw new Error(`--port must be an integer, got '${flags.port}'`);
  }
  return loadConfig({
    file: flags.config,
    flags: { dataDir: flags.dataDir, host: flags.host, port, database: { url: flags.databaseUrl } },
  });
}

function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'config file (YAML or JSON); default $KEYHOLDER_CONFIG')
    .option('-d, --data-dir <dir>', 'data directory: SQLite file and development PKI (default ./data)')
    .option('--database-url <url>', 'postgres:// URL; default SQLite in the data directory');
}

export function registerServerCommands(program: Command): void {
  withCommonOptions(program.command('server').description('run the lock service'))
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
      lines.push(
        `  host certificate for trying it out: keyholder ca issue HOSTNAME --data-dir ${config.dataDir}`,
      );
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

  withCommonOptions(program.command('migrate').description('apply database migrations and exit')).action(
    async (flags: ServerFlags) => {
      const store = openStore(configFrom(flags));
      await store.migrate();
      await store.close();
      console.log('migrations applied');
    },
  );
}
