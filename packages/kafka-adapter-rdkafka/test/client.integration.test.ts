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

describe('rdkafka schedule client', () => {
  it('schedule, cancel and reschedule reach the same partition (by key, partition key, explicit partition)', async () => {
    const topic = await schedulesTopic();
    const t = await r.transport();
    const client = createScheduleClient({ transport: t, schedulesTopic: topic });
    const due = { delayMs: 3_600_000 };

    const byKey = await client.schedule({
      message: { topic: 'orders', key: 'order-42', payload: 'remind' },
      envelope: { key: 'order-42-reminder' },
      ...due,
    });
    expect(byKey).toMatchObject({ key: 'order-42-reminder', topic, partition: partitionForKey('order-42-reminder', 5) });
    expect((await client.cancel({ key: 'order-42-reminder' })).partition).toBe(byKey.partition);

    const sticky = await client.schedule({ message: { topic: 'orders', partitionKey: 'customer-9', payload: 'p' }, ...due });
    expect(sticky.key).toMatch(/^orders-[0-9a-f-]{36}$/);
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

    const { recorder } = await r.consume([topic]);
    const p = { topic, partition: byKey.partition };
    await recorder.waitForEof(p, (await t.fetchWatermarks(p)).high);
    const onP = recorder
      .of(p)
      .flatMap((b) => b.records)
      .filter((x) => text(x.key) === 'order-42-reminder');
    expect(onP.map((x) => text(x.headers[Header.sourceType]))).toEqual(['schedule', 'cancel']);
    expect(onP[1]!.value).toBeNull();
    const sp = { topic, partition: sticky.partition };
    await recorder.waitForEof(sp, (await t.fetchWatermarks(sp)).high);
    const stickyRecords = recorder
      .of(sp)
      .flatMap((b) => b.records)
      .filter((x) => text(x.key) === sticky.key);
    expect(stickyRecords.map((x) => text(x.headers[Header.sourceType]))).toEqual(['schedule', 'cancel', 'schedule']);
    expect(text(stickyRecords[2]!.headers[Header.targetEpoch])).toBe('4102444800');
    expect(text(stickyRecords[2]!.value)).toBe('later');
    await client.close(); // does not close a transport it was given
    expect(await t.partitionCount(topic)).toBe(5);
  });

  it('creates and closes its own transport from rdkafka options; the builders validate', async () => {
    const topic = await schedulesTopic();
    const client = createScheduleClient({ brokers, clientId: 'ksched-rdkafka-client-test', schedulesTopic: topic });
    try {
      const ref = await client.schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { key: 'k-1' }, delayMs: 60_000 });
      expect(ref).toMatchObject({ partition: partitionForKey('k-1', 5), offset: 0 });
      await expect(client.schedule({ message: { topic: 'orders', payload: 'x' }, epoch: 1 })).rejects.toSatisfy(
        ContractViolationError.isInstance,
      );
    } finally {
      await client.close();
    }
  });
});
