/**
 * Interop with producers and consumers that know nothing of ksched: schedules and cancels written
 * with plain kafkajs calls (headers and key set by hand, exactly as the v1.0.0 spec lists them)
 * are dispatched or honoured by the Scheduler, and what the Scheduler writes (the target message
 * and the tombstone) is read back with a plain kafkajs consumer and checked header by header.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler, systemClock } from '@ksched/core';
import type { DispatchedEvent, ErrorEvent } from '@ksched/core';
import { sleep, waitUntil } from '@ksched/testkit';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import type { IHeaders, KafkaMessage } from 'kafkajs';
import { createKafkaJsTransport, createScheduleClient } from '../src/index.js';
import { brokers, harness } from './helpers.js';

const r = harness.useResources();
const kafka = new Kafka({ brokers, clientId: 'ksched-interop-plain', logLevel: logLevel.NOTHING });

interface Seen {
  readonly topic: string;
  readonly partition: number;
  readonly message: KafkaMessage;
}

const str = (value: Buffer | string | null | undefined): string | null =>
  value === null || value === undefined ? null : typeof value === 'string' ? value : value.toString('utf8');

/** Header values as strings (kafkajs gives Buffers; a repeated header would come as an array). */
function headers(h: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(h ?? {})) {
    if (Array.isArray(value)) throw new Error(`header ${name} appears ${value.length} times`);
    out[name] = str(value as Buffer | string | undefined) ?? '';
  }
  return out;
}

/** A plain kafkajs consumer of `names` from the beginning, in a group of its own. */
async function plainConsumer(names: string[]): Promise<{ seen: Seen[]; stop: () => Promise<void> }> {
  const consumer = kafka.consumer({ groupId: harness.unique('plain-reader'), maxWaitTimeInMs: 100 });
  const seen: Seen[] = [];
  let joined = false;
  consumer.on(consumer.events.GROUP_JOIN, () => {
    joined = true;
  });
  await consumer.connect();
  await consumer.subscribe({ topics: names, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      seen.push({ topic, partition, message });
    },
  });
  await waitUntil(() => joined, 'the plain consumer joining');
  return { seen, stop: () => consumer.disconnect() };
}

