/**
 * The Kafka port. `@ksched/core` never talks to a Kafka client: the engine asks a `Transport`
 * for exactly the operations below, and each adapter (`@ksched/kafka-adapter-kafkajs`,
 * `@ksched/kafka-adapter-rdkafka`, the testkit's `FakeBroker`) implements them over its client.
 *
 * The testkit's `describeTransportConformance` states this contract as tests; an adapter is
 * correct for the engine when it passes that suite.
 *
 * @remarks
 * Deliberately **not** in the contract:
 * - topic administration (creating and verifying topics is an adapter feature, not something the
 *   engine needs while running);
 * - consumer offset *recovery*: committed offsets are informational, the engine always re-reads a
 *   partition from its logical beginning;
 * - read-uncommitted consumption: a transport always consumes with `isolation.level =
 *   read_committed`, so a record of an aborted transaction never reaches the engine;
 * - multi-valued headers: when a record carries one header name more than once, the last value
 *   wins in {@link ConsumedRecord.headers}; the names repeated with *different* values are listed
 *   in {@link ConsumedRecord.repeatedHeaders} (core's decoder refuses a schedules-topic record
 *   whose own `schedule_*` headers are listed there: `duplicate_header`).
 *
 * @module
 */
import type { Logger } from './logger.js';

/** A header value as it travels: text (UTF-8 on the wire) or raw bytes, passed through as-is. */
export type HeaderValue = string | Uint8Array;

/** Record headers by name. */
export type RecordHeaders = Readonly<Record<string, HeaderValue>>;

/** A topic and a partition number. */
export interface TopicPartition {
  readonly topic: string;
  readonly partition: number;
}

/** A topic, partition and offset, e.g. for an offset commit (the offset of the *next* record). */
export interface TopicPartitionOffset extends TopicPartition {
  readonly offset: number;
}

/**
 * Offsets bounding a partition's log as a read-committed consumer sees it.
 * `low` is the logical beginning (it can be above 0 after compaction or retention); `high` is the
 * end offset, i.e. the offset the *next* produced record will get (the last stable offset under
 * read committed). An empty partition has `low === high`. On a real broker `low` moves up through
 * retention or DeleteRecords (compaction alone keeps the first segment's base offset), which is why
 * a reader seeks to `low` and never to literal offset 0.
 */
export interface Watermarks {
  readonly low: number;
  readonly high: number;
}

/**
 * A record as the engine receives it from the schedules topic. Its bytes may be views into the
 * client's fetch buffers (the kafkajs adapter hands them out without copying): copy what you keep
 * for long, or you keep the whole fetched batch alive.
 */
export interface ConsumedRecord extends TopicPartition {
  /** Offset in the partition. Offsets increase but are **not** contiguous (compaction, markers). */
  readonly offset: number;
  /** Record key bytes, `null` for a keyless record. */
  readonly key: Uint8Array | null;
  /** Record value bytes, `null` for a Kafka tombstone. */
  readonly value: Uint8Array | null;
  /**
   * Header values as the client gives them: real clients give bytes, fakes may give text.
   * Readers decode with core's `headerText`; values are passed through unchanged when copied.
   */
  readonly headers: RecordHeaders;
  /**
   * Names of the headers the record carries more than once with **different** values, each name
   * once; absent (not an empty list) when there are none, which is nearly always. `headers` then
   * holds the **last** value of each such name. A name repeated with the same value every time is
   * not listed (it reads the same whichever value wins). Transports fill it when they consume; a
   * record without it is read as having no such header.
   */
  readonly repeatedHeaders?: readonly string[];
  /** The record's timestamp (CreateTime), Unix epoch milliseconds. */
  readonly timestamp: number;
}

/**
 * A record to produce. Partition choice, in order: an explicit `partition`; else the Java-compatible
 * murmur2 hash of `partitionKey`; else of `key`; else the adapter's choice (keyless records).
 */
export interface ProduceRecord {
  readonly topic: string;
  readonly key: string | Uint8Array | null;
  readonly value: string | Uint8Array | null;
  readonly headers?: RecordHeaders;
  readonly partition?: number;
  /** Hashed (murmur2, like `key`) to choose the partition when no `partition` is given. */
  readonly partitionKey?: string;
  /** CreateTime to set, Unix epoch milliseconds; the broker's clock when absent. */
  readonly timestamp?: number;
}

