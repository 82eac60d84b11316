/**
 * The public types of the {@link FakeBroker}: its options and what it records (produced records,
 * offset commits, assignments), and the handles of its faults.
 *
 * @module
 */
import type {
  Clock,
  ConsumedRecord,
  HeaderValue,
  ProduceRecord,
  RecordHeaders,
  TopicPartition,
  TopicPartitionOffset,
  Watermarks,
} from '@ksched/core';

/**
 * How fast the {@link FakeBroker} serves reads, on its clock: a fetch of `n` records (a group
 * delivery or a `PartitionReader.read()`) completes `n / recordsPerSecond` seconds plus
 * `fetchLatencyMs` after it started. An EOF notice takes `fetchLatencyMs`.
 */
export interface FakeReadSpeed {
  /** Records per second of the broker clock, > 0. Default: unlimited (no per-record time). */
  readonly recordsPerSecond?: number;
  /** Fixed time of every fetch (also of an EOF answer), ms of the broker clock, >= 0. Default 0. */
  readonly fetchLatencyMs?: number;
}

/** Options of {@link FakeBroker}. */
export interface FakeBrokerOptions {
  /**
   * Clock for record timestamps, transaction markers and compaction's "now", when a member has
   * no clock of its own. Defaults to `Date.now()` (read lazily). With {@link FakeBrokerOptions.readSpeed}
   * it must be a full `Clock` (with `setTimeout`/`clearTimeout`, e.g. a `FakeClock`): reads wait on its timers.
   */
  readonly clock?: Pick<Clock, 'now'> | Clock;
  /**
   * Makes reads take time on {@link FakeBrokerOptions.clock}, so that a slow partition read is
   * visible on fake time: batches reach `onBatch` (and `PartitionReader.read()` resolves) only
   * once the clock has advanced by their read time. Requires a clock with timers; throws a
   * `TypeError` without one. Default: no delay (deliveries run on `setImmediate` turns).
   */
  readonly readSpeed?: FakeReadSpeed;
  /** Most records in one delivered batch. Defaults to 500. */
  readonly maxBatchSize?: number;
  /**
   * How a group's partitions are split among its members (in join order): `range` (Kafka's
   * default: contiguous ranges per topic) or `round-robin` across all subscribed partitions.
   * Defaults to `range`.
   */
  readonly assignor?: 'range' | 'round-robin';
  /**
   * How many times in a row a batch whose `onBatch` rejected is delivered again before the
   * partition stops (see `GroupListener.onBatch` in `@ksched/core`). Defaults to 3.
   */
  readonly maxBatchRetries?: number;
  /** Default timeout of {@link FakeBroker.settle}, real milliseconds. Defaults to 2000. */
  readonly settleTimeoutMs?: number;
}

/** Options of {@link FakeBroker.createTopic}. */
export interface CreateTopicOptions {
  /** Number of partitions, a positive integer. */
  readonly partitions: number;
  /** `cleanup.policy=compact`: keyless records are refused and {@link FakeBroker.compact} applies. */
  readonly compacted?: boolean;
}

/** Options of {@link FakeBroker.createTransport}. */
export interface FakeTransportOptions {
  /** Client id, used in member ids, `broker.produced` and error messages. Defaults to `client-N`. */
  readonly clientId?: string;
  /** Clock for this member's record timestamps (CreateTime). Defaults to the broker's clock. */
  readonly clock?: Pick<Clock, 'now'>;
  /** Most records in one batch delivered to this member. Defaults to the broker's `maxBatchSize`. */
  readonly maxBatchSize?: number;
}

/** Options of {@link FakeBroker.compact}. */
export interface CompactOptions {
  /**
   * Tombstones (null values) and transaction markers older than this (by record timestamp) are
   * removed too once nothing they refer to remains. Defaults to 24 h, Kafka's `delete.retention.ms`.
   */
  readonly tombstoneRetentionMs?: number;
  /** "Now" for the retention. Defaults to the broker's clock. */
  readonly now?: number;
}

/** State of a record's transaction; `none` for a non-transactional record. */
export type TransactionState = 'none' | 'open' | 'committed' | 'aborted';

/** A stored entry as {@link FakeBroker.records} reports it. */
export interface StoredRecord extends ConsumedRecord {
  /** `commit` / `abort` for a transaction control marker (never delivered); `null` for data. */
  readonly control: 'commit' | 'abort' | null;
  readonly transactionalId: string | null;
  readonly transaction: TransactionState;
}