describe('interop with plain kafkajs producers and consumers', () => {
  it('dispatches a hand-written schedule with the spec’s headers, writes the spec’s tombstone, and honours hand-written cancels', async () => {
    const [schedules] = (await r.schedulesTopics(3, 'interop-sched')) as [string];
    const target = await r.topic('interop-target', 1);

    const scheduler = new Scheduler({
      transport: createKafkaJsTransport({ brokers, clientId: 'ksched-interop' }),
      clock: systemClock,
      options: { topics: [schedules], groupId: harness.unique('interop-scheduler'), intervalMs: 1000, statesReportIntervalMs: 1000 },
    });
    const dispatched: DispatchedEvent[] = [];
    const errors: ErrorEvent[] = [];
    scheduler.on('dispatched', (e) => dispatched.push(e));
    scheduler.on('error', (e) => errors.push(e));
    await scheduler.start();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const reader = await plainConsumer([target, schedules]);
    try {
      await waitUntil(
        () => scheduler.isReady(),
        () => `the scheduler ready (${JSON.stringify(scheduler.partitions())})`,
      );
      const epoch = Math.floor(Date.now() / 1000) + 2;
      const spec = (targetKey: string): Record<string, string> => ({
        schedule_schema_version: '1.0.0',
        schedule_source_type: 'schedule',
        schedule_target_epoch: String(epoch),
        schedule_target_topic: target,
        schedule_target_key: targetKey,
      });
      const dispatchedHeaders = { ...spec('target-key-1'), 'x-trace-id': 'abc-123' };
      // 1. A schedule on partition 1, chosen by hand.
      const [sent] = await producer.send({
        topic: schedules,
        acks: -1,
        messages: [{ key: 'interop-1', value: 'hello from plain kafkajs', partition: 1, headers: dispatchedHeaders }],
      });
      const scheduleOffset = sent!.baseOffset!;
      // 2. A schedule cancelled by a hand-written cancel on its partition.
      await producer.send({
        topic: schedules,
        acks: -1,
        messages: [
          { key: 'interop-cancel-by-hand', value: 'never', partition: 0, headers: spec('never-1') },
          {
            key: 'interop-cancel-by-hand',
            value: null,
            partition: 0,
            headers: { schedule_schema_version: '1.0.0', schedule_source_type: 'cancel' },
          },
        ],
      });
      // 3. A schedule partitioned by kafkajs's own (Java-compatible) partitioner from its key, and
      // a hand-written cancel partitioned the same way: both reach the same partition.
      const [hashed] = await producer.send({
        topic: schedules,
        acks: -1,
        messages: [{ key: 'order-42-reminder', value: 'never', headers: spec('never-2') }],
      });
      const [hashedCancel] = await producer.send({
        topic: schedules,
        acks: -1,
        messages: [
          { key: 'order-42-reminder', value: null, headers: { schedule_schema_version: '1.0.0', schedule_source_type: 'cancel' } },
        ],
      });
      expect(hashedCancel!.partition).toBe(hashed!.partition);
      // 4. A schedule partitioned by kafkajs's partitioner, cancelled through the ksched client by key only.
      const [byKey] = await producer.send({
        topic: schedules,
        acks: -1,
        messages: [{ key: 'customer-9', value: 'never', headers: spec('never-3') }],
      });
      const client = createScheduleClient({ transport: await r.transport(), schedulesTopic: schedules });
      const cancelRef = await client.cancel({ key: 'customer-9' });
      expect(cancelRef.partition).toBe(byKey!.partition);

      const targets = (): Seen[] => reader.seen.filter((x) => x.topic === target);
      await waitUntil(() => targets().length >= 1, 'the dispatched message');
      await sleep(epoch * 1000 + 1500 - Date.now());
      await waitUntil(
        () => reader.seen.some((x) => x.topic === schedules && x.message.value === null && str(x.message.key) === 'interop-1'),
        'the tombstone',
      );
      const delivered = targets();
      expect(delivered).toHaveLength(1);
      const [m] = delivered;
      expect(str(m!.message.key)).toBe('target-key-1');
      expect(str(m!.message.value)).toBe('hello from plain kafkajs');
      expect(Number(m!.message.timestamp)).toBeGreaterThanOrEqual(epoch * 1000);
      expect(headers(m!.message.headers)).toEqual({
        ...dispatchedHeaders,
        schedule_source_topic: schedules,
        schedule_source_partition: '1',
        schedule_source_offset: scheduleOffset,
        schedule_source_key: 'interop-1',
      });

      const tombstones = reader.seen.filter((x) => x.topic === schedules && str(x.message.key) === 'interop-1' && x.message.value === null);
      expect(tombstones).toHaveLength(1);
      const [t] = tombstones;
      expect(t!.partition).toBe(1);
      expect(Number(t!.message.offset)).toBeGreaterThan(Number(scheduleOffset));
      expect(headers(t!.message.headers)).toEqual({
        ...dispatchedHeaders,
        schedule_schema_version: '1.0.0',
        schedule_source_type: 'tombstone',
        schedule_source_offset: scheduleOffset,
      });
      // Nothing closed the cancelled ones with a tombstone: they were never dispatched.
      expect(
        reader.seen.filter((x) => x.topic === schedules && str(x.message.headers?.['schedule_source_type'] as Buffer) === 'tombstone')
          .length,
      ).toBe(1);
      expect(dispatched.map((e) => e.key)).toEqual(['interop-1']);
      expect(errors).toEqual([]);
    } finally {
      await reader.stop().catch(() => {});
      await producer.disconnect().catch(() => {});
      await scheduler.stop();
    }
  });
});
