// Flat ESLint config. The rules that matter most here keep the layering visible:
// core never imports a Kafka client, another ksched package or global time.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '**/.turbo/**', 'coverage/**', 'bench/results/**', 'docs/api/**', 'release/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain Node scripts (no TypeScript step): Node's globals.
    files: ['scripts/**/*.mjs'],
    languageOptions: { ecmaVersion: 2023, sourceType: 'module', globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    languageOptions: { ecmaVersion: 2023, sourceType: 'module' },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      'import-x/no-cycle': 'error',
      'import-x/no-relative-packages': 'error',
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@ksched/*/src/*', '@ksched/*/internal/*'], message: 'Import packages by their public entry point.' }] },
      ],
    },
  },
  {
    // The Web UI reads and acts through core's admin API only: any adapter (or the FakeBroker) works under it.
    files: ['packages/web/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kafkajs', message: "the Web UI talks to Kafka only through core's ScheduleAdmin." },
            { name: 'node-rdkafka', message: "the Web UI talks to Kafka only through core's ScheduleAdmin." },
          ],
          patterns: [
            {
              group: ['@ksched/kafka-adapter-*', '@ksched/scheduler', '@ksched/testkit'],
              message: 'the Web UI depends on @ksched/core only.',
            },
            { group: ['@ksched/*/src/*', '@ksched/*/internal/*'], message: 'Import packages by their public entry point.' },
          ],
        },
      ],
    },
  },
  {
    files: ['packages/core/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'kafkajs', message: 'core talks to Kafka only through the Transport port.' },
            { name: 'node-rdkafka', message: 'core talks to Kafka only through the Transport port.' },
          ],
          patterns: [
            { group: ['@ksched/*'], message: 'core depends on zod only; adapters and the testkit depend on core, not the reverse.' },
          ],
        },
      ],
      'no-restricted-globals': [
        'error',
        { name: 'Date', message: 'Use the injected Clock (ports/clock.ts).' },
        { name: 'setTimeout', message: 'Use the injected Clock.' },
        { name: 'setInterval', message: 'Use the injected Clock.' },
        { name: 'performance', message: 'Use the injected Clock.' },
      ],
      'no-restricted-properties': [
        'error',
        { object: 'globalThis', property: 'Date', message: 'Use the injected Clock.' },
        { object: 'globalThis', property: 'setTimeout', message: 'Use the injected Clock.' },
        { object: 'globalThis', property: 'setInterval', message: 'Use the injected Clock.' },
      ],
    },
  },
  {
    // The single seam where core reads global time, lazily: systemClock.
    files: ['packages/core/src/ports/clock.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['**/test/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
);