/**
 * A record as it was appended, in {@link FakeBroker.produced}. Compaction does not remove these;
 * `transaction` is updated when the record's transaction commits or aborts.
 */
export interface ProducedRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: RecordHeaders;
  /** Header names given more than once with different values ({@link FakeBroker.appendRaw} only). */
  readonly repeatedHeaders?: readonly string[];
  readonly timestamp: number;
  /** The producing member's client id. */
  readonly clientId: string;
  readonly transactionalId: string | null;
  readonly transaction: TransactionState;
}

/** One `commitOffsets` call, in {@link FakeBroker.commits}. */
export interface OffsetCommit {
  readonly groupId: string;
  readonly memberId: string;
  readonly clientId: string;
  readonly offsets: readonly TopicPartitionOffset[];
}

/** Watermarks plus the log end offset (which includes open transactions). */
export interface FakeWatermarks extends Watermarks {
  /** Offset the next appended record gets; above `high` while a transaction is open. */
  readonly logEndOffset: number;
}

/** One member of a group and what it owns, from {@link FakeBroker.assignment}. */
export interface MemberAssignment {
  readonly clientId: string;
  readonly memberId: string;
  readonly partitions: readonly TopicPartition[];
}

/** Options of {@link FakeBrokerFaults.failProduce}. */
export interface FailProduceOptions {
  /** Only records for this topic. */
  readonly topic?: string;
  /** Only records sent this way; every way by default. */
  readonly source?: 'produce' | 'produceNoWait' | 'transaction';
  /** Which matching record fails first, 1-based, counted from when the fault is installed. Default 1. */
  readonly nth?: number;
  /** How many consecutive matching records fail, from the nth on. Default 1; `Infinity` for all. */
  readonly times?: number;
  /** The error to fail with, or a function returning it. Default: a retriable `TransportError`. */
  readonly error?: unknown;
}

/** Options of {@link FakeBrokerFaults.failTransactionCommit}. */
export interface FailTransactionCommitOptions {
  /** Only transactions of this transactional id; any by default. */
  readonly transactionalId?: string;
  /** Which matching commit fails first, 1-based, counted from when the fault is installed. Default 1. */
  readonly nth?: number;
  /** How many consecutive matching commits fail, from the nth on. Default 1; `Infinity` for all. */
  readonly times?: number;
  /** The error to fail with, or a function returning it. Default: a retriable `TransportError`. */
  readonly error?: unknown;
  /**
   * What happened to the transaction. `aborted` (default): nothing of it is ever visible.
   * `committed-later`: the coordinator decided to commit but the answer was lost (the broker went
   * down during EndTxn): `sendInTransaction` rejects, the transaction stays pending (its records
   * invisible to read-committed readers, the last stable offset held before them) and it commits
   * when its transactional id is next initialised or begins its next transaction, as a real
   * coordinator completes a prepared commit before it lets the id go on.
   */
  readonly outcome?: 'aborted' | 'committed-later';
}

/** Options of {@link FakeBrokerFaults.pauseTransactionBeforeCommit}. */
export interface PauseTransactionOptions {
  /** Which transaction of that id to pause, 1-based, counted from when the pause is installed. Default 1. */
  readonly nth?: number;
}

/** An installed failure; inspect it or remove it. */
export interface FaultHandle {
  /** How many operations this fault failed so far. */
  readonly triggered: number;
  /** True once the fault failed `times` operations or was removed. */
  readonly exhausted: boolean;
  /** Uninstalls the fault. */
  remove(): void;
}

/** A transaction held open before its commit; see {@link FakeBrokerFaults.pauseTransactionBeforeCommit}. */
export interface TransactionPause {
  readonly transactionalId: string;
  /**
   * Resolves once a transaction is paused: its records are in the log as an open transaction
   * (the last stable offset stops before them) and its commit waits for {@link TransactionPause.release}.
   */
  readonly reached: Promise<void>;
  /** True while a transaction is held. */
  readonly paused: boolean;
  /**
   * Lets the held transaction go on to commit, or disarms the pause if none was held yet. If the
   * producer was fenced meanwhile, the commit fails and `sendInTransaction` rejects (fenced).
   */
  release(): void;
}

/**
 * A record for {@link FakeBroker.appendRaw}: a `ProduceRecord` whose headers are a list of
 * `[name, value]` pairs in record order, so that a name can occur more than once, as Kafka allows
 * (a `ProduceRecord`'s header object cannot say that).
 */
export interface RawRecord extends Omit<ProduceRecord, 'headers'> {
  readonly headers?: readonly (readonly [name: string, value: HeaderValue])[];
}
