// Where the client takes its settings from: flags over the config file over Puppet's agent
// files (found through puppet.conf, in the AIO and the distribution layouts), with defaults.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileConfigSchema, resolveConnection, resolveUpdateSettings } from '../../client/src/config.js';
import { findPuppetFiles, parsePuppetConf, type PuppetLookup } from '../../client/src/puppet.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'keyholder-config-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** A Puppet layout under the temp dir: puppet.conf (optional) and an ssl dir with the given files. */
async function puppetLayout(name: string, certname: string, opts: { conf?: string; ca?: boolean } = {}) {
  const base = path.join(dir, name);
  const sslDir = path.join(base, 'ssl');
  await mkdir(path.join(sslDir, 'certs'), { recursive: true });
  await mkdir(path.join(sslDir, 'private_keys'), { recursive: true });
  await writeFile(path.join(sslDir, 'certs', `${certname}.pem`), 'cert');
  await writeFile(path.join(sslDir, 'private_keys', `${certname}.pem`), 'key');
  if (opts.ca !== false) await writeFile(path.join(sslDir, 'certs', 'ca.pem'), 'ca');
  const conf = path.join(base, 'puppet.conf');
  if (opts.conf !== undefined) await writeFile(conf, opts.conf);
  return { conf, sslDir };
}

function lookup(locations: PuppetLookup['locations'], certname?: string): PuppetLookup {
  return {
    locations,
    certname,
    fqdn: () => 'web01.example.com',
    readText: (f) => (existsSync(f) ? readFileSync(f, 'utf8') : undefined),
    exists: existsSync,
  };
}

describe('Puppet agent files', () => {
  it('parses certname and ssldir from [main] and [agent], ignoring what needs Puppet to expand', () => {
    const conf = [
      '# comment',
      '[main]',
      'certname = main.example.com',
      'ssldir = $vardir/ssl',
      '[agent]',
      '  certname=agent.example.com  ',
      '[server]',
      'certname = server.example.com',
    ].join('\n');
    expect(parsePuppetConf(conf)).toEqual({ certname: 'agent.example.com' });
    expect(parsePuppetConf('[main]\nssldir = /srv/ssl\n')).toEqual({ ssldir: '/srv/ssl' });
  });

  it('uses the FQDN by default and the first layout holding this host’s certificate', async () => {
    const aio = { conf: path.join(dir, 'none', 'puppet.conf'), sslDir: path.join(dir, 'none', 'ssl') };
    const distro = await puppetLayout('distro', 'web01.example.com');
    expect(findPuppetFiles(lookup([aio, distro]))).toEqual({
      certname: 'web01.example.com',
      sslDir: distro.sslDir,
      cert: path.join(distro.sslDir, 'certs', 'web01.example.com.pem'),
      key: path.join(distro.sslDir, 'private_keys', 'web01.example.com.pem'),
      cacert: path.join(distro.sslDir, 'certs', 'ca.pem'),
    });
    expect(findPuppetFiles(lookup([aio]))).toBeUndefined();
  });

  it('follows puppet.conf’s certname and ssldir; the client config’s certname wins', async () => {
    const custom = await puppetLayout('custom-ssl', 'node-17.prod', { ca: false });
    const layout = await puppetLayout('conf', 'unused', {
      conf: `[agent]\ncertname = node-17.prod\nssldir = ${custom.sslDir}\n`,
    });
    expect(findPuppetFiles(lookup([layout]))).toMatchObject({
      certname: 'node-17.prod',
      sslDir: custom.sslDir,
    });
    expect(findPuppetFiles(lookup([layout]))?.cacert).toBeUndefined();
    expect(findPuppetFiles(lookup([layout], 'unknown.example.com'))).toBeUndefined();
  });
});

describe('resolveConnection', () => {
  it('takes flags over the file over Puppet, each setting on its own', async () => {
    const puppet = await puppetLayout('precedence', 'web01.example.com');
    const p = lookup([puppet]);
    const conn = resolveConnection(
      { url: 'https://flag:8443' },
      { url: 'https://file', cert: '/file.crt', requestTimeout: 5 },
      p,
    );
    expect(conn).toEqual({
      url: 'https://flag:8443',
      cert: '/file.crt',
      key: path.join(puppet.sslDir, 'private_keys', 'web01.example.com.pem'),
      cacert: path.join(puppet.sslDir, 'certs', 'ca.pem'),
      requestTimeoutMs: 5000,
    });
  });

  it('says where it looked when there is no certificate', () => {
    const nowhere = lookup([{ conf: '/nonexistent/puppet.conf', sslDir: '/nonexistent/ssl' }]);
    expect(() => resolveConnection({ url: 'https://k' }, {}, nowhere)).toThrow(
      "no client certificate (--cert): pass it, set it in /etc/keyholder/client.yaml, or install Puppet's agent certificate for web01.example.com under /nonexistent/ssl",
    );
    expect(() => resolveConnection({ url: 'not a url' }, {}, nowhere)).toThrow('is not a URL');
  });
});

describe('resolveUpdateSettings', () => {
  it('has defaults a fleet can live with, flags winning over the file', () => {
    expect(resolveUpdateSettings({}, { update: { lock: 'web' } })).toEqual({
      lock: 'web',
      hooksDir: '/etc/keyholder',
      stateDir: '/var/lib/keyholder',
      hookTimeoutMs: 3_600_000,
      rebootCommand: ['systemctl', 'reboot'],
      acquire: { timeoutMs: 14_400_000, waitSeconds: 300, minDelayMs: 15_000, maxDelayMs: 300_000 },
      releaseTimeoutMs: 900_000,
      bootIdFile: '/proc/sys/kernel/random/boot_id',
    });
    const s = resolveUpdateSettings(
      { lock: 'db', acquireTimeout: 60, wait: 0 },
      { update: { lock: 'web', rebootCommand: 'shutdown -r +1', acquire: { timeout: 5, wait: 30 } } },
    );
    expect(s).toMatchObject({
      lock: 'db',
      rebootCommand: ['/bin/sh', '-c', 'shutdown -r +1'],
      acquire: { timeoutMs: 60_000, waitSeconds: 0 },
    });
    expect(() => resolveUpdateSettings({}, {})).toThrow('no lock name: pass --lock or set "update.lock"');
  });

  it('caps --wait and update.acquire.wait alike at 300, refusing neither', () => {
    expect(resolveUpdateSettings({ wait: 900 }, { update: { lock: 'l' } }).acquire.waitSeconds).toBe(300);
    const file = fileConfigSchema.parse({ update: { lock: 'l', acquire: { wait: 900 } } });
    expect(resolveUpdateSettings({}, file).acquire.waitSeconds).toBe(300);
    expect(resolveUpdateSettings({ wait: 20 }, file).acquire.waitSeconds).toBe(20);
  });
});
