// `npm run test:node`: the server and the single-file client on Node 22 and 24 (test/node).
// Apart from npm test, because a cold run compiles better-sqlite3 for each runtime (minutes;
// cached afterwards in node_modules/.cache/keyholder-node).
import { defineConfig } from 'vitest/config';
import { workspaceSources } from './vitest.workspaces.js';

export default defineConfig({
  resolve: workspaceSources,
  test: {
    include: ['test/node/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 40 * 60_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
