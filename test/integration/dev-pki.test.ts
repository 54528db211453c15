// The development PKI's files as an operator uses them: each PEM ends with a newline, so the
// certificate and key concatenated (`cat host.crt host.key > haproxy.pem`) load in HAProxy.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { ensureDevPki, issueHostCertificate, pkiPaths } from '../../src/pki/dev.js';

describe('development PKI files', () => {
  it('end with a newline, so cat cert key > haproxy.pem gives a file HAProxy loads', async () => {
    const dataDir = mkdtempSync(join(inject('tmpRoot'), 'dev-pki-'));
    expect(await ensureDevPki(dataDir)).toBe(true);
    const host = await issueHostCertificate(dataDir, 'web01.example.com');
    const p = pkiPaths(dataDir);
    for (const file of [p.caCert, p.caKey, p.serverCert, p.serverKey, host.cert, host.key]) {
      expect(readFileSync(file, 'utf8').endsWith('-----\n'), file).toBe(true);
    }
    const pem = join(dataDir, 'haproxy.pem');
    writeFileSync(pem, readFileSync(p.serverCert, 'utf8') + readFileSync(p.serverKey, 'utf8'));
    const cfg = join(dataDir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      `defaults\n  mode http\n  timeout client 1s\n  timeout server 1s\n  timeout connect 1s\n` +
        `frontend f\n  bind 127.0.0.1:1 ssl crt ${pem} ca-file ${p.caCert} verify optional\n`,
    );
    const check = spawnSync('haproxy', ['-c', '-f', cfg], { encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});
