import { defineConfig } from 'vitest/config';

// Two projects: `unit` needs nothing but Node; `integration` needs the real local broker
// that scripts/kafka/kafka.sh starts (KSCHED_BROKERS points at it).
export default defineConfig({
  resolve: { conditions: ['@ksched/source'] },
  ssr: { resolve: { conditions: ['@ksched/source'] } },
  test: {
    reporters: ['default', './scripts/vitest-summary-reporter.ts'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['packages/*/test/**/*.test.ts', 'apps/*/test/**/*.test.ts', 'tests/*/test/**/*.test.ts'],
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
          ],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
