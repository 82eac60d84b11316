// A plain Node program (no test runner) on the built `@ksched/testkit`: schedules, moves fake time
// and prints what was dispatched. Run by runners.test.ts with vitest made unresolvable.
import process from 'node:process';
import { createTestEnvironment } from '@ksched/testkit';

const env = await createTestEnvironment({ startAt: new Date('2026-03-01T09:00:00Z') });
try {
  await env.schedule({ message: { topic: 'emails', key: 'welcome', payload: 'hi' }, envelope: { key: 'welcome-1' }, delayMs: 60_000 });
  await env.advance(59_999);
  const early = env.dispatched('emails').length;
  await env.advance(1);
  const dispatched = env.dispatched('emails').map((m) => ({ key: m.key, value: m.value, timestamp: m.timestamp }));
  // The vitest entry, by contrast, needs vitest: under the same hooks its import must fail.
  const vitestEntry = await import('@ksched/testkit/vitest').then(
    () => 'loaded',
    (error) => String(error.message),
  );
  process.stdout.write(`${JSON.stringify({ early, dispatched, vitestEntry })}\n`);
} finally {
  await env.close();
}
