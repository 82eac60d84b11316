/** The raw clients doing the plain Kafka work that each ksched measure is compared with. */
import type kafkajs from 'kafkajs';
import rdkafka from 'node-rdkafka';
import { kafka, type AdapterName, type KafkaJsClient } from './common.js';

export interface RawRecord {
  topic: string;
  key: string | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * Joins a group on `topic` (one partition) and reads it from the beginning to `end` (read committed,
 * no per-record work beyond counting). Resolves with the wall time from connect to the end, ms.
 */
export async function rawReadToEnd(
  name: AdapterName,
  brokers: string[],
  topic: string,
  end: number,
): Promise<{ ms: number; records: number }> {
  const t0 = performance.now();
  if (name === 'kafkajs') {
    const consumer = kafka(brokers).consumer({
      groupId: `raw-${topic}-${Date.now()}`,
      readUncommitted: false,
      maxWaitTimeInMs: 500,
      maxBytesPerPartition: 1_048_576,
      maxBytes: 10_485_760,
    });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    let records = 0;
    const done = new Promise<number>((resolve) => {
      void consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          records += batch.messages.length;
          if (Number(batch.lastOffset()) + 1 >= end) resolve(performance.now() - t0);
        },
      });
    });
    const ms = await done;
    await consumer.disconnect();
    return { ms, records };
  }
  const consumer = new rdkafka.KafkaConsumer(
    {
      'metadata.broker.list': brokers.join(','),
      'group.id': `raw-${topic}-${Date.now()}`,
      'enable.auto.commit': false,
      'isolation.level': 'read_committed',
      'fetch.max.bytes': 52_428_800,
      'max.partition.fetch.bytes': 1_048_576,
      'fetch.wait.max.ms': 500,
    } as never,
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
  consumer.subscribe([topic]);
  let records = 0;
  let last = -1;
  while (last + 1 < end) {
    const batch = await new Promise<rdkafka.Message[]>((resolve, reject) =>
      consumer.consume(500, (err, msgs) => (err ? reject(err) : resolve(msgs))),
    );
    records += batch.length;
    if (batch.length > 0) last = batch[batch.length - 1]!.offset;
  }
  const ms = performance.now() - t0;
  await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
  return { ms, records };
}

/**
 * A consumer of the same client, on this thread, that reads the records of `topic` (one partition,
 * read committed) as they are written and does nothing else with them: what a scheduler built on
 * the raw client must at least do to see its own tombstones come back. `ready` resolves once it has
 * the partition; `read()` is how many records it has had so far.
 */
interface ReadBack {
  ready: Promise<void>;
  read(): number;
  close(): Promise<void>;
}

async function startReadBack(name: AdapterName, brokers: string[], topic: string): Promise<ReadBack> {
  let read = 0;
  if (name === 'kafkajs') {
    const consumer = kafka(brokers).consumer({ groupId: `raw-back-${topic}-${Date.now()}`, readUncommitted: false, maxWaitTimeInMs: 100 });
    const ready = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        read += batch.messages.length;
      },
    });
    return { ready, read: () => read, close: () => consumer.disconnect() };
  }
  const consumer = new rdkafka.KafkaConsumer(
    {
      'metadata.broker.list': brokers.join(','),
      'group.id': `raw-back-${topic}-${Date.now()}`,
      'enable.auto.commit': false,
      'isolation.level': 'read_committed',
      'fetch.wait.max.ms': 100,
    } as never,
    { 'auto.offset.reset': 'earliest' },
  );
  await new Promise<void>((resolve, reject) => consumer.connect({}, (err) => (err ? reject(err) : resolve())));
  consumer.subscribe([topic]);
  let stop = false;
  let assigned!: () => void;
  const ready = new Promise<void>((resolve) => (assigned = resolve));
  const loop = (async () => {
    while (!stop) {
      // A failed consume (the broker busy, a timeout) is retried: the side must not hang or crash the run.
      const batch = await new Promise<rdkafka.Message[]>((resolve) => consumer.consume(500, (err, msgs) => resolve(err ? [] : msgs)));
      if (consumer.assignments().length > 0) assigned();
      read += batch.length;
    }
  })();
  return {
    ready,
    read: () => read,
    close: async () => {
      stop = true;
      await loop;
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    },
  };
}

