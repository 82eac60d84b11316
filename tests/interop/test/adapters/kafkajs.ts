/**
 * The kafkajs adapter as the interop tests run it: its broker harness (with a raw kafkajs
 * transaction left open, for the conformance suite's read-committed cases), the conformance case
 * its client cannot pass and why, and what its topic admin can do.
 */
import type { ProduceRecord } from '@ksched/core';
import { adapter } from '@ksched/kafka-adapter-kafkajs';
import { kafkaBrokers } from '@ksched/testkit';
import type { OpenTransaction } from '@ksched/testkit';
import { createBrokerHarness } from '@ksched/testkit/vitest';
import { Kafka, logLevel } from 'kafkajs';

const brokers = kafkaBrokers();
const rawKafka = (clientId: string): Kafka => new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING });

const asText = (bytes: string | Uint8Array | null): string | null =>
  bytes === null ? null : typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString();

/** Writes `records` in a transaction of a raw kafkajs producer and leaves it open until the handle says. */
async function openTransaction(transactionalId: string, records: readonly ProduceRecord[]): Promise<OpenTransaction> {
  const producer = rawKafka('ksched-kafkajs-test-txn').producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const txn = await producer.transaction();
  const byTopic = new Map<string, { key: string | null; value: string | null; partition?: number }[]>();
  for (const record of records) {
    const messages = byTopic.get(record.topic) ?? [];
    messages.push({
      key: asText(record.key),
      value: asText(record.value),
      ...(record.partition !== undefined ? { partition: record.partition } : {}),
    });
    byTopic.set(record.topic, messages);
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
}

export const kafkajs = {
  name: 'kafkajs',
  kafkaAdapter: adapter,
  harness: createBrokerHarness({ kafkaAdapter: adapter, namePrefix: 'ksched-kjs', openTransaction }),
  unsupported: [
    {
      case: /a slow onRevoked settles before another member gets the partitions/,
      reason:
        "kafkajs's eager protocol cannot delay the rejoin until onRevoked settled: another member may be assigned a " +
        'partition while its revocation runs (the adapter README, "Every rebalance revokes every partition"; the engine fences per partition)',
    },
  ],
  topicAdmin: {
    readsConfigs: true,
    deletesRecords: true,
    // The admin functions also take an existing kafkajs client.
    alternativeConnection: () => ({ kafka: rawKafka('ksched-kafkajs-test-admin') }),
  },
} as const;
