// reminder.test.ts: run with `vitest run`
import { expect, test } from 'vitest';
import { createTestEnvironment } from '@ksched/testkit';

test('the reminder goes 24 h later, to the millisecond, and not before', async () => {
  await using env = await createTestEnvironment({ startAt: new Date('2026-03-01T09:00:00Z') });
  await env.schedule({
    message: { topic: 'order-reminders', key: '42', payload: '{"orderId":"42"}' },
    envelope: { key: 'reminder-42' },
    delayMs: 24 * 3600_000,
  });

  await env.advance(24 * 3600_000 - 1);
  expect(env.dispatched('order-reminders')).toHaveLength(0); // never early

  await env.advance(1);
  const [reminder] = env.dispatched('order-reminders');
  expect(reminder?.key).toBe('42');
  expect(reminder?.timestamp).toBe(Date.parse('2026-03-02T09:00:00Z'));
});

test('a cancelled reminder is never sent', async () => {
  await using env = await createTestEnvironment();
  const s = await env.schedule({
    message: { topic: 'order-reminders', key: '43', payload: '{}' },
    envelope: { key: 'reminder-43' },
    delayMs: 60_000,
  });
  await env.cancel('reminder-43', { partition: s.partition });
  await env.advance(120_000);
  expect(env.dispatched('order-reminders')).toEqual([]);
});
