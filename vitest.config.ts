import { configDefaults, defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import { workspaceSources } from './vitest.workspaces.js';

/**
 * The container image test first: its build (mostly waiting on buildah and mmdebstrap, niced)
 * then overlaps the other files on the second worker instead of trailing after them.
 */
class ImageFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const image = (file: TestSpecification) => file.moduleId.includes('/test/image/');
    return [...sorted.filter(image), ...sorted.filter((file) => !image(file))];
  }
}

export default defineConfig({
  resolve: workspaceSources,
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, 'test/node/**'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration tests start real servers and databases; two cores do not profit from many forks.
    pool: 'forks',
    maxWorkers: 2,
    sequence: { sequencer: ImageFirst },
  },
});
