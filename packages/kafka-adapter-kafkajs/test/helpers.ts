/**
 * Helpers of the broker tests: unique names, polling waits, a recording listener, and a resource
 * registry that closes everything after each test.
 */
import { afterAll, afterEach } from 'vitest';
import type { Subscription, TopicPartition, TransactionalProducer, Transport } from '@ksched/core';
import { createKafkaJsTransport, createTopicAdmin } from '../src/index.js';
import type { KafkaJsTransportOptions, TopicAdmin } from '../src/index.js';

export const brokers = (process.env['KSCHED_BROKERS'] ?? '127.0.0.1:19092').split(',');

const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
let counter = 0;

/** A name unique to this test run. */
export function unique(label: string): string {
  return `ksched-kjs-${label}-${run}-${++counter}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : new TextDecoder().decode(bytes));

export const tpKey = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

// The recording listener and the polling wait live in the testkit (shared by both adapters' tests).
import { RecordingListener as Recorder, waitUntil } from '@ksched/testkit';
export { Recorder, waitUntil };

/** Resources opened by a test file, closed after each test (transports) or after the file (admin). */
export function useResources(): {
  transport(options?: Partial<KafkaJsTransportOptions>): Promise<Transport>;
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
    async transport(options: Partial<KafkaJsTransportOptions> = {}): Promise<Transport> {
      const t = createKafkaJsTransport({ brokers, clientId: 'ksched-kafkajs-test', ...options });
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
