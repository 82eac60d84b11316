import { afterAll, describe, expect, it } from 'vitest';
import { ContractViolationError, Header, partitionForKey, statesTopic } from '@ksched/core';
import { createScheduleClient, createTopicAdmin, ensureSchedulesTopics } from '../src/index.js';
import { brokers, text, unique, useResources } from './helpers.js';

const r = useResources();
const topics: string[] = [];

afterAll(async () => {
  const admin = await createTopicAdmin({ brokers });
  await admin.deleteTopics(topics).catch(() => {});
  await admin.close();
});

async function schedulesTopic(): Promise<string> {
  const topic = unique('client');
  topics.push(topic, statesTopic(topic));
  await ensureSchedulesTopics({ brokers, topics: [topic], partitions: 5 });
  return topic;
}

describe('schedule client', () => {
  it('schedule and cancel land on the same partition (envelope key, inherited partition key, explicit partition)', async () => {
    const topic = await schedulesTopic();
    const t = await r.transport();
    const client = createScheduleClient({ transport: t, schedulesTopic: topic });
    const due = { delayMs: 3_600_000 };

    // 1. An envelope key: partitioned by murmur2 of the key; cancel by key alone reaches it.
    const byKey = await client.schedule({
      message: { topic: 'orders', key: 'order-42', payload: 'remind' },
      envelope: { key: 'order-42-reminder' },
      ...due,
    });
    expect(byKey).toMatchObject({ key: 'order-42-reminder', topic, partition: partitionForKey('order-42-reminder', 5) });
    const cancelByKey = await client.cancel({ key: 'order-42-reminder' });
    expect(cancelByKey.partition).toBe(byKey.partition);

    // 2. A generated key; the envelope inherits the message's partition key (stickiness).
    const sticky = await client.schedule({ message: { topic: 'orders', partitionKey: 'customer-9', payload: 'p' }, ...due });
    expect(sticky.key).toMatch(/^orders-[0-9a-f-]{36}$/);
    expect(sticky).toMatchObject({ partitionKey: 'customer-9', partition: partitionForKey('customer-9', 5) });
    expect((await client.cancel(sticky)).partition).toBe(sticky.partition);
    expect((await client.cancel({ key: sticky.key, partitionKey: 'customer-9' })).partition).toBe(sticky.partition);

    // 3. An explicit envelope partition.
    const explicit = await client.schedule({
      message: { topic: 'orders', payload: 'x' },
      envelope: { key: 'pinned', partition: 3 },
      ...due,
    });
    expect(explicit.partition).toBe(3);
    expect((await client.cancel({ key: 'pinned', partition: 3 })).partition).toBe(3);

    // 4. Reschedule: same key, same partition, new due time and payload.
    const moved = await client.reschedule({
      key: sticky.key,
      partitionKey: 'customer-9',
      message: { topic: 'orders', payload: 'later' },
      epoch: 4_102_444_800,
    });
    expect(moved).toMatchObject({ key: sticky.key, partition: sticky.partition });

    // The records on the wire: a schedule, then the cancel with the same key on the same partition.
    const { recorder } = await r.consume([topic]);
    const p = byKey.partition;
    const wm = await t.fetchWatermarks({ topic, partition: p });
    await recorder.waitForEof({ topic, partition: p }, wm.high);
    const onP = recorder
      .of({ topic, partition: p })
      .flatMap((b) => b.records)
      .filter((x) => text(x.key) === 'order-42-reminder');
    expect(onP.map((x) => text(x.headers[Header.sourceType] as Uint8Array))).toEqual(['schedule', 'cancel']);
    expect(onP[1]!.value).toBeNull();
    expect(text(onP[0]!.headers[Header.targetTopic] as Uint8Array)).toBe('orders');
    const sp = sticky.partition;
    const wmSticky = await t.fetchWatermarks({ topic, partition: sp });
    await recorder.waitForEof({ topic, partition: sp }, wmSticky.high);
    const stickyRecords = recorder
      .of({ topic, partition: sp })
      .flatMap((b) => b.records)
      .filter((x) => text(x.key) === sticky.key);
    expect(stickyRecords.map((x) => text(x.headers[Header.sourceType] as Uint8Array))).toEqual([
      'schedule',
      'cancel',
      'cancel',
      'schedule',
    ]);
    expect(text(stickyRecords[3]!.headers[Header.targetEpoch] as Uint8Array)).toBe('4102444800');
    expect(text(stickyRecords[3]!.value)).toBe('later');
    await client.close(); // does not close a transport it was given
    expect(await t.partitionCount(topic)).toBe(5);
  });

  it('creates and closes its own transport from kafkajs options; the builders validate the envelope topic', async () => {
    const topic = await schedulesTopic();
    const client = createScheduleClient({ brokers, clientId: 'ksched-client-test', schedulesTopic: topic });
    try {
      const ref = await client.schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { key: 'k-1' }, delayMs: 60_000 });
      expect(ref.partition).toBe(partitionForKey('k-1', 5));
      expect(ref.offset).toBe(0);
      const past = await client.schedule({ message: { topic: 'orders', payload: 'x' }, epoch: 1 }).catch((e: unknown) => e);
      expect(ContractViolationError.isInstance(past)).toBe(true);
    } finally {
      await client.close();
    }
  });
});
