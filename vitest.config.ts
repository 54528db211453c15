import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  // The workspaces from their sources, as the typecheck sees them (the "keyholder-source"
  // condition): a test of a client or protocol file needs no build first.
  resolve: {
    alias: {
      'keyholder-protocol': fileURLToPath(new URL('protocol/src/index.ts', import.meta.url)),
      'keyholder-client': fileURLToPath(new URL('client/src/index.ts', import.meta.url)),
    },
  },
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
