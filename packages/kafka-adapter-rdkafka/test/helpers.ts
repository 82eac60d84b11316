/**
 * Helpers of the broker tests: unique names, polling waits, a recording listener, a raw
 * node-rdkafka transaction left open, and a resource registry that closes everything after each
 * test.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach } from 'vitest';
import type { ProduceRecord, Subscription, TopicPartition, TransactionalProducer, Transport } from '@ksched/core';
import RdKafka from 'node-rdkafka';
import { createRdKafkaTransport, createTopicAdmin, toRdKafkaBytes, toRdKafkaHeaders } from '../src/index.js';
import type { RdKafkaTransportOptions, TopicAdmin } from '../src/index.js';

export const brokers = (process.env['KSCHED_BROKERS'] ?? '127.0.0.1:19092').split(',');

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
let counter = 0;

/** A name unique to this test run. */
export function unique(label: string): string {
  return `ksched-rdk-${label}-${run}-${++counter}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const text = (bytes: Uint8Array | string | null | undefined): string | null =>
  bytes === null || bytes === undefined ? null : typeof bytes === 'string' ? bytes : new TextDecoder().decode(bytes);

export const tpKey = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

// The recording listener and the polling wait live in the testkit (shared by both adapters' tests).
import { RecordingListener as Recorder, waitUntil } from '@ksched/testkit';
export { Recorder, waitUntil };

const KAFKA_SH = fileURLToPath(new URL('../../../scripts/kafka/kafka.sh', import.meta.url));

/** Kafka's DeleteRecords through the broker's CLI (node-rdkafka has no DeleteRecords). */
export async function deleteRecords(topic: string, partition: number, beforeOffset: number): Promise<void> {
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

/** A transaction handle left open by {@link openTransaction}. */
export interface OpenTxn {
  commit(): Promise<void>;
  abort(): Promise<void>;
}

const cb = (run: (done: (error: unknown) => void) => void): Promise<void> =>
  new Promise((resolve, reject) => run((error) => (error ? reject(error) : resolve())));

/**
 * Writes `records` (explicit partitions) in a transaction of a raw node-rdkafka producer and
 * leaves it open until the handle commits or aborts it; the producer is disconnected then.
 */
export async function openTransaction(transactionalId: string, records: readonly ProduceRecord[]): Promise<OpenTxn> {
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
  for (const r of records) {
    producer.produce(
      r.topic,
      r.partition ?? null,
      toRdKafkaBytes(r.value),
      toRdKafkaBytes(r.key),
      r.timestamp ?? null,
      undefined,
      toRdKafkaHeaders(r.headers),
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

/** Resources opened by a test file, closed after each test (transports) or after the file (admin, topics). */
export function useResources(): {
  transport(options?: Partial<RdKafkaTransportOptions>): Promise<Transport>;
  producer(p: TransactionalProducer): TransactionalProducer;
  admin(): Promise<TopicAdmin>;
  topic(label: string, partitions?: number, configs?: Record<string, string>): Promise<string>;
  consume(
    topics: string[],
    recorder?: Recorder,
    groupId?: string,
    t?: Transport,
  ): Promise<{ transport: Transport; recorder: Recorder; subscription: Subscription }>;
} {
  const transports: Transport[] = [];
  const producers: TransactionalProducer[] = [];
  const topics: string[] = [];
  let admin: TopicAdmin | undefined;

  afterEach(async () => {
    for (const p of producers.splice(0)) await p.close().catch(() => {});
    for (const t of transports.splice(0).reverse()) await t.close().catch(() => {});
  });
  afterAll(async () => {
    if (admin) {
      await admin.deleteTopics(topics.splice(0)).catch(() => {});
      await admin.close();
    }
  });

  const getAdmin = async (): Promise<TopicAdmin> => (admin ??= await createTopicAdmin({ brokers }));

  const api = {
    async transport(options: Partial<RdKafkaTransportOptions> = {}): Promise<Transport> {
      const t = createRdKafkaTransport({ brokers, clientId: 'ksched-rdkafka-test', ...options });
      transports.push(t);
      await t.connect();
      return t;
    },
    producer(p: TransactionalProducer): TransactionalProducer {
      producers.push(p);
      return p;
    },
    admin: getAdmin,
    async topic(label: string, partitions = 1, configs: Record<string, string> = {}): Promise<string> {
      const name = unique(label);
      await (await getAdmin()).createTopic({ topic: name, partitions, configs });
      topics.push(name);
      return name;
    },
    async consume(names: string[], recorder = new Recorder(), groupId = unique('group'), t?: Transport) {
      const transport = t ?? (await api.transport());
      const subscription = await transport.subscribe({ groupId, topics: names, listener: recorder });
      let total = 0;
      for (const n of names) total += await transport.partitionCount(n);
      await waitUntil(
        () => recorder.owned.size === total,
        () => `assignment of ${total} partitions (owns ${recorder.owned.size})`,
      );
      return { transport, recorder, subscription };
    },
  };
  return api;
}
