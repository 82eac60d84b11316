/**
 * The FakeBroker: an in-memory Kafka cluster for tests.
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import type { ConsumedRecord, HeaderValue, RecordMetadata, TopicPartition } from '@ksched/core';
import { sameHeaderValue } from '@ksched/core/adapter';
import { isVisible, toConsumed, tpKey } from '../internal/partition-log.js';
import { Cluster, registerCluster } from './delivery.js';
import { createFaults } from './faults.js';
import type { FakeBrokerFaults } from './faults.js';
import { Client, sortedTps } from './model.js';
import { FakeTransport } from './transport.js';
import type {
  CompactOptions,
  CreateTopicOptions,
  FakeBrokerOptions,
  FakeTransportOptions,
  FakeWatermarks,
  MemberAssignment,
  OffsetCommit,
  ProducedRecord,
  RawRecord,
  StoredRecord,
} from './types.js';

/**
 * An in-memory Kafka cluster. Create topics, then members with {@link FakeBroker.createTransport};
 * inspect what happened with {@link FakeBroker.produced}, {@link FakeBroker.commits},
 * {@link FakeBroker.records} and {@link FakeBroker.readCommitted}; inject failures with
 * {@link FakeBroker.faults}; wait for quiescence with {@link FakeBroker.settle}.
 *
 * Semantics the ksched engine relies on:
 * - offsets increase monotonically per partition; transaction markers take offsets and are never
 *   delivered; compaction leaves gaps;
 * - consumers always read committed: `high` (and each batch's `highWatermark`) is the last stable
 *   offset, which stops before the first record of the earliest open transaction;
 * - each assigned partition is delivered in batches from the member's position, one at a time
 *   (the next after `onBatch` settled); reaching the end delivers one empty batch (EOF notice)
 *   per arrival; records produced later wake delivery up;
 * - assigned partitions start at the low watermark (committed offsets are informational);
 * - delivery runs on `setImmediate` turns, never on timers (unless {@link FakeBrokerOptions.readSpeed}
 *   is set: then a batch waits for its read time on the broker clock), so {@link FakeBroker.settle} (or
 *   `clock.tickAsync`) lets everything run without real waiting.
 *
 * Gotchas:
 * - Unlike Kafka, compaction moves the low watermark to the first surviving record.
 * - Listener errors go to `onError`; without one they are rethrown asynchronously (the test fails).
 * - Operations before `connect()` or after `close()` reject with a `TransportError`.
 *
 * @example
 * ```ts
 * const broker = new FakeBroker({ clock });
 * broker.createTopic('scheduled_messages', { partitions: 3, compacted: true });
 * const transport = broker.createTransport({ clientId: 'a', clock });
 * await transport.connect();
 * await transport.produce([{ topic: 'scheduled_messages', key: 'k', value: 'v' }]);
 * await transport.subscribe({ groupId: 'ksched', topics: ['scheduled_messages'], listener });
 * await broker.settle();
 * ```
 */
export class FakeBroker {
  readonly #cluster: Cluster;
  readonly #faults: FakeBrokerFaults;
  /** The producer of {@link FakeBroker.appendRaw} (not counted in the members' default client ids). */
  #rawClient: Client | undefined;

