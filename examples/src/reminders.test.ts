/**
 * Example 3: testing your own code that schedules, with the testkit, on fake time and a fake broker
 * (no Kafka, no waiting). It runs with Node's own test runner:
 *
 *   pnpm --filter @ksched/examples test:downstream     # node --import tsx --test src/reminders.test.ts
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createScheduleClient } from '@ksched/core';
import { createTestEnvironment } from '@ksched/testkit';
import { orderReminders } from './reminders.js';

const MINUTE = 60_000;

test('an unpaid order gets its reminder 15 minutes later; a paid one gets none', async () => {
  await using env = await createTestEnvironment({ partitions: 3, targetTopics: ['order_reminders'] }); // a scheduler on a fake broker
  const client = createScheduleClient({ transport: env.producer, schedulesTopic: env.topic, clock: env.clock });
  const reminders = orderReminders(client, { remindersTopic: 'order_reminders', delayMs: 15 * MINUTE });

  await reminders.placed('order-1', 'customer-7');
  await reminders.placed('order-2', 'customer-9');
  await env.advance(5 * MINUTE);
  await reminders.paid('order-2');

  await env.advance(9 * MINUTE);
  assert.equal(env.dispatched('order_reminders').length, 0, 'nothing before 15 minutes');

  await env.advance(2 * MINUTE);
  const sent = env.dispatched('order_reminders');
  assert.deepEqual(
    sent.map((m) => m.key),
    ['order-1'],
  );
  assert.deepEqual(JSON.parse(sent[0]!.value!), { kind: 'payment-reminder', orderId: 'order-1', customerId: 'customer-7' });
});
