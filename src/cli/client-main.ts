#!/usr/bin/env node
// The single-file `keyholder` for hosts (`npm run build:client`, contrib/build-client.mjs): the
// client package's commands under the name `keyholder`, plus shell completion, without the
// server, its database drivers and web stack. The full executable is main.ts; the client
// package's own is client/src/main.ts (`keyholder-client`).
import { createClientProgram, runProgram } from 'keyholder-client';
import { registerCompletionCommand } from './completion.js';

// Set by the bundler from package.json; a source checkout run through tsx has no version baked in.
declare const KEYHOLDER_VERSION: string | undefined;

const program = createClientProgram(
  'keyholder',
  typeof KEYHOLDER_VERSION === 'string' ? KEYHOLDER_VERSION : 'development',
);
// last: it describes every command registered before it
registerCompletionCommand(program);
runProgram(program, process.argv);
