// The start-up banner of `keyholder server` points at `keyholder ca issue` only when the
// development CA is the one in use: hosts of an external CA get their certificates elsewhere.
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startServerProcess, serverEnv } from '../support/process.js';
import { testPki } from '../support/pki.js';

describe('the start-up banner', () => {
  it('suggests ca issue with the development CA, and not with an external CA', async () => {
    const dev = await startServerProcess({
      KEYHOLDER_DATA_DIR: mkdtempSync(join(inject('tmpRoot'), 'banner-dev-')),
      KEYHOLDER_ADMIN_PASSWORD: 'banner-admin-password',
    });
    try {
      expect(dev.output()).toMatch(/development CA, generated now/);
      expect(dev.output()).toMatch(/keyholder ca issue HOSTNAME/);
    } finally {
      await dev.stop();
    }
    const pki = await testPki();
    const dataDir = mkdtempSync(join(inject('tmpRoot'), 'banner-ext-'));
    const external = await startServerProcess(serverEnv({ dataDir }, pki, 'banner-admin-password'));
    try {
      expect(external.output()).toContain(`client CA: ${pki.caPath}`);
      expect(external.output()).not.toMatch(/ca issue/);
    } finally {
      await external.stop();
    }
  });
});
