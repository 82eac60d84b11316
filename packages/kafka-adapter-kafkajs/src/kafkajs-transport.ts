/**
 * The ksched `Transport` port over kafkajs 2.2.4.
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import type {
  ProduceOptions,
  ProduceRecord,
  RecordMetadata,
  TopicPartition,
  TransactionalProducer,
  Transport,
  Watermarks,
} from '@ksched/core';
import { createTransport, TransportDriverBase } from '@ksched/core/adapter';
import type { MemberContext, ReaderContext, TransactionalContext } from '@ksched/core/adapter';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { GroupMember } from './internal/group-member.js';
import { createKafka, kafkaRetry } from './internal/kafka.js';
import { KafkaJsPartitionReader } from './internal/partition-reader.js';
import { RecordingPartitioner } from './internal/produce.js';
import { ProduceJoiner } from './internal/produce-joiner.js';
import { KafkaJsTransactionalProducer } from './internal/transactional-producer.js';
import { kafkaJsErrors, rethrowAs } from './map-errors.js';
import { parseKafkaJsTransportOptions } from './options.js';
import type { KafkaJsTransportOptions, ResolvedKafkaJsTransportOptions } from './options.js';

/**
 * Creates a ksched `Transport` over kafkajs: one consumer-group member (read committed, manual
 * offsets) with an idempotent producer (acks = all) and an admin client.
 *
 * - Partitioning: explicit `partition` > Java-compatible murmur2 of `partitionKey` > of `key` >
 *   round robin (keyless).
 * - Group callbacks: kafkajs's eager protocol revokes every partition on a rebalance; new
 *   partitions are delivered only after `onAssigned` settled.
 * - EOF: an empty batch when the position reaches the end (also for an empty partition and a log
 *   ending in a transaction marker).
 *
 * @throws ConfigError (`KSM_CONFIG`) for invalid options, naming each setting.
 *
 * @example
 * ```ts
 * const transport = createKafkaJsTransport({ brokers: ['127.0.0.1:19092'], clientId: 'ksched' });
 * await transport.connect();
 * const subscription = await transport.subscribe({ groupId: 'ksched', topics: ['scheduled_messages'], listener });
 * // …
 * await transport.close();
 * ```
 *
 * Gotchas: one transport is one group member (`subscribe` once); a record without `timestamp`
 * gets the client's clock (kafkajs sets CreateTime).
 */
export function createKafkaJsTransport(options: KafkaJsTransportOptions): Transport {
  return createTransport(new KafkaJsDriver(parseKafkaJsTransportOptions(options)));
}

/** The kafkajs clients of one transport: a producer and an admin client (a consumer per member and per reader). */
class KafkaJsDriver extends TransportDriverBase<KafkaJsPartitionReader> {
  readonly #options: ResolvedKafkaJsTransportOptions;
  readonly #kafka: Kafka;
  readonly #producer: Producer;
  readonly #admin: Admin;
  readonly #partitioner = new RecordingPartitioner();
  /** Concurrent produce calls (one engine per partition) go in one request: see produce-joiner.ts. */
  readonly #joiner = new ProduceJoiner((records) => this.#send(records));