/** Where a produced record landed. */
export interface RecordMetadata extends TopicPartition {
  /** The record's offset; `-1` when the client does not report it. */
  readonly offset: number;
}

/**
 * One delivery of records from one assigned partition.
 *
 * After a batch is handled the consumer's position is `position`: the next offset it will fetch.
 * Transaction markers and compaction gaps are accounted for in `position`, so comparing
 * `position` with a partition's end offset is how the engine knows it has read everything.
 * A transport delivers a batch with **no records** when it learns that its position reached the
 * end of the partition without new records (EOF), so that a log ending in transaction markers,
 * or an empty log, is seen to be read completely.
 */
export interface PartitionBatch extends TopicPartition {
  /** Records in offset order; only committed records (read committed). */
  readonly records: readonly ConsumedRecord[];
  /** The consumer's position after this batch: the next offset to fetch. */
  readonly position: number;
  /**
   * The partition's end offset when this batch was fetched, if the client reports it. Under read
   * committed this is the last stable offset; a client that only knows the high watermark (above
   * the LSO while a transaction is open) must not report it here.
   */
  readonly highWatermark?: number;
}

/**
 * What a group member is told. Callbacks are awaited in order: a transport does not deliver a
 * partition's next batch before `onBatch` for the previous one has settled, and does not
 * deliver batches of a partition before `onAssigned` for it has settled nor after `onRevoked`
 * for it has been called.
 */
export interface GroupListener {
  /**
   * Partitions newly assigned to this member. Where their consumption starts is unspecified until
   * the engine calls {@link Transport.seekToBeginning} (it does so here); a transport may deliver
   * batches from its default position before that, and the engine ignores them.
   */
  onAssigned(partitions: readonly TopicPartition[]): Promise<void> | void;
  /**
   * Partitions taken away from this member (rebalance, or leaving the group). The transport waits
   * for this to settle before giving the partitions up, so in-flight work can finish or abort.
   */
  onRevoked(partitions: readonly TopicPartition[]): Promise<void> | void;
  /**
   * Records (or an EOF notice) from an assigned partition. An EOF notice may repeat while the
   * partition stays idle. Rejecting is an error (reported to `onError`); the transport redelivers
   * the same batch a bounded number of times, then stops that partition until its next seek.
   */
  onBatch(batch: PartitionBatch): Promise<void> | void;
  /**
   * The member completed a join of its group (the first one, and each rebalance after it):
   * `partitions` is its whole assignment now, possibly **empty** (a standby member: the group has
   * more members than partitions). Called after the `onRevoked` / `onAssigned` of that join have
   * settled, on the same ordered chain; it tells a member that has joined with nothing apart from
   * one that has not joined yet. Optional: a listener without it misses nothing else.
   */
  onJoined?(partitions: readonly TopicPartition[]): Promise<void> | void;
  /** Client errors that the transport could not handle itself (the member keeps running when it can). */
  onError?(error: unknown): void;
}

/** Joining a consumer group. */
export interface SubscribeOptions {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly listener: GroupListener;
}

/** A running group membership. */
export interface Subscription {
  /** Leaves the group promptly (revoking every partition first) and stops consuming. */
  close(): Promise<void>;
}

/**
 * A reader of one partition outside the consumer group (see {@link Transport.openReader}). Pull
 * based: nothing is fetched beyond what the reader buffers ahead while the caller handles a batch.
 */
export interface PartitionReader extends TopicPartition {
  /**
   * The next records from the reader's position, in offset order, committed records only, with
   * `position` the next offset to read (transaction markers and compaction gaps accounted for,
   * like {@link PartitionBatch.position}). When the reader is at the partition's read-committed
   * end, resolves with **no records** and `position` = that end offset, after waiting at most
   * about one fetch wait (a second or so) for new records; so a caller reading "up to end offset
   * E" stops when `position >= E`, including when E is reached through trailing markers. Calls
   * must not overlap. Rejects with a `TransportError` when the client fails for good, or once
   * the reader is closed.
   */
  read(): Promise<PartitionBatch>;
  /** Stops fetching and releases the reader's connections; a pending `read` rejects. Idempotent. */
  close(): Promise<void>;
}

/**
 * A producer bound to one transactional id. Initialising it fences every earlier producer with the
 * same id (their later commits fail) and waits for their open transaction to be aborted, which is
 * how a partition's new owner makes sure what it loads is final (design note: fencing by partition).
 */
