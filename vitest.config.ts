import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Core's engine tests (packages/core/test/engine) drive the engine with the testkit, which core
// cannot depend on (the testkit depends on core): for core's tests only, `@ksched/testkit` and
// `@ksched/testkit/vitest` resolve to the testkit's source (core's tsconfig.json maps the same
// paths for tsc).
const testkitSources: Record<string, string> = {
  '@ksched/testkit': fileURLToPath(new URL('./packages/testkit/src/index.ts', import.meta.url)),
  '@ksched/testkit/vitest': fileURLToPath(new URL('./packages/testkit/src/vitest.ts', import.meta.url)),
};
const coreTests = fileURLToPath(new URL('./packages/core/test/', import.meta.url));
const testkitForCoreTests = {
  name: 'ksched:testkit-for-core-tests',
  enforce: 'pre' as const,
  resolveId: (source: string, importer: string | undefined): string | null =>
    importer?.startsWith(coreTests) === true ? (testkitSources[source] ?? null) : null,
};

// Two projects: `unit` needs nothing but Node; `integration` needs the real local broker
// that scripts/kafka/kafka.sh starts (KSCHED_BROKERS points at it).
export default defineConfig({
  plugins: [testkitForCoreTests],
  resolve: { conditions: ['@ksched/source'] },
  ssr: { resolve: { conditions: ['@ksched/source'] } },
  test: {
    reporters: ['default', './scripts/vitest-summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tests/*/test/**/*.test.ts', 'examples/test/**/*.test.ts'],
          exclude: ['**/*.integration.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          globalSetup: ['scripts/kafka/vitest-global-setup.ts'],
          include: [
            'packages/*/test/**/*.integration.test.ts',
            'apps/*/test/**/*.integration.test.ts',
            'tests/*/test/**/*.integration.test.ts',
            'examples/test/**/*.integration.test.ts',
          ],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
