import { Option, type Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { ensureDevPki, issueHostCertificate, pkiPaths } from '../pki/dev.js';
import { DEFAULT_RSA_BITS, KEY_TYPES, type KeyType } from '../pki/x509.js';

/** ECDSA P-256 by default (cheap handshakes); RSA-4096 where clients or policy want RSA */
const keyTypeOption = (help: string) => new Option('--key-type <type>', help).choices(KEY_TYPES);
const rsaBitsOption = () =>
  new Option('--rsa-bits <bits>', `RSA key size (default ${DEFAULT_RSA_BITS}, as Puppet's CA)`)
    .choices(['2048', '3072', '4096'])
    .argParser(Number);

function dataDir(flags: { dataDir?: string }): string {
  return loadConfig({ flags: { dataDir: flags.dataDir } }).dataDir;
}

interface KeyFlags {
  dataDir?: string;
  keyType?: KeyType;
  rsaBits?: number;
}

/** `tls.devKeyType` from the configuration: what the server would generate */
function loadKeyType(flags: { dataDir?: string }): KeyType {
  return loadConfig({ flags: { dataDir: flags.dataDir } }).tls.devKeyType;
}

export function registerCaCommands(program: Command): void {
  const ca = program.command('ca').description('a small development PKI for trying keyholder out');
  ca.command('init')
    .description('create the development CA and server certificate in <data-dir>/pki')
    .option('-d, --data-dir <dir>', 'data directory (default ./data)')
    .option('--name <dns...>', 'extra DNS names for the server certificate')
    .addOption(keyTypeOption('key type of the CA and server certificate: ecdsa (P-256) or rsa'))
    .addOption(rsaBitsOption())
    .action(async (flags: KeyFlags & { name?: string[] }) => {
      const dir = dataDir(flags);
      const created = await ensureDevPki(dir, flags.name ?? [], {
        keyType: flags.keyType ?? loadKeyType(flags),
        rsaBits: flags.rsaBits,
      });
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
    .addOption(keyTypeOption("the host key's type (default: the CA's)"))
    .addOption(rsaBitsOption())
    .action(async (host: string, flags: KeyFlags & { outDir?: string }) => {
      const dir = dataDir(flags);
      await ensureDevPki(dir, [], { keyType: loadKeyType(flags), rsaBits: flags.rsaBits });
      const out = await issueHostCertificate(dir, host, flags.outDir, {
        keyType: flags.keyType,
        rsaBits: flags.rsaBits,
      });
      console.log(`certificate: ${out.cert}\nkey: ${out.key}\nCA: ${pkiPaths(dir).caCert}`);
    });
}
