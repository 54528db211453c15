// `npm run test:image`: the container image built and run (test/image). Apart from npm test,
// because a cold run makes Debian root file systems first (docs/container.md).
import { defineConfig } from 'vitest/config';
import { workspaceSources } from './vitest.workspaces.js';

export default defineConfig({
  resolve: workspaceSources,
  test: {
    include: ['test/image/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 40 * 60_000,
    pool: 'forks',
    maxWorkers: 1,
  },
});
