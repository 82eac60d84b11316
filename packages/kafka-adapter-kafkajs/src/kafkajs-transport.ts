/**
 * The ksched `Transport` port over kafkajs 2.2.4.
 *
 * @module
 */
import { InvalidArgumentError, produceWithoutWaiting, StateError, TransportError } from '@ksched/core';
import type {
  Logger,
  PartitionReader,
  ProduceRecord,
  RecordMetadata,
  SubscribeOptions,
  Subscription,
  TopicPartition,
  TopicPartitionOffset,
  TransactionalProducer,
  Transport,
  Watermarks,
} from '@ksched/core';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { GroupMember } from './internal/group-member.js';
import { createKafka, kafkaRetry } from './internal/kafka.js';
import { KafkaJsPartitionReader } from './internal/partition-reader.js';
import { RecordingPartitioner } from './internal/produce.js';
import { KafkaJsTransactionalProducer } from './internal/transactional-producer.js';
import { rethrowAs, toTransportError } from './map-errors.js';
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
  return new KafkaJsTransport(parseKafkaJsTransportOptions(options));
}

type Lifecycle = 'idle' | 'connecting' | 'connected' | 'closing' | 'closed';

class KafkaJsTransport implements Transport {
  readonly specificationVersion = 'v1' as const;
  readonly #options: ResolvedKafkaJsTransportOptions;
  readonly #logger: Logger;
  readonly #kafka: Kafka;
  readonly #producer: Producer;
  readonly #admin: Admin;
  readonly #partitioner = new RecordingPartitioner();
  readonly #transactional = new Set<KafkaJsTransactionalProducer>();
  readonly #readers = new Set<KafkaJsPartitionReader>();
  #member: GroupMember | undefined;
  #subscribing = false;
  #state: Lifecycle = 'idle';
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedKafkaJsTransportOptions) {
    this.#options = options;
    this.#logger = options.logger;
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

  // ---- lifecycle ------------------------------------------------------------------------------

  connect(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new StateError('the transport is closed'));
    this.#connecting ??= (async () => {
      this.#state = 'connecting';
      try {
        await Promise.all([this.#producer.connect(), this.#admin.connect()]);
        if (this.#state === 'connecting') this.#state = 'connected';
      } catch (error) {
        this.#connecting = undefined;
        if (this.#state === 'connecting') this.#state = 'idle';
        throw toTransportError(error, `connecting to ${this.#options.brokers.join(',')}`);
      }
    })();
    return this.#connecting;
  }

  /** Connects on first use, so every operation works without an explicit `connect()`. */
  async #ready(): Promise<void> {
    if (this.#state === 'connected') return;
    await this.connect();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      await this.#connecting?.catch(() => {});
      const member = this.#member;
      if (member !== undefined) await member.close();
      await Promise.all([...this.#readers].map((r) => r.close()));
      await Promise.all([...this.#transactional].map((p) => p.close()));
      const results = await Promise.allSettled([this.#producer.disconnect(), this.#admin.disconnect()]);
      this.#state = 'closed';
      for (const r of results) {
        if (r.status === 'rejected') this.#logger.warn({ error: r.reason }, 'disconnecting a kafkajs client failed');
      }
    })();
    return this.#closing;
  }

  // ---- consuming ------------------------------------------------------------------------------

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.#member !== undefined || this.#subscribing) {
      throw new StateError('this transport already has a subscription: one transport is one group member');
    }
    if (options.topics.length === 0) throw new StateError('subscribe needs at least one topic');
    this.#subscribing = true;
    try {
      await this.#ready();
      const member = GroupMember.create({
        kafka: this.#kafka,
        options: this.#options,
        logger: this.#logger,
        groupId: options.groupId,
        topics: options.topics,
        listener: options.listener,
        watermarks: (topic) => this.#watermarks(topic),
        committedOffsets: (groupId, topic) => this.#committedOffsets(groupId, topic),
        onClosed: (m) => {
          if (this.#member === m) this.#member = undefined;
        },
      });
      // Registered before joining: the first onAssigned (during the join) may already seek.
      this.#member = member;
      await member.start();
      return member;
    } finally {
      this.#subscribing = false;
    }
  }

  async seekToBeginning(tp: TopicPartition): Promise<Watermarks> {
    const member = this.#member;
    if (member === undefined) {
      throw new TransportError(`partition ${tp.partition} of ${tp.topic} is not assigned to this member (no subscription)`, {
        retriable: false,
      });
    }
    return member.seekToBeginning(tp);
  }

  async seek(tp: TopicPartition, offset: number): Promise<Watermarks> {
    if (typeof offset !== 'number' || Number.isNaN(offset)) {
      throw new InvalidArgumentError([{ field: 'offset', rule: 'number', message: 'must be a number (an offset)' }]);
    }
    const member = this.#member;
    if (member === undefined) {
      throw new TransportError(`partition ${tp.partition} of ${tp.topic} is not assigned to this member (no subscription)`, {
        retriable: false,
      });
    }
    return member.seek(tp, offset);
  }

  /**
   * A reader of `tp` in a throwaway consumer group of its own (kafkajs cannot fetch without a
   * group): see `internal/partition-reader.ts`.
   */
  async openReader(tp: TopicPartition, options: { readonly fromOffset: number }): Promise<PartitionReader> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new StateError('the transport is closed');
    const fromOffset = options?.fromOffset;
    if (typeof fromOffset !== 'number' || Number.isNaN(fromOffset)) {
      throw new InvalidArgumentError([{ field: 'fromOffset', rule: 'number', message: 'must be a number (an offset)' }]);
    }
    await this.#ready();
    const reader = new KafkaJsPartitionReader({
      kafka: this.#kafka,
      options: this.#options,
      logger: this.#logger,
      tp: { topic: tp.topic, partition: tp.partition },
      fromOffset,
      watermarks: (topic) => this.#watermarks(topic),
      deleteGroup: async (groupId) => {
        await this.#admin.deleteGroups([groupId]);
      },
      onClosed: (r) => this.#readers.delete(r),
    });
    // Registered before it joins: closing the transport meanwhile closes it too.
    this.#readers.add(reader);
    await reader.start();
    return reader;
  }

  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const member = this.#member;
    if (member === undefined) throw new StateError('commitOffsets needs a subscription (offsets are committed for its group)');
    await member.commitOffsets(offsets);
  }

  // ---- metadata -------------------------------------------------------------------------------

  async #watermarks(topic: string): Promise<Map<number, Watermarks>> {
    await this.#ready();
    const offsets = await this.#admin.fetchTopicOffsets(topic).catch(rethrowAs(`fetching the watermarks of ${topic}`));
    // kafkajs's ListOffsets defaults to read committed: `high` is the last stable offset.
    return new Map(offsets.map((o) => [o.partition, { low: Number(o.low), high: Number(o.high) }]));
  }

  async #committedOffsets(groupId: string, topic: string): Promise<Map<number, number>> {
    await this.#ready();
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

  async partitionCount(topic: string): Promise<number> {
    await this.#ready();
    const existing = await this.#admin.listTopics().catch(rethrowAs('listing topics'));
    if (!existing.includes(topic)) throw new TransportError(`topic ${topic} does not exist`, { retriable: false });
    const { topics } = await this.#admin.fetchTopicMetadata({ topics: [topic] }).catch(rethrowAs(`fetching the metadata of ${topic}`));
    const meta = topics.find((t) => t.name === topic);
    if (meta === undefined || meta.partitions.length === 0) throw new TransportError(`topic ${topic} does not exist`, { retriable: false });
    return meta.partitions.length;
  }

  // ---- producing ------------------------------------------------------------------------------

  async produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new StateError('the transport is closed');
    if (records.length === 0) return [];
    await this.#ready();
    const batch = this.#partitioner.prepare(records);
    const response = await this.#producer
      .sendBatch({ topicMessages: batch.topicMessages, acks: -1 })
      .catch(rethrowAs(`producing ${records.length} record(s) to ${[...new Set(records.map((r) => r.topic))].join(', ')}`));
    return this.#partitioner.metadata(batch, response);
  }

  produceNoWait(records: readonly ProduceRecord[], onError?: (error: unknown) => void): void {
    produceWithoutWaiting(() => this.produce(records), onError, this.#logger);
  }

  async createTransactionalProducer(transactionalId: string): Promise<TransactionalProducer> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new StateError('the transport is closed');
    if (typeof transactionalId !== 'string' || transactionalId.length === 0) {
      throw new InvalidArgumentError([{ field: 'transactionalId', rule: 'required', message: 'must be a non-empty string' }]);
    }
    const producer = new KafkaJsTransactionalProducer(
      this.#kafka,
      transactionalId,
      this.#options,
      this.#logger,
      (p) => this.#transactional.delete(p),
      async (topic) => {
        await this.#ready();
        return this.#admin.fetchTopicOffsets(topic);
      },
    );
    this.#transactional.add(producer);
    return producer;
  }
}
