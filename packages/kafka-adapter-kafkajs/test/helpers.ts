/**
 * The kafkajs adapter in the testkit's broker harness: the broker tests' names, resources and
 * suite harnesses (see `createBrokerHarness`), plus a raw kafkajs client for what the port cannot do.
 */
import type { ProduceRecord } from '@ksched/core';
import { createBrokerHarness, kafkaBrokers } from '@ksched/testkit';
import type { OpenTransaction } from '@ksched/testkit';
import { Kafka, logLevel } from 'kafkajs';
import { adapter, createTopicAdmin } from '../src/index.js';

export { RecordingListener as Recorder, sleep, text, tpKey, waitUntil } from '@ksched/testkit';

export const brokers = kafkaBrokers();

/** A raw kafkajs client (for what the transport port does not do, e.g. leaving a transaction open). */
export const rawKafka = (clientId = 'ksched-kafkajs-test-raw'): Kafka => new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING });

const asText = (bytes: string | Uint8Array | null): string | null =>
  bytes === null ? null : typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString();

/** Writes `records` in a transaction of a raw kafkajs producer and leaves it open until the handle says. */
async function openTransaction(transactionalId: string, records: readonly ProduceRecord[]): Promise<OpenTransaction> {
  const producer = rawKafka('ksched-kafkajs-test-txn').producer({ transactionalId, idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  const txn = await producer.transaction();
  const byTopic = new Map<string, { key: string | null; value: string | null; partition?: number }[]>();
  for (const r of records) {
    const messages = byTopic.get(r.topic) ?? [];
    messages.push({ key: asText(r.key), value: asText(r.value), ...(r.partition !== undefined ? { partition: r.partition } : {}) });
    byTopic.set(r.topic, messages);
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

export const harness = createBrokerHarness({
  kafkaAdapter: adapter,
  namePrefix: 'ksched-kjs',
  createAdmin: () => createTopicAdmin({ brokers }),
  openTransaction,
});
export const { unique, useResources } = harness;
