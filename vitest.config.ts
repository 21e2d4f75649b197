import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDefaults, defineConfig } from 'vitest/config';

// A stack the developer runs with `converge dev up` in this checkout (.converge/: its identity, its
// payload key) is not the tests': a CLI a test starts finds no dev stack unless the test names one.
const env = { CONVERGE_DEV_DIR: join(tmpdir(), 'converge-tests-no-dev-stack') };

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          env,
          include: [
            'test/unit/**/*.test.ts',
            'test/property/**/*.test.ts',
            'test/region/**/*.test.ts',
            'test/activities/**/*.test.ts',
            'test/cli/**/*.test.ts',
            'test/contract/**/*.test.ts',
          ],
          // CLI tests against a live deployment need the integration project's Temporal server.
          exclude: [...configDefaults.exclude, 'test/cli/**/*.live.test.ts'],
          globalSetup: ['test/build-setup.ts'],
          testTimeout: 60_000,
        },
      },
      {
        test: {
          name: 'integration',
          env,
          include: [
            'test/integration/**/*.test.ts',
            'test/replay/**/*.test.ts',
            'test/chaos/**/*.test.ts',
            'test/cli/**/*.live.test.ts',
          ],
          globalSetup: ['test/integration/global-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