  constructor(options: FakeBrokerOptions = {}) {
    const cluster = new Cluster(options);
    this.#cluster = cluster;
    registerCluster(this, cluster);
    this.#faults = createFaults({
      produceFaults: cluster.produceFaults,
      refusals: cluster.refusals,
      commitFaults: cluster.commitFaults,
      pauses: cluster.pauses,
      dropMember: (transport) => {
        if (!(transport instanceof FakeTransport)) throw new TypeError('dropMember: not a FakeTransport');
        const m = transport.membership();
        return m ? cluster.drop(m) : Promise.resolve();
      },
    });
  }

  /** Fault injection hooks. */
  get faults(): FakeBrokerFaults {
    return this.#faults;
  }

  /** Every record ever appended, in append order, including aborted ones and ones compacted away. */
  get produced(): readonly ProducedRecord[] {
    return this.#cluster.produced;
  }

  /** Every successful `commitOffsets` call, in order. */
  get commits(): readonly OffsetCommit[] {
    return this.#cluster.commits;
  }

  /**
   * Appends one record as a producer outside the test would (client id `fake-broker`, not
   * transactional), its headers a list of `[name, value]` pairs in record order so that a name can
   * occur more than once, as Kafka allows and a `ProduceRecord` cannot say. Consumers then get what
   * the real adapters give: the last value of each name in `headers`, and the names given with
   * different values in `repeatedHeaders` (a name repeated with one value is not listed).
   * Partitioning, validation and produce faults are those of `produce`.
   *
   * @throws TransportError for an unknown topic or partition or an invalid record (or a produce fault's error).
   */
  appendRaw(record: RawRecord): RecordMetadata {
    const headers: Record<string, HeaderValue> = {};
    const repeated: string[] = [];
    for (const [name, value] of record.headers ?? []) {
      if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
        throw new TransportError(`header ${name} must be a string or a Uint8Array, got ${typeof value}`);
      }
      if (Object.hasOwn(headers, name) && !sameHeaderValue(headers[name], value) && !repeated.includes(name)) repeated.push(name);
      headers[name] = value;
    }
    this.#rawClient ??= new Client('fake-broker', this.#cluster.clock, this.#cluster.maxBatchSize);
    return this.#cluster.append(this.#rawClient, { ...record, headers }, 'produce', null, repeated);
  }

  /**
   * Creates a topic; groups subscribed to it rebalance.
   *
   * @throws TransportError when the topic exists or the name is invalid; RangeError for a bad partition count.
   */
  createTopic(name: string, options: CreateTopicOptions): void {
    this.#cluster.createTopic(name, options);
  }

  /** Whether the topic exists. */
  hasTopic(name: string): boolean {
    return this.#cluster.topics.has(name);
  }

  /** @throws TransportError for an unknown topic. */
  partitionCount(topic: string): number {
    return this.#cluster.topic(topic).logs.length;
  }

  /** A new member (not yet connected). */
  createTransport(options: FakeTransportOptions = {}): FakeTransport {
    return new FakeTransport(this, options);
  }

  /**
   * Current watermarks of a partition: `high` is the last stable offset (what consumers see),
   * `logEndOffset` includes open transactions.
   *
   * @throws TransportError for an unknown topic or partition.
   */
  watermarks(tp: TopicPartition): FakeWatermarks {
    const log = this.#cluster.log(tp);
    return { low: log.low, high: log.lastStable, logEndOffset: log.end };
  }

  /**
   * Compacts a compacted topic now, like Kafka's log cleaner: in the stable part of each partition
   * (below the last stable offset) only the latest record per key stays, aborted records go,
   * tombstones and transaction markers older than `tombstoneRetentionMs` go. Offsets of survivors
   * do not change; the low watermark moves to the first survivor. Members positioned below it skip
   * ahead. Returns how many entries were removed.
   *
   * @throws TransportError when the topic does not exist or is not compacted.
   */
  compact(topic: string, options: CompactOptions = {}): number {
    return this.#cluster.compact(topic, options);
  }

  /**
   * Removes every entry below `beforeOffset` and moves the low watermark there, like Kafka's
   * DeleteRecords (or retention).
   *
   * @throws RangeError when `beforeOffset` is above the last stable offset.
   */
  deleteRecords(tp: TopicPartition, beforeOffset: number): void {
    this.#cluster.deleteRecords(tp, beforeOffset);
  }

  /**
   * Stored data records (and with `includeControl`, transaction markers) of a topic or partition,
   * by partition then offset, with their transaction state. A snapshot: later changes are not reflected.
   */
  records(topic: string, partition?: number, options: { readonly includeControl?: boolean } = {}): StoredRecord[] {
    const out: StoredRecord[] = [];
    for (const log of this.#cluster.logsOf(topic, partition)) {
      for (const entry of log.entries) {
        if (entry.control !== null && options.includeControl !== true) continue;
        out.push({
          ...toConsumed(log, entry),
          control: entry.control,
          transactionalId: entry.txn?.transactionalId ?? null,
          transaction: entry.txn ? entry.txn.state : 'none',
        });
      }
    }
    return out;
  }

  /** What a read-committed consumer reading from the beginning sees now, by partition then offset. */
  readCommitted(topic: string, partition?: number): ConsumedRecord[] {
    const out: ConsumedRecord[] = [];
    for (const log of this.#cluster.logsOf(topic, partition)) {
      const lso = log.lastStable;
      for (const entry of log.entries) {
        if (entry.offset >= lso) break;
        if (isVisible(entry)) out.push(toConsumed(log, entry));
      }
    }
    return out;
  }

  /** The offset last committed by the group for a partition, if any. */
  committedOffset(groupId: string, tp: TopicPartition): number | undefined {
    return this.#cluster.committed.get(groupId)?.get(tpKey(tp.topic, tp.partition));
  }

  /** Members of a group in join order, with the partitions each owns now (sorted). */
  assignment(groupId: string): MemberAssignment[] {
    const group = this.#cluster.groups.get(groupId);
    if (group === undefined) return [];
    return group.members
      .filter((m) => m.state === 'active' || m.state === 'leaving')
      .map((m) => ({
        clientId: m.client.clientId,
        memberId: m.memberId,
        partitions: sortedTps(m.assigned.values()),
      }));
  }

  /**
   * Resolves once the broker is quiescent: no rebalance running, every member's callbacks settled,
   * and everything deliverable delivered (EOF notices included). Paused transactions do not count,
   * nor do batches waiting for their read time on the clock ({@link FakeBrokerOptions.readSpeed}).
   *
   * @throws Error listing what is still busy after `timeoutMs` real milliseconds (default from
   * {@link FakeBrokerOptions.settleTimeoutMs}), e.g. an `onBatch` awaiting a FakeClock timer.
   */
  settle(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    return this.#cluster.settle(options.timeoutMs ?? this.#cluster.settleTimeoutMs);
  }

  /** Alias of {@link FakeBroker.settle}. */
  idle(options: { readonly timeoutMs?: number } = {}): Promise<void> {
    return this.settle(options);
  }
}