export interface TransactionalProducer {
  readonly transactionalId: string;
  /**
   * Set when the producer is fenced by the consumer group rather than by its id (see
   * {@link TransactionalProducerOptions.fencedByGroup}): the partition whose transactions it runs.
   */
  readonly fencedByGroup?: TopicPartition;
  /** Registers the id with the transaction coordinator, fencing older producers. Call once before `send`. */
  init(): Promise<void>;
  /**
   * Produces `records` in one transaction: begin, send, commit. On a failure before the commit the
   * transaction is aborted and the promise rejects; none of the records is then visible to
   * read-committed readers. When the commit itself fails the outcome can be unknown (the
   * coordinator may have decided to commit before the answer was lost): a new producer's `init()`
   * for the same id settles it (completing a decided commit, aborting anything else), after which
   * the log tells which it was. The engine does exactly that before it retries.
   * It resolves once the commit is acknowledged; the coordinator writes the commit markers just
   * after, so read-committed readers (and `fetchWatermarks`) may see the records a moment later.
   */
  sendInTransaction(records: readonly ProduceRecord[], options?: SendInTransactionOptions): Promise<RecordMetadata[]>;
  /** Aborts an open transaction, if any, and disconnects. */
  close(): Promise<void>;
}

/** Options of {@link Transport.produce}. */
export interface ProduceOptions {
  /**
   * Send these records in a request of their own, never joined with other produce calls, so that
   * a failure is theirs alone. The engine sets it while it isolates a failing schedule (one
   * schedule per call), so another partition's bad record cannot fail its calls, nor its bad
   * record anyone else's, more than once.
   */
  readonly alone?: boolean;
}

/** Options of {@link TransactionalProducer.sendInTransaction}. */
export interface SendInTransactionOptions {
  /**
   * After the commit, wait until read-committed readers see the records of these topics only
   * (default: every topic written; `[]`: no wait at all). Waiting on target topics gains nothing
   * and can take long, because another producer's open transaction there (a stalled previous
   * owner's) holds their last stable offset back. The engine passes `[]`: it never reads its own
   * partition right after a commit without first initialising a producer with the same
   * transactional id, and the coordinator answers that InitProducerId only once the markers of
   * the last commit are written.
   */
  readonly readableTopics?: readonly string[];
  /**
   * A producer fenced by the group ({@link TransactionalProducerOptions.fencedByGroup}) commits
   * this consumed position of its partition for the group in the same transaction. Default: the
   * position last committed this way (the commit is the fence; its value is informational).
   */
  readonly position?: number;
}

/** Options of {@link Transport.createTransactionalProducer}. */
export interface TransactionalProducerOptions {
  /**
   * Fence by the consumer group instead of by the transactional id (Kafka's exactly-once v2,
   * KIP-447), for this partition of the transport's subscription. Every such producer of a
   * transport with the same `transactionalId` (the member's, unique per member) shares one
   * client, and concurrent transactions of several partitions may be joined into one. Each
   * transaction also commits its partition's consumed position with the consumer's group
   * metadata, so a member that lost the partition in a rebalance cannot commit. `init()` waits
   * until the partition's committed position is stable (no transactional offset commit of an
   * earlier owner pending), so once it resolves an earlier owner's last transaction is settled,
   * and what a read-committed read of the partition returns is final. Needs
   * {@link Transport.groupFencedTransactions}; other transports reject with an `UnsupportedError`.
   */
  readonly fencedByGroup?: TopicPartition;
}

/**
 * The Kafka operations the ksched engine needs. One `Transport` is one group member with its own
 * consumer and producer.
 *
 * @example
 * ```ts
 * const transport: Transport = createKafkaJsTransport({ brokers: ['127.0.0.1:19092'] });
 * await transport.connect();
 * const sub = await transport.subscribe({ groupId: 'ksched', topics: ['scheduled_messages'], listener });
 * ```
 */
export interface Transport {
  /** Which version of this contract the adapter implements. */
  readonly specificationVersion: 'v1';

  /** Connects the producer (and whatever else the adapter needs before `subscribe`). */
  connect(): Promise<void>;
  /** Closes every connection; a subscription still open is closed first. */
  close(): Promise<void>;

  /** Joins a consumer group on `topics` (read committed, manual offsets, no auto-commit). */
  subscribe(options: SubscribeOptions): Promise<Subscription>;

