#!/usr/bin/env node
// `keyholder-client`, the executable of the keyholder-client package: the lock, update and
// operator commands without the server, its database drivers and web stack. build-bin.mjs bundles
// it into one file, so the package installs with no dependencies (docs/client.md).
import { createClientProgram, runProgram } from './index.js';

// Set by the bundler from package.json; a source checkout run through tsx has no version baked in.
declare const KEYHOLDER_VERSION: string | undefined;

runProgram(
  createClientProgram(
    'keyholder-client',
    typeof KEYHOLDER_VERSION === 'string' ? KEYHOLDER_VERSION : 'development',
  ),
  process.argv,
);
