/**
 * The ksched `Transport` port over node-rdkafka 3.6 (librdkafka 2.12).
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
import type { Metadata, WatermarkOffsets } from 'node-rdkafka';
import { createClient, producerConfig } from './internal/config.js';
import { RdKafkaGroupMember } from './internal/group-member.js';
import { RdKafkaPartitionReader } from './internal/partition-reader.js';
import { DeliveringProducer, PartitionCounts, prepareRecords } from './internal/producer.js';
import { retryTransient } from './internal/retry.js';
import { RdKafkaTransactionalProducer } from './internal/transactional-producer.js';
import { rethrowAs, toTransportError } from './map-errors.js';
import { parseRdKafkaTransportOptions } from './options.js';
import type { RdKafkaTransportOptions, ResolvedRdKafkaTransportOptions } from './options.js';

/** How long a topic's partition count is trusted for `partitionKey` hashing, ms. */
const PARTITION_COUNT_TTL_MS = 30_000;

/**
 * Creates a ksched `Transport` over node-rdkafka: one consumer-group member (read committed,
 * manual offsets, EOF events) with an idempotent producer (acks = all, murmur2 partitioner).
 *
 * - Partitioning: explicit `partition` > Java-compatible murmur2 of `partitionKey` (core's
 *   `partitionForKey` over the topic's cached partition count) > librdkafka's `murmur2_random` of
 *   `key` (the same hash) > random (keyless).
 * - Group callbacks: the classic eager protocol by default, or the incremental one with
 *   `partitionAssignmentStrategy: 'cooperative-sticky'` (only moved partitions are revoked);
 *   `onRevoked` is awaited before librdkafka gives the partitions up; new partitions are paused
 *   until `onAssigned` settled.
 * - EOF: an empty batch whenever librdkafka reports the end of a partition (also for an empty
 *   partition and a log ending in a transaction marker), with `position` = the end offset.
 * - `openReader`: a consumer of its own per reader, `assign()`ed only (no group join), read
 *   committed, large batches read one ahead.
 *
 * @throws ConfigError (`KSM_CONFIG`) for invalid options, naming each setting.
 *
 * @example
 * ```ts
 * const transport = createRdKafkaTransport({ brokers: ['127.0.0.1:19092'], clientId: 'ksched' });
 * await transport.connect();
 * const subscription = await transport.subscribe({ groupId: 'ksched', topics: ['scheduled_messages'], listener });
 * // …
 * await transport.close();
 * ```
 *
 * Gotchas: one transport is one group member (`subscribe` once). Header values must be NUL-free
 * UTF-8 (node-rdkafka 3.6 cannot produce other bytes unchanged; such records are refused with an
 * `UnsupportedError`). Every waiting `consume` call, seek, watermark query and transaction call
 * holds a libuv thread-pool thread (4 by default: raise `UV_THREADPOOL_SIZE` when running several
 * transports in one process).
 */
export function createRdKafkaTransport(options: RdKafkaTransportOptions): Transport {
  return new RdKafkaTransport(parseRdKafkaTransportOptions(options));
}

type Lifecycle = 'idle' | 'connecting' | 'connected' | 'closing' | 'closed';

