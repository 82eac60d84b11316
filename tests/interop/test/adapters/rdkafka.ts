/**
 * The rdkafka adapter as the interop tests run it: its broker harness, with what node-rdkafka
 * cannot do through the port (DeleteRecords, through the broker's own tool; a raw transaction left
 * open), the conformance case its client cannot pass and why, and what its topic admin can do.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { ProduceRecord } from '@ksched/core';
import { adapter, toRdKafkaBytes, toRdKafkaHeaders } from '@ksched/kafka-adapter-rdkafka';
import { kafkaBrokers, waitUntil } from '@ksched/testkit';
import type { OpenTransaction } from '@ksched/testkit';
import { createBrokerHarness } from '@ksched/testkit/vitest';
import RdKafka from 'node-rdkafka';

const brokers = kafkaBrokers();

const KAFKA_SH = fileURLToPath(new URL('../../../../scripts/kafka/kafka.sh', import.meta.url));

/**
 * Kafka's DeleteRecords through the broker's CLI: node-rdkafka's AdminClient has none, so this
 * runs Kafka's own `DeleteRecordsCommand` from the jars `scripts/kafka/kafka.sh` fetched (test-only).
 */
async function deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'ksched-rdk-delete-records-'));
  try {
    const file = join(dir, 'offsets.json');
    await writeFile(file, JSON.stringify({ version: 1, partitions: [{ topic, partition, offset: beforeOffset }] }));
    await promisify(execFile)('bash', [
      KAFKA_SH,
      'tool',
      'org.apache.kafka.tools.DeleteRecordsCommand',
      '--bootstrap-server',
      brokers.join(','),
      '--offset-json-file',
      file,
    ]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

const cb = (run: (done: (error: unknown) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => run((error) => (error ? reject(error) : resolve())));

/**
 * Writes `records` (explicit partitions) in a transaction of a raw node-rdkafka producer and
 * leaves it open until the handle commits or aborts it; the producer is disconnected then.
 */
async function openTransaction(transactionalId: string, records: readonly ProduceRecord[]): Promise<OpenTransaction> {
  const producer = new RdKafka.Producer({
    'bootstrap.servers': brokers.join(','),
    'transactional.id': transactionalId,
    'enable.idempotence': true,
    dr_cb: true,
    log_level: 0,
  });
  await new Promise<void>((resolve, reject) => producer.connect({}, (error) => (error ? reject(error) : resolve())));
  producer.setPollInterval(5);
  await cb((done) => producer.initTransactions(30_000, done));
  await cb((done) => producer.beginTransaction(done));
  let pending = records.length;
  const written: { topic: string; partition: number; offset: number }[] = [];
  const delivered = new Promise<void>((resolve, reject) => {
    if (pending === 0) resolve();
    producer.on('delivery-report', (error, report) => {
      if (error) reject(error);
      else {
        written.push({ topic: report.topic, partition: report.partition, offset: report.offset });
        if (--pending === 0) resolve();
      }
    });
  });
  for (const record of records) {
    producer.produce(
      record.topic,
      record.partition ?? null,
      toRdKafkaBytes(record.value),
      toRdKafkaBytes(record.key),
      record.timestamp ?? null,
      undefined,
      toRdKafkaHeaders(record.headers),
    );
  }
  await delivered;
  const finish = async (how: 'commit' | 'abort'): Promise<void> => {
    try {
      if (how === 'commit') await cb((done) => producer.commitTransaction(30_000, done));
      else await cb((done) => producer.abortTransaction(30_000, done));
      // The coordinator writes the markers after EndTxn returned: wait until the last stable offset passed them.
      for (const w of written) {
        await waitUntil(
          () =>
            new Promise<boolean>((resolve) =>
              producer.queryWatermarkOffsets(w.topic, w.partition, 5000, (error, offsets) =>
                resolve(!error && offsets.highOffset > w.offset),
              ),
            ),
          `the ${how} marker of ${w.topic}/${w.partition}`,
        );
      }
    } finally {
      await new Promise<void>((resolve) => producer.disconnect(5000, () => resolve()));
    }
  };
  return { commit: () => finish('commit'), abort: () => finish('abort') };
}

export const rdkafka = {
  name: 'rdkafka',
  kafkaAdapter: adapter,
  harness: createBrokerHarness({
    kafkaAdapter: adapter,
    namePrefix: 'ksched-rdk',
    deleteRecords: (tp, beforeOffset) => deleteRecords(tp.topic, tp.partition, beforeOffset),
    openTransaction,
  }),
  unsupported: [
    {
      case: /round-trips string and binary headers/,
      reason:
        'node-rdkafka 3.6 cannot produce non-UTF-8 header bytes (Blizzard/node-rdkafka#1006); the adapter refuses them with ' +
        'RecordRefusedError (cause UnsupportedError) instead (covered in packages/kafka-adapter-rdkafka/test/rdkafka-transport.integration.test.ts, with text headers round-tripping)',
    },
  ],
  // node-rdkafka 3.6's AdminClient has neither DescribeConfigs nor DeleteRecords.
  topicAdmin: { readsConfigs: false, deletesRecords: false },
} as const;
