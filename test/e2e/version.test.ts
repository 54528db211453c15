// `keyholder --version` says the version package.json states (src/version.ts), as built.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI } from '../support/process.js';

const PACKAGE = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('keyholder --version', () => {
  it("prints package.json's version and exits 0", () => {
    for (const flag of ['--version', '-V']) {
      expect(execFileSync(process.execPath, [CLI, flag], { encoding: 'utf8' }).trim()).toBe(PACKAGE.version);
    }
  });
});
