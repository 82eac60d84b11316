#!/usr/bin/env node
/* global process, URL */
// The `ksched` command. From a source checkout it runs src/cli.ts directly (no build step): the
// `@ksched/source` export condition resolves the workspace packages to their src/*.ts and tsx
// compiles TypeScript on the fly. Without sources, or with KSCHED_USE_DIST=1, it runs the built
// dist/cli.js (`pnpm build` first).
import { existsSync } from 'node:fs';
import { register } from 'node:module';

const source = new URL('../src/cli.ts', import.meta.url);
if (existsSync(source) && process.env['KSCHED_USE_DIST'] !== '1') {
  register('./source-condition.js', import.meta.url);
  const tsx = await import('tsx/esm/api');
  tsx.register();
  await import(source.href);
} else {
  await import(new URL('../dist/cli.js', import.meta.url).href);
}
