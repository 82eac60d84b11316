// The downstream test from README.md, kept compiling and passing: if the README's API drifts,
// this fails.
import { describe, expect, it } from 'vitest';
import { schedule, type Clock, type Transport } from '@ksched/core';
import { createTestEnvironment } from '@ksched/testkit';

// Stand-in for a user's own code: builds an envelope on the clock it is given (systemClock in
// production) and sends it through any Transport.
async function scheduleReminder(deps: { transport: Transport; clock: Clock }, input: { orderId: string; delayMs: number }): Promise<void> {
  const record = schedule(
    {
      message: { topic: 'order-reminders', key: input.orderId, payload: JSON.stringify({ orderId: input.orderId }) },
      envelope: { topic: 'scheduled_messages', key: `reminder-${input.orderId}` },
      delayMs: input.delayMs,
    },
    { clock: deps.clock },
  );
  await deps.transport.produce([record]);
}

describe('README example: order reminders', () => {
  it('sends the reminder 24 h after the order, and not before', async () => {
    await using env = await createTestEnvironment({ startAt: new Date('2026-03-01T09:00:00Z'), targetTopics: ['order-reminders'] });
    await scheduleReminder({ transport: env.producer, clock: env.clock }, { orderId: '42', delayMs: 24 * 3600_000 });

    await env.advance(24 * 3600_000 - 1);
    expect(env.dispatched('order-reminders')).toHaveLength(0);

    await env.advance(1);
    const [reminder] = env.dispatched('order-reminders');
    expect(reminder?.key).toBe('42');
    expect(reminder?.timestamp).toBe(reminder?.dueMs);
  });

  it('a cancelled reminder is never sent', async () => {
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
});
