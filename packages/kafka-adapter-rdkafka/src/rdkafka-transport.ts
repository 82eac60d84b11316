/**
 * The ksched `Transport` port over node-rdkafka 3.6 (librdkafka 2.12).
 *
 * @module
 */
import type { ProduceRecord, RecordMetadata, TopicPartition, TransactionalProducer, Transport, Watermarks } from '@ksched/core';
import { createTransport, TransportDriverBase } from '@ksched/core/adapter';
import type { MemberContext, ReaderContext, TransactionalContext } from '@ksched/core/adapter';
import type { KafkaConsumer, Metadata, WatermarkOffsets } from 'node-rdkafka';
import { randomUUID } from 'node:crypto';
import { connectFailingFast, consumerTopicConfig, createClient, forwardEvents, producerConfig, readerConfig } from './internal/config.js';
import { RdKafkaGroupMember } from './internal/group-member.js';
import { GroupFencedProducer, MemberTransactions } from './internal/member-transactions.js';
import { rdkafka } from './internal/native.js';
import { RdKafkaPartitionReader } from './internal/partition-reader.js';
import { DeliveringProducer, PartitionCounts, prepareRecords } from './internal/producer.js';
import { retryTransient } from './internal/retry.js';
import { RdKafkaTransactionalProducer } from './internal/transactional-producer.js';
import { rdKafkaErrors, rethrowAs, toTransportError } from './map-errors.js';
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
  return createTransport(new RdKafkaDriver(parseRdKafkaTransportOptions(options)));
}

/** The producer of one transport (it also answers metadata and watermark queries); a consumer per member and per reader. */
class RdKafkaDriver extends TransportDriverBase<RdKafkaPartitionReader> {
  readonly #options: ResolvedRdKafkaTransportOptions;
  readonly #producer: DeliveringProducer;
  readonly #counts: PartitionCounts;
  /** The member's producers of transactions fenced by the group, by transactional id. */
  readonly #memberTransactions = new Map<string, MemberTransactions>();
  #member: RdKafkaGroupMember | undefined;