  constructor(options: ResolvedKafkaJsTransportOptions) {
    super(options, kafkaJsErrors);
    this.#options = options;
    this.#kafka = createKafka(options);
    const retry = kafkaRetry(options.retry);
    this.#producer = this.#kafka.producer({
      idempotent: true,
      createPartitioner: this.#partitioner.create,
      // The idempotent producer defaults to unbounded retries; bound them so produce() can fail.
      retry: retry ?? { retries: 10 },
    });
    this.#admin = this.#kafka.admin(retry !== undefined ? { retry } : {});
  }

  protected async connectClients(): Promise<void> {
    await Promise.all([this.#producer.connect(), this.#admin.connect()]);
  }

  async disconnect(): Promise<void> {
    const results = await Promise.allSettled([this.#producer.disconnect(), this.#admin.disconnect()]);
    for (const r of results) {
      if (r.status === 'rejected') this.logger.warn({ error: r.reason }, 'disconnecting a kafkajs client failed');
    }
  }

  join(context: MemberContext): Promise<GroupMember> {
    return new GroupMember({
      ...context,
      kafka: this.#kafka,
      options: this.#options,
      topicWatermarks: (topic) => this.#watermarks(topic),
      committedOffsets: (groupId, topic) => this.#committedOffsets(groupId, topic),
    }).join();
  }

  /**
   * A reader of `context.tp` fetching from its leader on connections of its own, in no group:
   * see `internal/partition-reader.ts`.
   */
  openReader(context: ReaderContext<KafkaJsPartitionReader>): Promise<KafkaJsPartitionReader> {
    return new KafkaJsPartitionReader({
      ...context,
      kafka: this.#kafka,
      options: this.#options,
      topicWatermarks: (topic) => this.#watermarks(topic),
    }).open();
  }

  async #watermarks(topic: string): Promise<Map<number, Watermarks>> {
    await this.ready();
    const offsets = await this.#admin.fetchTopicOffsets(topic).catch(rethrowAs(`fetching the watermarks of ${topic}`));
    // kafkajs's ListOffsets defaults to read committed: `high` is the last stable offset.
    return new Map(offsets.map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }]));
  }

  async #committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    await this.ready();
    const result = await this.#admin
      .fetchOffsets({ groupId, topics: [topic] })
      .catch(rethrowAs(`fetching the committed offsets of ${groupId}`));
    const out = new Map<number, number>();
    for (const t of result) {
      for (const p of t.partitions) {
        const offset = Number(p.offset);
        if (Number.isInteger(offset) && offset >= 0) out.set(p.partition, offset);
      }
    }
    return out;
  }

  async fetchWatermarks(tp: TopicPartition): Promise<Watermarks> {
    const wm = (await this.#watermarks(tp.topic)).get(tp.partition);
    if (wm === undefined) throw new TransportError(`partition ${tp.partition} of ${tp.topic} does not exist`, { retriable: false });
    return wm;
  }

  async offsetForTime(tp: TopicPartition, timestampMs: number): Promise<number> {
    const [entries, wm] = await Promise.all([
      this.#admin.fetchTopicOffsetsByTimestamp(tp.topic, timestampMs).catch(rethrowAs(`looking up the offset for a time in ${tp.topic}`)),
      this.fetchWatermarks(tp),
    ]);
    const offset = Number(entries.find((e) => e.partition === tp.partition)?.offset);
    // No record that recent (kafkajs gives the high watermark, which may be past the last stable offset).
    return Number.isFinite(offset) && offset >= 0 && offset < wm.high ? Math.max(offset, wm.low) : wm.high;
  }

  /** The partition count from the topic's metadata, once `listTopics` says it exists (kafkajs's metadata request may create a topic). */
  async partitionCount(topic: string): Promise<number | undefined> {
    const existing = await this.#admin.listTopics().catch(rethrowAs('listing topics'));
    if (!existing.includes(topic)) return undefined;
    const { topics } = await this.#admin.fetchTopicMetadata({ topics: [topic] }).catch(rethrowAs(`fetching the metadata of ${topic}`));
    return topics.find((t) => t.name === topic)?.partitions.length;
  }

  produce(records: readonly ProduceRecord[], options?: ProduceOptions): Promise<RecordMetadata[]> {
    return this.#joiner.produce(records, options);
  }

  /** One produce request (of one or several joined calls). */
  async #send(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    const batch = this.#partitioner.prepare(records);
    const response = await this.#producer
      .sendBatch({ topicMessages: batch.topicMessages, acks: -1 })
      .catch(rethrowAs(`producing ${records.length} record(s) to ${[...new Set(records.map((r) => r.topic))].join(', ')}`));
    return this.#partitioner.metadata(batch, response);
  }

  createTransactionalProducer(context: TransactionalContext): TransactionalProducer {
    return new KafkaJsTransactionalProducer(context, this.#kafka, this.#options, async (topic) => {
      await this.ready();
      return this.#admin.fetchTopicOffsets(topic);
    });
  }
}