  /**
   * Moves the consumer of an assigned partition (a `TransportError` for a partition this member
   * does not own) to its logical beginning (the low watermark,
   * never literal offset 0) and returns the partition's watermarks observed at that moment.
   * Batches fetched before the seek are not delivered afterwards.
   */
  seekToBeginning(tp: TopicPartition): Promise<Watermarks>;

  /**
   * Moves the consumer of an assigned partition (a `TransportError` for a partition this member
   * does not own) to `offset` and returns the partition's watermarks observed at that moment.
   * An `offset` below `low` starts at `low`, one above `high` at `high` (where the next record
   * will be): a caller that needs to know compares `offset` with the returned watermarks. Batches
   * fetched before the seek are not delivered afterwards; the next batch delivered starts at the
   * sought position (or is an EOF notice with that position when nothing follows it). The engine
   * uses it to resume a partition it gets back from where it stopped.
   */
  seek(tp: TopicPartition, offset: number): Promise<Watermarks>;

  /**
   * Opens a reader of one partition **outside** the consumer group: it joins no group, commits
   * nothing, disturbs no member's assignment, and reads with `isolation.level = read_committed`
   * from `fromOffset` (clamped to the low watermark like {@link Transport.seek}). The engine uses
   * it to refill its window in the background while the group consumer keeps delivering new
   * records. The partition need not be assigned to this member. Close every reader opened.
   */
  openReader(tp: TopicPartition, options: { readonly fromOffset: number }): Promise<PartitionReader>;

  /** The partition's current watermarks (low = logical beginning, high = end offset). */
  fetchWatermarks(tp: TopicPartition): Promise<Watermarks>;

  /**
   * The first offset of `tp` whose record timestamp is at or after `timestampMs` (Kafka's
   * ListOffsets by timestamp), or the partition's end offset when no record is that recent.
   * Rejects with a `TransportError` when the partition does not exist.
   */
  offsetForTime(tp: TopicPartition, timestampMs: number): Promise<number>;

  /** Number of partitions of `topic`. Rejects with a `TransportError` when the topic does not exist. */
  partitionCount(topic: string): Promise<number>;

  /**
   * Synchronous batch produce: resolves once every record is acknowledged by all in-sync replicas
   * (acks = all, idempotent producer), in input order; rejects if any record failed (some may
   * then have been written: at-least-once). An adapter may send concurrent calls in one request
   * (then a failure of that request rejects each of them); see {@link ProduceOptions.alone}.
   */
  produce(records: readonly ProduceRecord[], options?: ProduceOptions): Promise<RecordMetadata[]>;

  /**
   * Fire-and-forget produce (used for states reports, which are statistics). Never throws;
   * failures are passed to `onError` when given.
   */
  produceNoWait(records: readonly ProduceRecord[], onError?: (error: unknown) => void): void;

  /**
   * A transactional producer with the given id, not yet initialised. Adapters that cannot do
   * transactions reject with an `UnsupportedError` (`KSM_UNSUPPORTED`). A producer that a newer one
   * with the same id fenced rejects its sends with a `FencedError` (`KSM_FENCED`).
   */
  createTransactionalProducer(transactionalId: string, options?: TransactionalProducerOptions): Promise<TransactionalProducer>;

  /**
   * Whether {@link TransactionalProducerOptions.fencedByGroup} is supported (the client sends the
   * consumer's group metadata with a transactional offset commit: TxnOffsetCommit v3+).
   */
  readonly groupFencedTransactions?: boolean;

  /** Informational offset commit for the group (the engine never recovers from it). */
  commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void>;
}

/**
 * `Transport.produceNoWait` over a transport's own `produce`, for adapters: starts the produce and
 * returns; a failure (rejected or thrown) goes to `onError`, or to `logger.warn` without one. Never
 * throws, not even when `onError` does.
 */
export function produceWithoutWaiting(
  produce: () => Promise<unknown>,
  onError: ((error: unknown) => void) | undefined,
  logger: Logger,
): void {
  const report = (error: unknown): void => {
    try {
      if (onError) onError(error);
      else logger.warn({ error }, 'produceNoWait failed');
    } catch {
      // onError must not make produceNoWait throw either.
    }
  };
  try {
    produce().catch(report);
  } catch (error) {
    report(error);
  }
}