/**
 * Produces `records` in sequential batches of `batchSize` (acks = all, idempotent; with
 * `transactional`, one transaction per batch), like the engine's flushes. Returns the time of the
 * produce loop, ms (connect and transaction init excluded).
 *
 * With `readBackTopic`, a consumer of the same client reads that topic meanwhile (see
 * {@link startReadBack}); `readBack` is how many records it had read when the loop ended. The time
 * still ends with the loop, as ksched's ends with its last dispatch whatever its own consumer has
 * still to read. `client` picks the kafkajs of the producer (see {@link KafkaJsClient}).
 */
export async function rawProduce(
  name: AdapterName,
  brokers: string[],
  records: RawRecord[],
  batchSize: number,
  transactional: boolean,
  readBackTopic?: string,
  client: KafkaJsClient = 'installed',
): Promise<{ ms: number; readBack?: number }> {
  const back = readBackTopic === undefined ? undefined : await startReadBack(name, brokers, readBackTopic);
  if (back !== undefined) await back.ready;
  try {
    const { t0, end } = await produceLoop(name, brokers, records, batchSize, transactional, client);
    return back === undefined ? { ms: end - t0 } : { ms: end - t0, readBack: back.read() };
  } finally {
    await back?.close();
  }
}

/** {@link rawProduce}'s loop; returns when it started and ended (performance.now()). */
async function produceLoop(
  name: AdapterName,
  brokers: string[],
  records: RawRecord[],
  batchSize: number,
  transactional: boolean,
  client: KafkaJsClient,
): Promise<{ t0: number; end: number }> {
  if (name === 'kafkajs') {
    const producer = kafka(brokers, client).producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      ...(transactional ? { transactionalId: `raw-${Date.now()}` } : {}),
    });
    await producer.connect();
    const t0 = performance.now();
    for (let i = 0; i < records.length; i += batchSize) {
      const byTopic = new Map<string, kafkajs.Message[]>();
      for (const r of records.slice(i, i + batchSize)) {
        let list = byTopic.get(r.topic);
        if (!list) byTopic.set(r.topic, (list = []));
        list.push({ key: r.key, value: r.value, headers: r.headers });
      }
      const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages }));
      if (transactional) {
        const tx = await producer.transaction();
        await tx.sendBatch({ topicMessages, acks: -1 });
        await tx.commit();
      } else {
        await producer.sendBatch({ topicMessages, acks: -1 });
      }
    }
    const end = performance.now();
    await producer.disconnect();
    return { t0, end };
  }
  const producer = new rdkafka.Producer({
    'metadata.broker.list': brokers.join(','),
    'enable.idempotence': true,
    dr_cb: true,
    'linger.ms': 5,
    ...(transactional ? { 'transactional.id': `raw-${Date.now()}` } : {}),
  } as never);
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  producer.setPollInterval(5);
  let pending = 0;
  let waiter: (() => void) | undefined;
  let failure: unknown;
  producer.on('delivery-report', (err) => {
    if (err) failure = err;
    if (--pending === 0 && waiter) waiter();
  });
  const cb = (resolve: () => void, reject: (e: unknown) => void) => (err: unknown) => (err ? reject(err) : resolve());
  if (transactional) await new Promise<void>((resolve, reject) => producer.initTransactions(30_000, cb(resolve, reject)));
  const t0 = performance.now();
  for (let i = 0; i < records.length; i += batchSize) {
    if (transactional) await new Promise<void>((resolve, reject) => producer.beginTransaction(cb(resolve, reject)));
    const batch = records.slice(i, i + batchSize);
    const delivered = new Promise<void>((resolve) => (waiter = resolve));
    pending += batch.length;
    for (const r of batch) {
      producer.produce(
        r.topic,
        0,
        r.value,
        r.key,
        undefined,
        undefined,
        Object.entries(r.headers).map(([k, v]) => ({ [k]: v })),
      );
    }
    if (transactional) await new Promise<void>((resolve, reject) => producer.commitTransaction(30_000, cb(resolve, reject)));
    await delivered;
    if (failure) throw failure;
  }
  const end = performance.now();
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  return { t0, end };
}
