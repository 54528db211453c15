// `keyholder doctor`: what would stop or endanger a server with this configuration, checked
// without starting one and without changing anything — configuration, TLS files (readable,
// parseable, in date, key matching, CRL not expired), the database (reachable, migrations),
// and the clock against the database's.
import 'reflect-metadata';
import { X509Crl } from '@peculiar/x509';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.js';
import { pkiPaths } from '../pki/dev.js';
import { MIGRATIONS } from '../store/migrations/index.js';
import { openStore } from '../store/open.js';

export type Level = 'ok' | 'warn' | 'fail';

export interface Finding {
  level: Level;
  check: string;
  message: string;
}

const DAY = 86_400_000;
/** certificates closer than this to their end are worth a warning */
const EXPIRY_WARNING_MS = 30 * DAY;
/** lease expiry and time stamps follow the database clock; a host clock far off misleads people */
const CLOCK_SKEW_WARNING_MS = 2000;

const when = (d: Date) => d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';

function pemBlocks(text: string, label: string): string[] {
  return text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]+?-----END ${label}-----`, 'g')) ?? [];
}

function certificateFindings(what: string, cert: X509Certificate, now: number): Finding[] {
  const from = new Date(cert.validFrom);
  const to = new Date(cert.validTo);
  const subject = cert.subject.replace(/\n/g, ', ');
  if (now < from.getTime()) {
    return [
      { level: 'fail', check: 'tls', message: `${what} (${subject}) is not valid before ${when(from)}` },
    ];
  }
  if (now > to.getTime()) {
    return [{ level: 'fail', check: 'tls', message: `${what} (${subject}) expired ${when(to)}` }];
  }
  const level: Level = to.getTime() - now < EXPIRY_WARNING_MS ? 'warn' : 'ok';
  return [{ level, check: 'tls', message: `${what} (${subject}) valid until ${when(to)}` }];
}

function read(path: string, what: string, findings: Finding[]): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    findings.push({
      level: 'fail',
      check: 'tls',
      message: `cannot read ${what} ${path}: ${(err as Error).message}`,
    });
    return undefined;
  }
}

export function checkTls(config: Config, now: number): Finding[] {
  const findings: Finding[] = [];
  const dev = pkiPaths(config.dataDir);
  const configured = Boolean(config.tls.cert || config.tls.key || config.tls.ca);
  if (!configured && !existsSync(dev.caCert)) {
    return [
      {
        level: 'warn',
        check: 'tls',
        message: `no TLS files configured: the server will generate a development CA in ${join(config.dataDir, 'pki')} (not for production)`,
      },
    ];
  }
  const certPath = configured ? config.tls.cert : dev.serverCert;
  const keyPath = configured ? config.tls.key : dev.serverKey;
  const caPath = configured ? config.tls.ca : dev.caCert;
  if (!certPath || !keyPath || !caPath) {
    return [{ level: 'fail', check: 'tls', message: 'tls.cert, tls.key and tls.ca must be set together' }];
  }
  const certPem = read(certPath, 'server certificate', findings);
  const keyPem = read(keyPath, 'server key', findings);
  const caPem = read(caPath, 'client CA bundle', findings);
  let server: X509Certificate | undefined;
  if (certPem) {
    try {
      server = new X509Certificate(certPem);
      findings.push(...certificateFindings('server certificate', server, now));
    } catch (err) {
      findings.push({
        level: 'fail',
        check: 'tls',
        message: `server certificate ${certPath} does not parse: ${(err as Error).message}`,
      });
    }
  }
  if (server && keyPem) {
    try {
      if (!server.checkPrivateKey(createPrivateKey(keyPem))) {
        findings.push({
          level: 'fail',
          check: 'tls',
          message: `server key ${keyPath} does not belong to the server certificate`,
        });
      }
    } catch (err) {
      findings.push({
        level: 'fail',
        check: 'tls',
        message: `server key ${keyPath} does not parse: ${(err as Error).message}`,
      });
    }
  }
  if (caPem) {
    const blocks = pemBlocks(caPem, 'CERTIFICATE');
    if (blocks.length === 0)
      findings.push({
        level: 'fail',
        check: 'tls',
        message: `client CA bundle ${caPath} holds no certificate`,
      });
    for (const block of blocks) {
      try {
        findings.push(...certificateFindings('client CA', new X509Certificate(block), now));
      } catch (err) {
        findings.push({
          level: 'fail',
          check: 'tls',
          message: `a certificate in ${caPath} does not parse: ${(err as Error).message}`,
        });
      }
    }
  }
  if (config.tls.crl) findings.push(...checkCrl(config.tls.crl, now));
  return findings;
}

function checkCrl(path: string, now: number): Finding[] {
  const findings: Finding[] = [];
  const text = read(path, 'CRL', findings);
  if (text === undefined) return findings;
  const blocks = pemBlocks(text, 'X509 CRL');
  if (blocks.length === 0)
    return [{ level: 'fail', check: 'tls', message: `CRL ${path} holds no X509 CRL block` }];
  for (const block of blocks) {
    try {
      const crl = new X509Crl(block);
      const next = crl.nextUpdate;
      // OpenSSL refuses every client certificate checked against an expired CRL.
      if (next && next.getTime() < now) {
        findings.push({
          level: 'fail',
          check: 'tls',
          message: `CRL ${path} expired ${when(next)}: every host certificate will be refused`,
        });
      } else {
        const level: Level = next && next.getTime() - now < 2 * DAY ? 'warn' : 'ok';
        findings.push({
          level,
          check: 'tls',
          message: `CRL of ${crl.issuer}: ${crl.entries.length} revoked, next update ${next ? when(next) : 'not set'}`,
        });
      }
    } catch (err) {
      findings.push({
        level: 'fail',
        check: 'tls',
        message: `CRL ${path} does not parse: ${(err as Error).message}`,
      });
    }
  }
  return findings;
}

export async function checkDatabase(config: Config, now: () => number): Promise<Finding[]> {
  const where = config.database.url ? 'postgresql' : `sqlite ${join(config.dataDir, 'keyholder.sqlite')}`;
  if (!config.database.url && !existsSync(join(config.dataDir, 'keyholder.sqlite'))) {
    return [{ level: 'ok', check: 'database', message: `${where}: no database yet, created on first start` }];
  }
  const store = openStore(config);
  try {
    const { appliedMigrations, clock } = await store.diagnose();
    const known = new Set(MIGRATIONS.map((m) => m.version));
    const unknown = appliedMigrations.filter((v) => !known.has(v));
    const pending = MIGRATIONS.filter((m) => !appliedMigrations.includes(m.version));
    const findings: Finding[] = [{ level: 'ok', check: 'database', message: `${where}: reachable` }];
    if (unknown.length) {
      findings.push({
        level: 'fail',
        check: 'database',
        message: `schema version ${unknown.join(', ')} is newer than this keyholder: upgrade keyholder`,
      });
    } else if (pending.length) {
      findings.push({
        level: 'warn',
        check: 'database',
        message: `${pending.length} migration(s) pending (applied on the next start or by \`keyholder migrate\`)`,
      });
    } else {
      findings.push({
        level: 'ok',
        check: 'database',
        message: `schema up to date (version ${Math.max(...appliedMigrations)})`,
      });
    }
    const skew = clock - now();
    findings.push({
      level: Math.abs(skew) > CLOCK_SKEW_WARNING_MS ? 'warn' : 'ok',
      check: 'clock',
      message: `database clock ${skew >= 0 ? 'ahead of' : 'behind'} this host by ${Math.abs(skew)} ms (leases and stale times follow the database)`,
    });
    return findings;
  } catch (err) {
    return [{ level: 'fail', check: 'database', message: `${where}: ${(err as Error).message}` }];
  } finally {
    await store.close().catch(() => undefined);
  }
}

export function checkSettings(config: Config): Finding[] {
  const findings: Finding[] = [];
  if (config.trustedProxies.some((p) => /^(0\.0\.0\.0\/0|::\/0)$/.test(p))) {
    findings.push({
      level: 'warn',
      check: 'config',
      message: 'trustedProxies includes every address: anyone can claim to be any host with SSL_CLIENT_S_DN',
    });
  }
  if (
    config.fleetlock.enabled &&
    config.fleetlock.allowedNetworks.length === 0 &&
    !config.fleetlock.requireClientCertificate
  ) {
    findings.push({
      level: 'warn',
      check: 'config',
      message:
        'FleetLock is open to every client (set fleetlock.allowedNetworks or requireClientCertificate)',
    });
  }
  return findings;
}

export async function runDoctor(config: Config, now: () => number = Date.now): Promise<Finding[]> {
  return [
    { level: 'ok', check: 'config', message: 'configuration is valid' },
    ...checkSettings(config),
    ...checkTls(config, now()),
    ...(await checkDatabase(config, now)),
  ];
}
