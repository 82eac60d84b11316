/**
 * The testkit's Transport conformance suite against the kafkajs transport on the real broker.
 */
import { describeTransportConformance } from '@ksched/testkit';
import type { ConformanceHarness, OpenTransaction } from '@ksched/testkit';
import type { GroupListener, PartitionBatch, ProduceRecord } from '@ksched/core';
import { Kafka, logLevel } from 'kafkajs';
import { createKafkaJsTransport, createTopicAdmin } from '../src/index.js';
import { brokers, sleep, text, waitUntil } from './helpers.js';

const FAST_COMPACTION = {
  'cleanup.policy': 'compact',
  'segment.ms': '100',
  'min.cleanable.dirty.ratio': '0.01',
  'min.compaction.lag.ms': '0',
};
const ROLL_KEY = '__ksched_conformance_roll__';

/** Reads a whole partition 0 of `topic` with a throwaway group member. */
async function readAll(topic: string): Promise<PartitionBatch['records'][number][]> {
  const transport = createKafkaJsTransport({ brokers, clientId: 'ksched-conformance-reader' });
  try {
    const batches: PartitionBatch[] = [];
    let high = -1;
    const listener: GroupListener = {
      onAssigned: async (parts) => {
        for (const p of parts) if (p.partition === 0) high = (await transport.seekToBeginning(p)).high;
      },
      onRevoked: () => {},
      onBatch: (b) => {
        batches.push(b);
      },
    };
    await transport.subscribe({ groupId: `ksched-conformance-reader-${Date.now()}-${Math.random()}`, topics: [topic], listener });
    await waitUntil(
      () => high >= 0 && batches.some((b) => b.partition === 0 && b.records.length === 0 && b.position >= high),
      'reading the compacted topic',
      60_000,
    );
    return batches.filter((b) => b.partition === 0).flatMap((b) => b.records);
  } finally {
    await transport.close();
  }
}

describeTransportConformance(
  'kafkajs',
  async (): Promise<ConformanceHarness> => {
    const admin = await createTopicAdmin({ brokers });
    const kafka = new Kafka({ brokers, clientId: 'ksched-conformance-harness', logLevel: logLevel.NOTHING });
    const topics: string[] = [];
    return {
      timeoutMs: 60_000,
      namePrefix: 'ksched-kjs-conf',
      createTransport: async () => createKafkaJsTransport({ brokers, clientId: 'ksched-conformance' }),
      createTopic: async (name, partitions, options = {}) => {
        topics.push(name);
        await admin.createTopic({ topic: name, partitions, configs: options.compacted ? FAST_COMPACTION : {} });
      },
      deleteRecords: (tp, beforeOffset) => admin.deleteRecords(tp, beforeOffset),
      // Kafka compacts closed segments only: roll the segment with a marker record until the
      // superseded records are gone (segment.ms 100, cleaner backoff 1 s on the test broker).
      compact: async (topic) => {
        const producer = createKafkaJsTransport({ brokers, clientId: 'ksched-conformance-roll' });
        try {
          await waitUntil(
            async () => {
              await sleep(200);
              await producer.produce([{ topic, partition: 0, key: ROLL_KEY, value: 'roll' }]);
              const records = (await readAll(topic)).filter((r) => text(r.key) !== ROLL_KEY);
              const keys = records.map((r) => text(r.key));
              return keys.length > 0 && new Set(keys).size === keys.length;
            },
            `compaction of ${topic}`,
            60_000,
          );
        } finally {
          await producer.close();
        }
      },
      openTransaction: async (transactionalId: string, records: readonly ProduceRecord[]): Promise<OpenTransaction> => {
        const producer = kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
        await producer.connect();
        const txn = await producer.transaction();
        const byTopic = new Map<string, { key: string | null; value: string | null; partition?: number }[]>();
        for (const r of records) {
          const list = byTopic.get(r.topic) ?? [];
          list.push({
            key: r.key === null ? null : typeof r.key === 'string' ? r.key : Buffer.from(r.key).toString(),
            value: r.value === null ? null : typeof r.value === 'string' ? r.value : Buffer.from(r.value).toString(),
            ...(r.partition !== undefined ? { partition: r.partition } : {}),
          });
          byTopic.set(r.topic, list);
        }
        await txn.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
        const end = async (how: 'commit' | 'abort'): Promise<void> => {
          try {
            if (txn.isActive()) await txn[how]();
          } finally {
            await producer.disconnect();
          }
        };
        return { commit: () => end('commit'), abort: () => end('abort') };
      },
      cleanup: async () => {
        await admin.deleteTopics(topics).catch(() => {});
        await admin.close();
      },
    };
  },
  { testTimeoutMs: 120_000 },
);