  constructor(options: ResolvedRdKafkaTransportOptions) {
    super(options, rdKafkaErrors);
    this.#options = options;
    this.#producer = createClient(
      'producer',
      () => new DeliveringProducer(producerConfig(options), options.logger, 'producer', options.pollIntervalMs),
    );
    this.#counts = new PartitionCounts((topic) => this.existingPartitionCount(topic), PARTITION_COUNT_TTL_MS);
  }

  protected async connectClients(): Promise<void> {
    await this.#producer.connect(this.#options.connectionTimeoutMs);
  }

  async disconnect(): Promise<void> {
    const lookups = [...this.#lookups.values()];
    this.#lookups.clear();
    const shared = [...this.#memberTransactions.values()];
    this.#memberTransactions.clear();
    await Promise.all(
      shared.map((m) =>
        m.close().catch((error: unknown) => this.logger.warn({ error }, "closing the member's transactional producer failed")),
      ),
    );
    await Promise.all([
      this.#producer.disconnect(this.#options.requestTimeoutMs).catch((error: unknown) => {
        this.logger.warn({ error }, 'disconnecting the producer failed');
      }),
      ...lookups.map((lookup) =>
        lookup.then((consumer) => new Promise<void>((resolve) => consumer.disconnect(() => resolve()))).catch(() => {}),
      ),
    ]);
  }

  /**
   * Consumers for `offsetForTime` (node-rdkafka offers offsetsForTimes on consumers only; read
   * committed) and for the high watermark of a partition with open transactions (read
   * uncommitted, transactions fenced by the group), each connected on first use and kept until
   * the transport disconnects. They join no group.
   */
  readonly #lookups = new Map<'read_committed' | 'read_uncommitted', Promise<KafkaConsumer>>();

  #lookupConsumer(isolation: 'read_committed' | 'read_uncommitted' = 'read_committed'): Promise<KafkaConsumer> {
    const existing = this.#lookups.get(isolation);
    if (existing !== undefined) return existing;
    const lookup = (async () => {
      const consumer = createClient(
        'offset lookup',
        () =>
          new rdkafka.KafkaConsumer(
            { ...readerConfig(this.#options, `${this.#options.clientId}-lookup-${randomUUID()}`), 'isolation.level': isolation } as never,
            { ...consumerTopicConfig },
          ),
      );
      forwardEvents(consumer, this.logger, 'lookup');
      await connectFailingFast(consumer, this.#options.connectionTimeoutMs);
      return consumer;
    })();
    this.#lookups.set(isolation, lookup);
    lookup.catch(() => {
      if (this.#lookups.get(isolation) === lookup) this.#lookups.delete(isolation);
    });
    return lookup;
  }

  join(context: MemberContext): Promise<RdKafkaGroupMember> {
    const member = new RdKafkaGroupMember(context, this.#options);
    this.#member = member;
    return member.join();
  }

  openReader(context: ReaderContext<RdKafkaPartitionReader>): Promise<RdKafkaPartitionReader> {
    return new RdKafkaPartitionReader(context, this.#options).open();
  }

  async fetchWatermarks(tp: TopicPartition): Promise<Watermarks> {
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

  async offsetForTime(tp: TopicPartition, timestampMs: number): Promise<number> {
    const [found, wm] = await Promise.all([
      retryTransient(async () => {
        const consumer = await this.#lookupConsumer();
        return new Promise<{ offset: number }[]>((resolve, reject) => {
          consumer.offsetsForTimes(
            [{ topic: tp.topic, partition: tp.partition, offset: timestampMs }],
            this.#options.requestTimeoutMs,
            (error, toppars) => (error ? reject(error) : resolve(toppars)),
          );
        });
      }, this.#options.requestTimeoutMs).catch(rethrowAs(`looking up the offset for a time in ${tp.topic}/${tp.partition}`)),
      this.fetchWatermarks(tp),
    ]);
    const offset = Number(found[0]?.offset);
    // librdkafka answers -1 (end) when no record is that recent.
    return Number.isFinite(offset) && offset >= 0 && offset < wm.high ? Math.max(offset, wm.low) : wm.high;
  }

  async partitionCount(topic: string): Promise<number | undefined> {
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
    return metadata.topics.find((t) => t.name === topic)?.partitions.length;
  }

  async produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    const prepared = await prepareRecords(records, this.#counts);
    try {
      return await this.#producer.send(prepared);
    } catch (error) {
      for (const r of records) this.#counts.forget(r.topic);
      throw toTransportError(error, `producing ${records.length} record(s) to ${[...new Set(records.map((r) => r.topic))].join(', ')}`);
    }
  }

  /** librdkafka sends the consumer's group metadata with `sendOffsetsToTransaction` (TxnOffsetCommit v3). */
  readonly groupFencedTransactions = true;

  createTransactionalProducer(context: TransactionalContext): TransactionalProducer {
    const tp = context.fencedByGroup;
    if (tp === undefined) return new RdKafkaTransactionalProducer(context, this.#options, this.#counts);
    let shared = this.#memberTransactions.get(context.transactionalId);
    if (shared === undefined) {
      shared = new MemberTransactions({
        transactionalId: context.transactionalId,
        options: this.#options,
        logger: this.logger,
        member: () => this.#member,
        highWatermark: (p) => this.#uncommittedHigh(p),
        stableOffset: async (p) => (await this.fetchWatermarks(p)).high,
      });
      this.#memberTransactions.set(context.transactionalId, shared);
    }
    return new GroupFencedProducer({ ...context, fencedByGroup: tp }, this.#options, this.#counts, shared);
  }

  /** The high watermark of `tp` with open transactions counted (read uncommitted). */
  async #uncommittedHigh(tp: TopicPartition): Promise<number> {
    const offsets = await retryTransient(async () => {
      const consumer = await this.#lookupConsumer('read_uncommitted');
      return new Promise<WatermarkOffsets>((resolve, reject) => {
        consumer.queryWatermarkOffsets(tp.topic, tp.partition, this.#options.requestTimeoutMs, (error, result) =>
          error ? reject(error) : resolve(result),
        );
      });
    }, this.#options.requestTimeoutMs).catch(rethrowAs(`fetching the high watermark of ${tp.topic}/${tp.partition}`));
    return Number(offsets.highOffset);
  }
}
