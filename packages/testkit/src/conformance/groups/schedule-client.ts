/**
 * Conformance case of core's schedule client over the transport: schedules, cancels and
 * reschedules land where the client says, on the partition of their schedule.
 *
 * @module
 */
import { expect } from 'vitest';
import { createScheduleClient, Header, partitionForKey } from '@ksched/core';
import type { ConsumedRecord } from '@ksched/core';
import type { ConformanceContext } from '../context.js';
import { text } from '../support.js';

const sourceType = (record: ConsumedRecord): string | null => {
  const value = record.headers[Header.sourceType];
  return value === undefined ? null : typeof value === 'string' ? value : text(value);
};

/** core's schedule client producing through the transport. */
export function describeScheduleClient(ctx: ConformanceContext): void {
  const { topic, transport, consume, waitForEof, test } = ctx;

  test("core's schedule client: schedule, cancel and reschedule reach the schedule's partition (by key, inherited partition key, explicit partition)", async () => {
    const schedules = await topic('client', 5);
    const t = await transport();
    const client = createScheduleClient({ transport: t, schedulesTopic: schedules });
    const due = { delayMs: 3_600_000 };
    const byKey = await client.schedule({
      message: { topic: 'orders', key: 'order-42', payload: 'remind' },
      envelope: { key: 'order-42-reminder' },
      ...due,
    });
    expect(byKey).toMatchObject({ key: 'order-42-reminder', topic: schedules, partition: partitionForKey('order-42-reminder', 5) });
    expect((await client.cancel({ key: 'order-42-reminder' })).partition).toBe(byKey.partition);
    // A generated key: the envelope inherits the message's partition key.
    const sticky = await client.schedule({ message: { topic: 'orders', partitionKey: 'customer-9', payload: 'p' }, ...due });
    expect(sticky).toMatchObject({ partitionKey: 'customer-9', partition: partitionForKey('customer-9', 5) });
    expect((await client.cancel(sticky)).partition).toBe(sticky.partition);
    const pinned = await client.schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { key: 'pinned', partition: 3 }, ...due });
    expect(pinned.partition).toBe(3);
    expect((await client.cancel({ key: 'pinned', partition: 3 })).partition).toBe(3);
    const moved = await client.reschedule({
      key: sticky.key,
      partitionKey: 'customer-9',
      message: { topic: 'orders', payload: 'later' },
      epoch: 4_102_444_800,
    });
    expect(moved).toMatchObject({ key: sticky.key, partition: sticky.partition });
    await client.close(); // does not close a transport it was given
    expect(await t.partitionCount(schedules)).toBe(5);

    // On the wire: each key's records on its schedule's partition, in order.
    const { collector } = await consume(schedules);
    const recordsOf = async (partition: number, k: string): Promise<ConsumedRecord[]> => {
      const tp = { topic: schedules, partition };
      await waitForEof(collector, tp, (await t.fetchWatermarks(tp)).high);
      return collector.records(tp).filter((r) => text(r.key) === k);
    };
    const reminder = await recordsOf(byKey.partition, 'order-42-reminder');
    expect(reminder.map(sourceType)).toEqual(['schedule', 'cancel']);
    expect(reminder[1]!.value).toBeNull();
    const stickyRecords = await recordsOf(sticky.partition, sticky.key);
    expect(stickyRecords.map(sourceType)).toEqual(['schedule', 'cancel', 'schedule']);
    expect(text(stickyRecords[2]!.value)).toBe('later');
  });
}
