// Finding this host's identity where Puppet keeps it. Hosts managed by Puppet already have a
// certificate signed by the Puppet CA, the same CA Foreman (and a keyholder set up next to it)
// trusts, so with no client config at all the client can still prove who it is.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface PuppetLocation {
  conf: string;
  sslDir: string;
}

/** Puppet's own defaults: the puppetlabs packages first, then the Debian/Ubuntu distribution package. */
export const PUPPET_LOCATIONS: readonly PuppetLocation[] = [
  { conf: '/etc/puppetlabs/puppet/puppet.conf', sslDir: '/etc/puppetlabs/puppet/ssl' },
  { conf: '/etc/puppet/puppet.conf', sslDir: '/var/lib/puppet/ssl' },
];

export interface PuppetLookup {
  locations: readonly PuppetLocation[];
  /** the client config's `certname`, which wins over puppet.conf */
  certname?: string | undefined;
  /** Puppet's default certname; a function because it runs `hostname -f`, only done when needed */
  fqdn: () => string;
  readText: (file: string) => string | undefined;
  exists: (file: string) => boolean;
}

export interface PuppetFiles {
  certname: string;
  sslDir: string;
  cert: string;
  key: string;
  /** only when Puppet's CA certificate is there too */
  cacert?: string;
}

/** `certname` and `ssldir` of puppet.conf's [main] and [agent] sections ([agent] wins). */
export function parsePuppetConf(text: string): { certname?: string; ssldir?: string } {
  const found: Record<string, Record<string, string>> = { main: {}, agent: {} };
  let section = 'main';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      section = header[1]!.trim();
      continue;
    }
    const setting = /^(certname|ssldir)\s*=\s*(.*?)\s*$/.exec(line);
    // `$vardir/ssl` and the like need Puppet itself to expand: better the default than a guess.
    if (setting && found[section] && setting[2] && !setting[2].includes('$')) {
      found[section]![setting[1]!] = setting[2];
    }
  }
  return { ...found.main, ...found.agent };
}

/** The first Puppet location holding a certificate and key for this host, if any. */
export function findPuppetFiles(p: PuppetLookup): PuppetFiles | undefined {
  for (const location of p.locations) {
    const text = p.readText(location.conf);
    const conf = text === undefined ? {} : parsePuppetConf(text);
    const certname = p.certname ?? conf.certname ?? p.fqdn();
    const sslDir = conf.ssldir ?? location.sslDir;
    const cert = path.join(sslDir, 'certs', `${certname}.pem`);
    const key = path.join(sslDir, 'private_keys', `${certname}.pem`);
    if (!p.exists(cert) || !p.exists(key)) continue;
    const cacert = path.join(sslDir, 'certs', 'ca.pem');
    return { certname, sslDir, cert, key, ...(p.exists(cacert) && { cacert }) };
  }
  return undefined;
}

/** For error messages: where the client looked. */
export function describePuppetSearch(p: PuppetLookup): string {
  const name = p.certname ?? p.fqdn();
  return `Puppet's agent certificate for ${name} under ${p.locations.map((l) => l.sslDir).join(' or ')}`;
}

/** Puppet's default certname is the lower-cased FQDN, which is what `hostname -f` prints. */
export function systemFqdn(): string {
  try {
    const fqdn = execFileSync('hostname', ['-f'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 5000,
    }).trim();
    if (fqdn) return fqdn.toLowerCase();
  } catch {
    // no `hostname` binary or no resolvable FQDN: the kernel's name is the next best guess
  }
  return os.hostname().toLowerCase();
}

export function systemPuppetLookup(certname: string | undefined): PuppetLookup {
  let fqdn: string | undefined;
  return {
    locations: PUPPET_LOCATIONS,
    certname,
    fqdn: () => (fqdn ??= systemFqdn()),
    readText: (file) => {
      try {
        return readFileSync(file, 'utf8');
      } catch {
        return undefined;
      }
    },
    exists: existsSync,
  };
}