class RdKafkaTransport implements Transport {
  readonly specificationVersion = 'v1' as const;
  readonly #options: ResolvedRdKafkaTransportOptions;
  readonly #logger: Logger;
  readonly #producer: DeliveringProducer;
  readonly #counts: PartitionCounts;
  readonly #transactional = new Set<RdKafkaTransactionalProducer>();
  readonly #readers = new Set<RdKafkaPartitionReader>();
  #member: RdKafkaGroupMember | undefined;
  #subscribing = false;
  #state: Lifecycle = 'idle';
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ResolvedRdKafkaTransportOptions) {
    this.#options = options;
    this.#logger = options.logger;
    this.#producer = createClient(
      'producer',
      () => new DeliveringProducer(producerConfig(options), options.logger, 'producer', options.pollIntervalMs),
    );
    this.#counts = new PartitionCounts((topic) => this.partitionCount(topic), PARTITION_COUNT_TTL_MS);
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  connect(): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') return Promise.reject(new StateError('the transport is closed'));
    this.#connecting ??= (async () => {
      this.#state = 'connecting';
      try {
        await this.#producer.connect(this.#options.connectionTimeoutMs);
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
    if (this.#state === 'closing' || this.#state === 'closed') throw new StateError('the transport is closed');
    await this.connect();
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      await this.#connecting?.catch(() => {});
      await this.#member?.close();
      await Promise.all([...this.#readers].map((r) => r.close()));
      await Promise.all([...this.#transactional].map((p) => p.close()));
      await this.#producer.disconnect(this.#options.requestTimeoutMs).catch((error: unknown) => {
        this.#logger.warn({ error }, 'disconnecting the producer failed');
      });
      this.#state = 'closed';
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
      const member = await RdKafkaGroupMember.start({
        options: this.#options,
        logger: this.#logger,
        groupId: options.groupId,
        topics: options.topics,
        listener: options.listener,
        watermarks: (tp) => this.fetchWatermarks(tp),
        onClosed: (m) => {
          if (this.#member === m) this.#member = undefined;
        },
      });
      this.#member = member;
      return member;
    } finally {
      this.#subscribing = false;
    }
  }

  async seekToBeginning(tp: TopicPartition): Promise<Watermarks> {
    const member = this.#member;
    if (member === undefined) {
      throw new TransportError(`seekToBeginning(${tp.topic}/${tp.partition}) needs a subscription that owns the partition`, {
        retriable: false,
      });
    }
    return member.seekToBeginning(tp);
  }

  async seek(tp: TopicPartition, offset: number): Promise<Watermarks> {
    if (!Number.isSafeInteger(offset)) {
      throw new InvalidArgumentError([
        { field: 'offset', rule: 'integer', message: `needs to be an integer offset, got ${String(offset)}` },
      ]);
    }
    const member = this.#member;
    if (member === undefined) {
      throw new TransportError(`seek(${tp.topic}/${tp.partition}) needs a subscription that owns the partition`, { retriable: false });
    }
    return member.seek(tp, offset);
  }

  async openReader(tp: TopicPartition, options: { readonly fromOffset: number }): Promise<PartitionReader> {
    const fromOffset = options?.fromOffset;
    if (!Number.isSafeInteger(fromOffset)) {
      throw new InvalidArgumentError([
        { field: 'fromOffset', rule: 'integer', message: `needs to be an integer offset, got ${String(fromOffset)}` },
      ]);
    }
    await this.#ready();
    const wm = await this.fetchWatermarks(tp);
    if (this.#state !== 'connected') throw new StateError('the transport is closed');
    const reader = await RdKafkaPartitionReader.open({
      options: this.#options,
      logger: this.#logger,
      tp: { topic: tp.topic, partition: tp.partition },
      start: Math.min(Math.max(fromOffset, wm.low), wm.high),
      onClosed: (r) => this.#readers.delete(r),
    });
    this.#readers.add(reader);
    if (this.#state !== 'connected') {
      await reader.close();
      throw new StateError('the transport is closed');
    }
    return reader;
  }

  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const member = this.#member;
    if (member === undefined) throw new StateError('commitOffsets needs a subscription (offsets are committed for its group)');
    await member.commitOffsets(offsets);
  }

  // ---- metadata -------------------------------------------------------------------------------

  async fetchWatermarks(tp: TopicPartition): Promise<Watermarks> {
    await this.#ready();
    // The producer's ListOffsets uses librdkafka's default isolation level, read committed: `high` is the last stable offset.
    const offsets = await retryTransient(
      () =>
        new Promise<WatermarkOffsets>((resolve, reject) => {
          this.#producer.client.queryWatermarkOffsets(tp.topic, tp.partition, this.#options.requestTimeoutMs, (error, result) =>
            error ? reject(error) : resolve(result),
          );
        }),
      this.#options.requestTimeoutMs,
    ).catch(rethrowAs(`fetching the watermarks of ${tp.topic}/${tp.partition}`));
    return { low: Number(offsets.lowOffset), high: Number(offsets.highOffset) };
  }

  async partitionCount(topic: string): Promise<number> {
    await this.#ready();
    // All topics: asking for one topic by name would let the broker auto-create it.
    const metadata = await retryTransient(
      () =>
        new Promise<Metadata>((resolve, reject) => {
          this.#producer.client.getMetadata({ allTopics: true, timeout: this.#options.requestTimeoutMs }, (error, result) =>
            error ? reject(error) : resolve(result),
          );
        }),
      this.#options.requestTimeoutMs,
    ).catch(rethrowAs(`fetching the metadata of ${topic}`));
    const meta = metadata.topics.find((t) => t.name === topic);
    if (meta === undefined || meta.partitions.length === 0) throw new TransportError(`topic ${topic} does not exist`, { retriable: false });
    return meta.partitions.length;
  }

  // ---- producing ------------------------------------------------------------------------------

  async produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new StateError('the transport is closed');
    if (records.length === 0) return [];
    await this.#ready();
    const prepared = await prepareRecords(records, this.#counts);
    try {
      return await this.#producer.send(prepared);
    } catch (error) {
      for (const r of records) this.#counts.forget(r.topic);
      throw toTransportError(error, `producing ${records.length} record(s) to ${[...new Set(records.map((r) => r.topic))].join(', ')}`);
    }
  }

  produceNoWait(records: readonly ProduceRecord[], onError?: (error: unknown) => void): void {
    produceWithoutWaiting(() => this.produce(records), onError, this.#logger);
  }

  async createTransactionalProducer(transactionalId: string): Promise<TransactionalProducer> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new StateError('the transport is closed');
    if (typeof transactionalId !== 'string' || transactionalId.length === 0) {
      throw new InvalidArgumentError([{ field: 'transactionalId', rule: 'required', message: 'must be a non-empty string' }]);
    }
    const producer = new RdKafkaTransactionalProducer(transactionalId, this.#options, this.#logger, this.#counts, (p) =>
      this.#transactional.delete(p),
    );
    this.#transactional.add(producer);
    return producer;
  }
}
