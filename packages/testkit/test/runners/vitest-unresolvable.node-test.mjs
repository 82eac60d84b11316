// Run by `node --test` beside reminder.node-test.mjs (see runners.test.ts): proves that the test
// files' processes run with vitest unresolvable, so the reminder tests passing did not load it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

test('vitest cannot be imported in this process', async () => {
  await assert.rejects(import('vitest'), /vitest is not installed here/);
});
