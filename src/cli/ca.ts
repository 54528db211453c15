import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ensureDevPki, issueHostCertificate, pkiPaths } from '../pki/dev.js';

function dataDir(flags: { dataDir?: string }): string {
  return loadConfig({ flags: { dataDir: flags.dataDir } }).dataDir;
}

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('a small development PKI for trying keyholder out');
  ca.command('init')
    .description('create the development CA and server certificate in <data-dir>/pki')
    .option('-d, --data-dir <dir>', 'data directory (default ./data)')
    .option('--name <dns...>', 'extra DNS names for the server certificate')
    .action(async (flags: { dataDir?: string; name?: string[] }) => {
      const dir = dataDir(flags);
      const created = await ensureDevPki(dir, flags.name ?? []);
      const p = pkiPaths(dir);
      console.log(
        created
          ? `created CA ${p.caCert} and server certificate ${p.serverCert}`
          : `CA already exists: ${p.caCert}`,
      );
    });
  ca.command('issue')
    .description('issue a host (client) certificate whose CN is HOST')
    .argument('<host>', 'host name, as keyholder will know the host')
    .option('-d, --data-dir <dir>', 'data directory (default ./data)')
    .option('-o, --out-dir <dir>', 'where to write HOST.crt and HOST.key (default <data-dir>/pki/hosts)')
    .action(async (host: string, flags: { dataDir?: string; outDir?: string }) => {
      const dir = dataDir(flags);
      await ensureDevPki(dir);
      const out = await issueHostCertificate(dir, host, flags.outDir);
      console.log(`certificate: ${out.cert}\nkey: ${out.key}\nCA: ${pkiPaths(dir).caCert}`);
    });
}
