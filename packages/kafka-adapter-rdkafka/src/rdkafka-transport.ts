/**
 * The ksched `Transport` port over node-rdkafka 3.6 (librdkafka 2.12).
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import type {
  Logger,
  ProduceRecord,
  RecordMetadata,
  SubscribeOptions,
  TopicPartition,
  TransactionalProducer,
  Transport,
  Watermarks,
} from '@ksched/core';
import { createTransport } from '@ksched/core/adapter';
import type { GroupMemberHandle, Tracker, TransportDriver } from '@ksched/core/adapter';
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
  return createTransport(new RdKafkaDriver(parseRdKafkaTransportOptions(options)));
}

/** The producer of one transport (it also answers metadata and watermark queries); a consumer per member and per reader. */
class RdKafkaDriver implements TransportDriver<RdKafkaPartitionReader> {
  readonly logger: Logger;
  readonly #options: ResolvedRdKafkaTransportOptions;
  readonly #producer: DeliveringProducer;
  readonly #counts: PartitionCounts;
  #ready: () => Promise<void> = async () => {};

  constructor(options: ResolvedRdKafkaTransportOptions) {
    this.#options = options;
    this.logger = options.logger;
    this.#producer = createClient(
      'producer',
      () => new DeliveringProducer(producerConfig(options), options.logger, 'producer', options.pollIntervalMs),
    );
    this.#counts = new PartitionCounts(async (topic) => {
      await this.#ready();
      return this.partitionCount(topic);
    }, PARTITION_COUNT_TTL_MS);
  }

  attach(shell: { ready(): Promise<void> }): void {
    this.#ready = () => shell.ready();
  }

  async connect(): Promise<void> {
    const target = `connecting to ${this.#options.brokers.join(',')}`;
    await this.#producer.connect(this.#options.connectionTimeoutMs).catch(rethrowAs(target));
  }

  async disconnect(): Promise<void> {
    await this.#producer.disconnect(this.#options.requestTimeoutMs).catch((error: unknown) => {
      this.logger.warn({ error }, 'disconnecting the producer failed');
    });
  }

  async join(options: SubscribeOptions, members: Tracker<GroupMemberHandle>): Promise<GroupMemberHandle> {
    const member = RdKafkaGroupMember.create({
      options: this.#options,
      logger: this.logger,
      groupId: options.groupId,
      topics: options.topics,
      listener: options.listener,
      watermarks: async (tp) => {
        await this.#ready();
        return this.fetchWatermarks(tp);
      },
      onClosed: (m) => members.delete(m),
    });
    members.add(member);
    await member.start();
    return member;
  }

  async openReader(tp: TopicPartition, fromOffset: number, readers: Tracker<RdKafkaPartitionReader>): Promise<RdKafkaPartitionReader> {
    const wm = await this.fetchWatermarks(tp);
    const reader = await RdKafkaPartitionReader.open({
      options: this.#options,
      logger: this.logger,
      tp,
      start: Math.min(Math.max(fromOffset, wm.low), wm.high),
      onClosed: (r) => readers.delete(r),
    });
    readers.add(reader);
    return reader;
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

  async partitionCount(topic: string): Promise<number> {
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

  async produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    const prepared = await prepareRecords(records, this.#counts);
    try {
      return await this.#producer.send(prepared);
    } catch (error) {
      for (const r of records) this.#counts.forget(r.topic);
      throw toTransportError(error, `producing ${records.length} record(s) to ${[...new Set(records.map((r) => r.topic))].join(', ')}`);
    }
  }

  createTransactionalProducer(transactionalId: string, producers: Tracker<TransactionalProducer>): TransactionalProducer {
    return new RdKafkaTransactionalProducer(transactionalId, this.#options, this.logger, this.#counts, (p) => producers.delete(p));
  }
}
