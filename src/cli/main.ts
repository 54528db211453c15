#!/usr/bin/env node
// The one `keyholder` executable; its commands are in src/cli/program.ts.
import { buildProgram } from './program.js';

buildProgram()
  .parseAsync(process.argv)
  .catch((err: unknown) => {
    console.error(`keyholder: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(2);
  });
