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
    const lookup = this.#lookup;
    this.#lookup = undefined;
    await Promise.all([
      this.#producer.disconnect(this.#options.requestTimeoutMs).catch((error: unknown) => {
        this.logger.warn({ error }, 'disconnecting the producer failed');
      }),
      lookup?.then((consumer) => new Promise<void>((resolve) => consumer.disconnect(() => resolve()))).catch(() => {}),
    ]);
  }

  /**
   * A consumer for `offsetForTime` (node-rdkafka offers offsetsForTimes on consumers only),
   * connected on first use and kept until the transport disconnects. It joins no group.
   */
  #lookup: Promise<KafkaConsumer> | undefined;

  #lookupConsumer(): Promise<KafkaConsumer> {
    this.#lookup ??= (async () => {
      const consumer = createClient(
        'offset lookup',
        () =>
          new rdkafka.KafkaConsumer(readerConfig(this.#options, `${this.#options.clientId}-lookup-${randomUUID()}`) as never, {
            ...consumerTopicConfig,
          }),
      );
      forwardEvents(consumer, this.logger, 'lookup');
      await connectFailingFast(consumer, this.#options.connectionTimeoutMs);
      return consumer;
    })();
    const lookup = this.#lookup;
    lookup.catch(() => {
      if (this.#lookup === lookup) this.#lookup = undefined;
    });
    return lookup;
  }

  join(context: MemberContext): Promise<RdKafkaGroupMember> {
    return new RdKafkaGroupMember(context, this.#options).join();
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

  createTransactionalProducer(context: TransactionalContext): TransactionalProducer {
    return new RdKafkaTransactionalProducer(context, this.#options, this.#counts);
  }
}
