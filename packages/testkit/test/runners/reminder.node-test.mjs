// reminder.test.mjs: run with `node --test` (Node 20+, no build step, no other test runner)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestEnvironment } from '@ksched/testkit';

test('the reminder goes 24 h later, to the millisecond, and not before', async () => {
  const env = await createTestEnvironment({ startAt: new Date('2026-03-01T09:00:00Z') });
  try {
    await env.schedule({
      message: { topic: 'order-reminders', key: '42', payload: '{"orderId":"42"}' },
      envelope: { key: 'reminder-42' },
      delayMs: 24 * 3600_000,
    });

    await env.advance(24 * 3600_000 - 1);
    assert.equal(env.dispatched('order-reminders').length, 0); // never early

    await env.advance(1);
    const [reminder] = env.dispatched('order-reminders');
    assert.equal(reminder.key, '42');
    assert.equal(reminder.timestamp, Date.parse('2026-03-02T09:00:00Z'));
  } finally {
    await env.close(); // or `await using env = …` where your Node or compiler has it
  }
});

test('a cancelled reminder is never sent', async () => {
  const env = await createTestEnvironment();
  try {
    const s = await env.schedule({
      message: { topic: 'order-reminders', key: '43', payload: '{}' },
      envelope: { key: 'reminder-43' },
      delayMs: 60_000,
    });
    await env.cancel('reminder-43', { partition: s.partition });
    await env.advance(120_000);
    assert.deepEqual(env.dispatched('order-reminders'), []);
  } finally {
    await env.close();
  }
});
