import { describe, expect, it } from 'vitest';
import { ContractViolationError, createScheduleClient, headerText, partitionForKey } from '@ksched/core';
import { FakeBroker, FakeClock } from '@ksched/testkit';

const start = 1_767_268_800_000;

async function setup() {
  const clock = new FakeClock({ now: start });
  const broker = new FakeBroker({ clock });
  broker.createTopic('scheduled_messages', { partitions: 5, compacted: true });
  const transport = broker.createTransport({ clock });
  await transport.connect();
  const client = createScheduleClient({
    transport,
    schedulesTopic: 'scheduled_messages',
    clock,
    uuid: () => '00000000-0000-4000-8000-000000000000',
  });
  return { clock, broker, transport, client };
}

describe('createScheduleClient (core, over any Transport)', () => {
  it('partitions by the message partition key, and cancel/reschedule by ref reach the same partition', async () => {
    const { broker, client } = await setup();
    const ref = await client.schedule({ message: { topic: 'orders', partitionKey: 'customer-9', payload: 'x' }, delayMs: 60_000 });
    expect(ref.key).toBe('orders-00000000-0000-4000-8000-000000000000');
    expect(ref.partitionKey).toBe('customer-9');
    expect(ref.partition).toBe(partitionForKey('customer-9', 5));

    const cancelled = await client.cancel(ref);
    expect(cancelled.partition).toBe(ref.partition);
    const moved = await client.reschedule({ ...ref, message: { topic: 'orders', payload: 'y' }, delayMs: 120_000 });
    expect(moved.partition).toBe(ref.partition);
    expect(moved.key).toBe(ref.key);

    const types = broker.records('scheduled_messages', ref.partition).map((r) => headerText(r.headers, 'schedule_source_type'));
    expect(types).toEqual(['schedule', 'cancel', 'schedule']);
  });

  it('a schedule with only an envelope key is partitioned by that key', async () => {
    const { client } = await setup();
    const ref = await client.schedule({
      message: { topic: 'orders', payload: 'x' },
      envelope: { key: 'order-42-reminder' },
      delayMs: 1000,
    });
    expect(ref.partition).toBe(partitionForKey('order-42-reminder', 5));
    expect((await client.cancel({ key: 'order-42-reminder' })).partition).toBe(ref.partition);
  });

  it('rejects a due time in the past with the builder error, producing nothing', async () => {
    const { broker, client, clock } = await setup();
    await expect(
      client.schedule({ message: { topic: 'orders', payload: 'x' }, epoch: Math.floor(clock.now() / 1000) - 60 }),
    ).rejects.toSatisfy((e: unknown) => ContractViolationError.isInstance(e));
    expect(broker.records('scheduled_messages')).toHaveLength(0);
  });

  it('closes the transport only when it owns it', async () => {
    const { transport, client } = await setup();
    await client.close();
    await expect(transport.fetchWatermarks({ topic: 'scheduled_messages', partition: 0 })).resolves.toEqual({ low: 0, high: 0 });
    const owning = createScheduleClient({ transport, schedulesTopic: 'scheduled_messages', ownsTransport: true });
    await owning.close();
    await expect(transport.fetchWatermarks({ topic: 'scheduled_messages', partition: 0 })).rejects.toThrow();
  });
});
