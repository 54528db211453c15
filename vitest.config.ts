import { configDefaults, defineConfig } from 'vitest/config';
import { workspaceSources } from './vitest.workspaces.js';

export default defineConfig({
  resolve: workspaceSources,
  test: {
    include: ['test/**/*.test.ts'],
    // the container image build: `npm run test:image` (vitest.image.config.ts)
    exclude: [...configDefaults.exclude, 'test/image/**', 'test/node/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers and databases; two cores do not profit from many forks.
    pool: 'forks',
    maxWorkers: 2,
  },
});
