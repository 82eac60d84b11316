/**
 * Conformance cases about refusals: what does not exist, what is not owned, and what a transport
 * refuses once used up (a second subscription, use after close).
 *
 * @module
 */
import { expect } from 'vitest';
import { SchedulerError, TransportError } from '@ksched/core';
import type { ConformanceContext } from '../context.js';

/** The error a promise rejects with, `undefined` when it resolves. */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** Missing partitions and topics, unowned partitions, a second subscription, use after close. */
export function describeMisuse(ctx: ConformanceContext): void {
  const { unique, waitUntil, topic, transport, consume, test } = ctx;

  test('a produce to a partition that does not exist or to an invalid topic name, and the watermarks of a missing partition, reject with TransportErrors', async () => {
    const t1 = await topic('missing-partition', 1);
    const t = await transport();
    const badPartition = await rejection(t.produce([{ topic: t1, partition: 7, key: 'k', value: 'v' }]));
    expect(TransportError.isInstance(badPartition), `produce to partition 7: ${String(badPartition)}`).toBe(true);
    const badTopic = await rejection(t.produce([{ topic: 'not a valid topic name!', key: 'k', value: 'v' }]));
    expect(TransportError.isInstance(badTopic), `produce to an invalid topic: ${String(badTopic)}`).toBe(true);
    const badWatermarks = await rejection(t.fetchWatermarks({ topic: t1, partition: 9 }));
    expect(TransportError.isInstance(badWatermarks), `fetchWatermarks of partition 9: ${String(badWatermarks)}`).toBe(true);
    // Nothing of the failed produce calls was written.
    expect((await t.fetchWatermarks({ topic: t1, partition: 0 })).high).toBe(0);
  });

  test('seekToBeginning of a partition this member does not own rejects with a TransportError (before subscribing and while a member)', async () => {
    const t1 = await topic('seek-begin-unowned', 1);
    const t = await transport();
    const before = await rejection(t.seekToBeginning({ topic: t1, partition: 0 }));
    expect(TransportError.isInstance(before), `before subscribing: ${String(before)}`).toBe(true);
    const { transport: member } = await consume(t1);
    const other = await rejection(member.seekToBeginning({ topic: t1, partition: 5 }));
    expect(TransportError.isInstance(other), `a partition not assigned: ${String(other)}`).toBe(true);
  });

  test('a second subscribe is refused; after close, produce and commitOffsets are refused and produceNoWait does not throw', async () => {
    const t1 = await topic('lifecycle', 1);
    const { transport: t } = await consume(t1);
    await t.commitOffsets([{ topic: t1, partition: 0, offset: 0 }]);
    const again = await rejection(
      t.subscribe({ groupId: unique('group'), topics: [t1], listener: { onAssigned() {}, onRevoked() {}, onBatch() {} } }),
    );
    expect(SchedulerError.isInstance(again), `a second subscribe: ${String(again)}`).toBe(true);
    await t.close();
    const produced = await rejection(t.produce([{ topic: t1, key: 'k', value: 'v' }]));
    expect(SchedulerError.isInstance(produced), `produce after close: ${String(produced)}`).toBe(true);
    const committed = await rejection(t.commitOffsets([{ topic: t1, partition: 0, offset: 1 }]));
    expect(SchedulerError.isInstance(committed), `commitOffsets after close: ${String(committed)}`).toBe(true);
    const failures: unknown[] = [];
    expect(() => t.produceNoWait([{ topic: t1, key: 'k', value: 'v' }], (e) => failures.push(e))).not.toThrow();
    expect(() => t.produceNoWait([{ topic: t1, key: 'k', value: 'v' }])).not.toThrow();
    await waitUntil(() => failures.length > 0, 'onError of a produceNoWait after close');
  });

  test('overlapping reads of a reader are refused; closing the transport closes its readers (a read then rejects with a TransportError)', async () => {
    const t1 = await topic('reader-overlap', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const reader = await t.openReader(tp, { fromOffset: 0 });
    expect(await reader.read()).toMatchObject({ records: [], position: 0 });
    // At the end of an empty partition a read may wait for records: a second one meanwhile is refused.
    const pending = rejection(reader.read());
    const overlapping = await rejection(reader.read());
    expect(SchedulerError.isInstance(overlapping), `an overlapping read: ${String(overlapping)}`).toBe(true);
    await pending;
    const second = await t.openReader(tp, { fromOffset: 0 });
    await t.close();
    const afterClose = await rejection(second.read());
    expect(TransportError.isInstance(afterClose), `a read after the transport closed: ${String(afterClose)}`).toBe(true);
  });
}
