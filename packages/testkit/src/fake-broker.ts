/**
 * An in-memory Kafka cluster for tests: topics, partitions, offsets, keys, headers, null values,
 * murmur2 partitioning, log compaction, consumer groups with rebalances, read-committed
 * transactions with fencing, and fault injection. Each {@link FakeTransport} it creates is one
 * group member implementing the core `Transport` port.
 *
 * @module
 */
import { FencedError, partitionForKey, TransportError } from '@ksched/core';
import type {
  Clock,
  ConsumedRecord,
  GroupListener,
  HeaderValue,
  PartitionBatch,
  PartitionReader,
  ProduceRecord,
  RecordHeaders,
  RecordMetadata,
  SubscribeOptions,
  Subscription,
  TimerHandle,
  TopicPartition,
  TopicPartitionOffset,
  TransactionalProducer,
  Transport,
  Watermarks,
} from '@ksched/core';
import { copyBytes, copyHeaders, isVisible, PartitionLog, toConsumed, tpKey } from './internal/partition-log.js';
import type { Entry, Txn, TxnProduced } from './internal/partition-log.js';

// Captured at load time so that fake timers installed later (vi.useFakeTimers) cannot stall delivery.
const realSetImmediate = globalThis.setImmediate;
const realClearImmediate = globalThis.clearImmediate;
const realPerformanceNow = performance.now.bind(performance);
const encoder = new TextEncoder();

/** Kafka's default `delete.retention.ms`: how long compaction keeps tombstones and markers. */
const DEFAULT_TOMBSTONE_RETENTION_MS = 86_400_000;

// ---------------------------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------------------------

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
   * partition stops (see {@link GroupListener.onBatch}). Defaults to 3.
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
 * Fault injection on a {@link FakeBroker}, at `broker.faults`. Faults are checked in the order they
 * were installed; each returns a handle to inspect or remove it, and {@link FakeBrokerFaults.clear}
 * removes them all.
 *
 * @example
 * ```ts
 * // Member A stalls mid-flush while B takes its partitions over (design note 4).
 * const pause = broker.faults.pauseTransactionBeforeCommit('ksched-scheduled_messages-0');
 * await pause.reached;                    // A's records are in the log, uncommitted
 * await broker.faults.dropMember(a);      // A "freezes": B is assigned without A's onRevoked
 * await broker.settle();                  // B's init() fenced A and aborted A's transaction
 * pause.release();                        // A's commit now rejects: fenced
 * ```
 */
export interface FakeBrokerFaults {
  /**
   * Fails produced records: the `nth` matching record (and the `times − 1` after it) is not written
   * and the call fails with `error`. Records of the same `produce` call before it *are* written
   * (at-least-once); in a transaction, the whole transaction is aborted; `produceNoWait` reports
   * the error to its `onError`.
   */
  failProduce(options?: FailProduceOptions): FaultHandle;
  /** Fails the commit of matching transactions: the transaction is aborted and `sendInTransaction` rejects with `error`. */
  failTransactionCommit(options?: FailTransactionCommitOptions): FaultHandle;
  /**
   * Holds the next (or `nth`) transaction of `transactionalId` after its records are appended and
   * before its commit, until released: the way to have a producer stall mid-transaction while
   * another member fences it.
   */
  pauseTransactionBeforeCommit(transactionalId: string, options?: PauseTransactionOptions): TransactionPause;
  /**
   * The member behind `transport` leaves its group abruptly (crash, session timeout): it is never
   * called again (an `onBatch` or `onRevoked` already running is not awaited), and its partitions
   * are reassigned at once. Its producers keep working, so a later transaction of a fenced
   * transactional id fails like a zombie's. Resolves when the reassignment has completed.
   */
  dropMember(transport: FakeTransport): Promise<void>;
  /** Removes every fault and releases every pause. */
  clear(): void;
}

// ---------------------------------------------------------------------------------------------
// Internals
// ---------------------------------------------------------------------------------------------

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface Topic {
  readonly name: string;
  readonly compacted: boolean;
  readonly logs: readonly PartitionLog[];
}

/** One member's hold on one partition. */
interface Assignment {
  readonly log: PartitionLog;
  /** Next offset to fetch. */
  position: number;
  /** False until `onAssigned` for it has settled. */
  deliverable: boolean;
  /** Set once revocation started: no new batches. */
  revoking: boolean;
  /** The EOF notice was delivered since the position last moved over records / since the last seek. */
  eofNotified: boolean;
  inFlight: Promise<void> | null;
  /** Bumped by every seek, so a failed batch fetched before a seek is not replayed after it. */
  generation: number;
  failures: number;
  /** Delivery stopped after too many failed batches (until a seek). */
  stopped: boolean;
  /** Cancels the fetched batch's read-time wait (readSpeed), while one runs. */
  cancelFetch: (() => void) | null;
}

type ClientStatus = 'new' | 'connected' | 'closed';

class Client {
  readonly clientId: string;
  readonly clock: Pick<Clock, 'now'>;
  readonly maxBatchSize: number;
  status: ClientStatus = 'new';
  membership: Membership | null = null;
  readonly producers = new Set<FakeTransactionalProducer>();
  readonly readers = new Set<FakePartitionReader>();
  readonly roundRobin = new Map<string, number>();

  constructor(clientId: string, clock: Pick<Clock, 'now'>, maxBatchSize: number) {
    this.clientId = clientId;
    this.clock = clock;
    this.maxBatchSize = maxBatchSize;
  }
}

type MembershipState = 'joining' | 'active' | 'leaving' | 'left' | 'dropped';

class Membership {
  readonly memberId: string;
  readonly client: Client;
  readonly group: Group;
  readonly topics: readonly string[];
  readonly listener: GroupListener;
  state: MembershipState = 'joining';
  readonly assigned = new Map<string, Assignment>();
  pumpScheduled = false;
  /** Resolved when dropped: abandons awaits on this member's callbacks. */
  readonly gone = deferred();
  /** Resolved when out of the group (left gracefully or dropped). */
  readonly left = deferred();

  constructor(memberId: string, client: Client, group: Group, topics: readonly string[], listener: GroupListener) {
    this.memberId = memberId;
    this.client = client;
    this.group = group;
    this.topics = topics;
    this.listener = listener;
  }
}

class Group {
  readonly id: string;
  /** Members in join order (the assignors' order). */
  members: Membership[] = [];
  readonly owners = new Map<string, Membership>();
  /** Membership changes and rebalances run one at a time. */
  queue: Promise<void> = Promise.resolve();
  pendingOps = 0;
  waitingFor: string | null = null;

  constructor(id: string) {
    this.id = id;
  }
}

interface TransactionalIdState {
  epoch: number;
  open: Txn | null;
}

/** Counting logic shared by the fail-the-nth-thing faults. */
class CountedFault implements FaultHandle {
  readonly #nth: number;
  readonly #times: number;
  readonly #error: unknown;
  readonly #defaultError: () => unknown;
  readonly #onRemove: () => void;
  #seen = 0;
  #triggered = 0;
  #removed = false;

  constructor(
    options: { readonly nth?: number; readonly times?: number; readonly error?: unknown },
    defaultError: () => unknown,
    onRemove: () => void,
  ) {
    const nth = options.nth ?? 1;
    const times = options.times ?? 1;
    if (!Number.isInteger(nth) || nth < 1) throw new RangeError(`nth must be a positive integer, got ${String(nth)}`);
    if (!(times >= 1)) throw new RangeError(`times must be >= 1, got ${String(times)}`);
    this.#nth = nth;
    this.#times = times;
    this.#error = options.error;
    this.#defaultError = defaultError;
    this.#onRemove = onRemove;
  }

  get triggered(): number {
    return this.#triggered;
  }

  get exhausted(): boolean {
    return this.#removed || this.#triggered >= this.#times;
  }

  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.#onRemove();
  }

  /** Counts one matching operation; returns `{ error }` when it must fail. */
  hit(): { readonly error: unknown } | undefined {
    if (this.exhausted) return undefined;
    this.#seen++;
    if (this.#seen < this.#nth) return undefined;
    this.#triggered++;
    const error =
      this.#error === undefined ? this.#defaultError() : typeof this.#error === 'function' ? (this.#error as () => unknown)() : this.#error;
    return { error };
  }
}

class Pause implements TransactionPause {
  readonly transactionalId: string;
  readonly #reached = deferred();
  readonly #released = deferred();
  readonly #nth: number;
  #seen = 0;
  #paused = false;
  #disarmed = false;

  constructor(transactionalId: string, nth: number) {
    this.transactionalId = transactionalId;
    this.#nth = nth;
  }

  get reached(): Promise<void> {
    return this.#reached.promise;
  }

  get paused(): boolean {
    return this.#paused;
  }

  release(): void {
    this.#disarmed = true;
    this.#released.resolve();
  }

  /** Counts a transaction of the id; true when this is the one to hold. */
  matches(txn: Txn): boolean {
    if (this.#disarmed || txn.transactionalId !== this.transactionalId) return false;
    return ++this.#seen === this.#nth;
  }

  async hold(): Promise<void> {
    this.#paused = true;
    this.#reached.resolve();
    await this.#released.promise;
    this.#paused = false;
  }
}

interface ProduceFault {
  readonly handle: CountedFault;
  readonly topic: string | undefined;
  readonly source: FailProduceOptions['source'];
}

interface CommitFault {
  readonly handle: CountedFault;
  readonly transactionalId: string | undefined;
}

type ProduceSource = 'produce' | 'produceNoWait' | 'transaction';

/** A function, not an inline comparison: the state changes across awaits, which narrowing ignores. */
function isDropped(m: Membership): boolean {
  return m.state === 'dropped';
}

function tpOf(log: PartitionLog): TopicPartition {
  return { topic: log.topic, partition: log.partition };
}

/** Owned partitions, sorted by topic then partition. */
function sortedTps(assigned: Iterable<Assignment>): TopicPartition[] {
  return [...assigned].map((a) => tpOf(a.log)).sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition));
}

function describeTp(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}

function toBytes(value: string | Uint8Array | null, what: string): Uint8Array | null {
  if (value === null) return null;
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return copyBytes(value);
  throw new TransportError(`${what} must be a string, a Uint8Array or null, got ${typeof value}`);
}

function validHeaders(headers: RecordHeaders | undefined): RecordHeaders {
  if (headers === undefined) return {};
  if (typeof headers !== 'object' || headers === null) throw new TransportError('headers must be an object');
  for (const [name, value] of Object.entries(headers) as [string, HeaderValue][]) {
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new TransportError(`header ${name} must be a string or a Uint8Array, got ${typeof value}`);
    }
  }
  return copyHeaders(headers);
}

function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

const systemNow: Pick<Clock, 'now'> = { now: () => globalThis.Date.now() };

/**
 * What a read-committed fetch from `position` (at or above the log start, below the last stable
 * offset) returns: up to `maxBatchSize` visible records, and the position after them. Markers,
 * aborted records and compaction gaps up to the last stable offset are consumed too, so a batch
 * that is not full ends at the last stable offset.
 */
function fetchBatch(log: PartitionLog, from: number, maxBatchSize: number): PartitionBatch {
  const lso = log.lastStable;
  const records: ConsumedRecord[] = [];
  let position = from;
  let full = false;
  const entries = log.entries;
  for (let i = log.indexAtOrAfter(position); i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.offset >= lso) break;
    if (isVisible(entry)) {
      if (records.length >= maxBatchSize) {
        full = true;
        break;
      }
      records.push(toConsumed(log, entry));
    }
    position = entry.offset + 1;
  }
  if (!full) position = Math.max(position, lso);
  return { topic: log.topic, partition: log.partition, records, position, highWatermark: lso };
}

/** All broker state; FakeBroker, FakeTransport and the faults are views over it. */
class Cluster {
  readonly clock: Pick<Clock, 'now'>;
  /** The clock reads wait on, with `readSpeed`; null without (no read time). */
  readonly timerClock: Clock | null;
  readonly recordsPerSecond: number;
  readonly fetchLatencyMs: number;
  readonly maxBatchSize: number;
  readonly assignor: 'range' | 'round-robin';
  readonly maxBatchRetries: number;
  readonly settleTimeoutMs: number;

  readonly topics = new Map<string, Topic>();
  readonly groups = new Map<string, Group>();
  readonly memberships = new Set<Membership>();
  readonly transactionalIds = new Map<string, TransactionalIdState>();
  readonly produced: Mutable<ProducedRecord>[] = [];
  readonly commits: OffsetCommit[] = [];
  readonly committed = new Map<string, Map<string, number>>();
  readonly produceFaults: ProduceFault[] = [];
  readonly commitFaults: CommitFault[] = [];
  readonly pauses = new Set<Pause>();
  #clientSeq = 0;
  #memberSeq = 0;
  #txnSeq = 0;

  constructor(options: FakeBrokerOptions) {
    this.clock = options.clock ?? systemNow;
    const speed = options.readSpeed;
    if (speed === undefined) {
      this.timerClock = null;
      this.recordsPerSecond = Infinity;
      this.fetchLatencyMs = 0;
    } else {
      const clock = options.clock as Partial<Clock> | undefined;
      if (clock === undefined || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
        throw new TypeError(
          'FakeBroker: readSpeed needs a clock with timers: pass `clock` with now(), setTimeout() and clearTimeout() ' +
            `(e.g. a FakeClock), ${clock === undefined ? 'no clock was given' : 'the given clock has no setTimeout/clearTimeout'}`,
        );
      }
      this.timerClock = clock as Clock;
      const rps = speed.recordsPerSecond ?? Infinity;
      if (typeof rps !== 'number' || !(rps > 0)) throw new RangeError(`readSpeed.recordsPerSecond must be > 0, got ${String(rps)}`);
      const latency = speed.fetchLatencyMs ?? 0;
      if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0) {
        throw new RangeError(`readSpeed.fetchLatencyMs must be a finite number >= 0, got ${String(latency)}`);
      }
      this.recordsPerSecond = rps;
      this.fetchLatencyMs = latency;
    }
    this.maxBatchSize = positiveInteger('maxBatchSize', options.maxBatchSize ?? 500);
    this.assignor = options.assignor ?? 'range';
    if (this.assignor !== 'range' && this.assignor !== 'round-robin') {
      throw new RangeError(`assignor must be 'range' or 'round-robin', got ${String(this.assignor)}`);
    }
    const retries = options.maxBatchRetries ?? 3;
    if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`maxBatchRetries must be an integer >= 0, got ${String(retries)}`);
    this.maxBatchRetries = retries;
    this.settleTimeoutMs = options.settleTimeoutMs ?? 2000;
  }

  newClient(options: FakeTransportOptions): Client {
    const seq = ++this.#clientSeq;
    const maxBatchSize = positiveInteger('maxBatchSize', options.maxBatchSize ?? this.maxBatchSize);
    return new Client(options.clientId ?? `client-${seq}`, options.clock ?? this.clock, maxBatchSize);
  }

  // ---- topics ---------------------------------------------------------------------------------

  createTopic(name: string, options: CreateTopicOptions): void {
    if (typeof name !== 'string' || name.length === 0 || name.includes(':')) {
      throw new TransportError(`invalid topic name ${JSON.stringify(name)}`);
    }
    if (this.topics.has(name)) throw new TransportError(`topic ${name} already exists`);
    const partitions = positiveInteger('partitions', options.partitions);
    const logs = Array.from({ length: partitions }, (_, p) => new PartitionLog(name, p));
    this.topics.set(name, { name, compacted: options.compacted ?? false, logs });
    // A metadata change: groups subscribed to the new topic rebalance.
    for (const group of this.groups.values()) {
      if (group.members.some((m) => m.state === 'active' && m.topics.includes(name))) {
        void this.enqueue(group, () => this.rebalance(group));
      }
    }
  }

  topic(name: string): Topic {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new TransportError(`unknown topic ${JSON.stringify(name)}`);
    return topic;
  }

  log(tp: TopicPartition): PartitionLog {
    const log = this.topic(tp.topic).logs[tp.partition];
    if (log === undefined) throw new TransportError(`unknown partition ${describeTp(tp)}`);
    return log;
  }

  logsOf(topic: string, partition: number | undefined): readonly PartitionLog[] {
    return partition === undefined ? this.topic(topic).logs : [this.log({ topic, partition })];
  }

  // ---- producing ------------------------------------------------------------------------------

  requireConnected(client: Client, operation: string): void {
    if (client.status === 'new') throw new TransportError(`${operation}: ${client.clientId} is not connected; call connect() first`);
    if (client.status === 'closed') throw new TransportError(`${operation}: ${client.clientId} is closed`);
  }

  /** Appends one record (after the produce faults); throws TransportError for invalid records. */
  append(client: Client, record: ProduceRecord, source: ProduceSource, txn: Txn | null): RecordMetadata {
    if (typeof record !== 'object' || record === null) throw new TransportError('a produced record must be an object');
    const topic = this.topic(record.topic);
    const key = toBytes(record.key, 'key');
    const value = toBytes(record.value, 'value');
    const headers = validHeaders(record.headers);
    const partition = this.choosePartition(client, topic, record, key);
    if (topic.compacted && key === null) {
      throw new TransportError(`compacted topic ${topic.name} cannot accept a record without a key`);
    }
    const timestamp = record.timestamp ?? client.clock.now();
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) throw new TransportError(`invalid timestamp ${String(timestamp)}`);
    for (const fault of this.produceFaults) {
      if (fault.topic !== undefined && fault.topic !== topic.name) continue;
      if (fault.source !== undefined && fault.source !== source) continue;
      const hit = fault.handle.hit();
      if (hit) throw hit.error;
    }
    const log = topic.logs[partition]!;
    const entry = log.append({ key, value, headers, timestamp, control: null, txn });
    const produced: Mutable<ProducedRecord> = {
      topic: topic.name,
      partition,
      offset: entry.offset,
      key,
      value,
      headers,
      timestamp,
      clientId: client.clientId,
      transactionalId: txn?.transactionalId ?? null,
      transaction: txn ? 'open' : 'none',
    };
    this.produced.push(produced);
    if (txn) {
      const k = tpKey(log.topic, log.partition);
      if (!txn.logs.has(k)) {
        txn.logs.set(k, log);
        log.openTxns.set(txn, entry.offset);
      }
      txn.produced.push(produced as TxnProduced);
    }
    this.wakeAll();
    return { topic: topic.name, partition, offset: entry.offset };
  }

  choosePartition(client: Client, topic: Topic, record: ProduceRecord, key: Uint8Array | null): number {
    const count = topic.logs.length;
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
        throw new TransportError(`unknown partition ${topic.name}/${String(record.partition)} (the topic has ${count})`);
      }
      return record.partition;
    }
    if (record.partitionKey !== undefined) return partitionForKey(record.partitionKey, count);
    if (key !== null) return partitionForKey(key, count);
    const next = client.roundRobin.get(topic.name) ?? 0;
    client.roundRobin.set(topic.name, next + 1);
    return next % count;
  }

  // ---- transactions ---------------------------------------------------------------------------

  /** InitProducerId: bumps the epoch (fencing older producers) and aborts their open transaction. */
  initTransactionalId(transactionalId: string): number {
    let state = this.transactionalIds.get(transactionalId);
    if (state === undefined) {
      state = { epoch: -1, open: null };
      this.transactionalIds.set(transactionalId, state);
    }
    state.epoch++;
    if (state.open) this.endTxn(state.open, 'aborted');
    return state.epoch;
  }

  isCurrentEpoch(transactionalId: string, epoch: number): boolean {
    return this.transactionalIds.get(transactionalId)?.epoch === epoch;
  }

  beginTxn(transactionalId: string): Txn {
    const txn: Txn = { seq: ++this.#txnSeq, transactionalId, state: 'open', logs: new Map(), produced: [] };
    this.transactionalIds.get(transactionalId)!.open = txn;
    return txn;
  }

  /** Commits or aborts: control markers take an offset in every partition the transaction wrote. */
  endTxn(txn: Txn, state: 'committed' | 'aborted'): void {
    if (txn.state !== 'open') return;
    txn.state = state;
    const timestamp = this.clock.now();
    for (const log of txn.logs.values()) {
      log.openTxns.delete(txn);
      log.append({ key: null, value: null, headers: {}, timestamp, control: state === 'committed' ? 'commit' : 'abort', txn });
    }
    for (const produced of txn.produced) produced.transaction = state;
    const idState = this.transactionalIds.get(txn.transactionalId);
    if (idState?.open === txn) idState.open = null;
    this.wakeAll();
  }

  /** Runs the pause hooks for a transaction about to commit (always yields at least once). */
  async beforeCommit(txn: Txn): Promise<void> {
    await Promise.resolve();
    for (const pause of [...this.pauses]) {
      if (!pause.matches(txn)) continue;
      // Stays registered while held, so that faults.clear() releases it.
      await pause.hold();
      this.pauses.delete(pause);
    }
  }

  commitFault(txn: Txn): { readonly error: unknown } | undefined {
    for (const fault of this.commitFaults) {
      if (fault.transactionalId !== undefined && fault.transactionalId !== txn.transactionalId) continue;
      const hit = fault.handle.hit();
      if (hit) return hit;
    }
    return undefined;
  }

  // ---- groups ---------------------------------------------------------------------------------

  group(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = new Group(groupId);
      this.groups.set(groupId, group);
    }
    return group;
  }

  enqueue(group: Group, op: () => Promise<void>): Promise<void> {
    group.pendingOps++;
    const run = group.queue.then(op).finally(() => {
      group.pendingOps--;
    });
    group.queue = run.catch(() => {});
    return run;
  }

  async subscribe(client: Client, options: SubscribeOptions): Promise<Subscription> {
    this.requireConnected(client, 'subscribe');
    if (client.membership) throw new TransportError(`subscribe: ${client.clientId} is already subscribed; close that subscription first`);
    if (typeof options.groupId !== 'string' || options.groupId.length === 0) throw new TransportError('subscribe: groupId is required');
    if (!Array.isArray(options.topics) || options.topics.length === 0)
      throw new TransportError('subscribe: topics must be a non-empty array');
    const group = this.group(options.groupId);
    const membership = new Membership(`${client.clientId}-${++this.#memberSeq}`, client, group, [...options.topics], options.listener);
    client.membership = membership;
    this.memberships.add(membership);
    await this.enqueue(group, async () => {
      if (membership.state !== 'joining') return;
      membership.state = 'active';
      group.members.push(membership);
      await this.rebalance(group);
    });
    return { close: () => this.leave(membership) };
  }

  leave(m: Membership): Promise<void> {
    if (m.state === 'left' || m.state === 'dropped' || m.state === 'leaving') return m.left.promise;
    m.state = 'leaving';
    for (const a of m.assigned.values()) {
      a.revoking = true;
      a.cancelFetch?.();
    }
    const group = m.group;
    void this.enqueue(group, async () => {
      if (m.state !== 'leaving') return;
      await this.revoke(m, [...m.assigned.values()]);
      if (m.state !== 'leaving') return;
      this.removeMember(m, 'left');
      m.left.resolve();
      await this.rebalance(group);
    });
    return m.left.promise;
  }

  drop(m: Membership): Promise<void> {
    if (m.state === 'left' || m.state === 'dropped') return Promise.resolve();
    const group = m.group;
    this.removeMember(m, 'dropped');
    m.gone.resolve();
    m.left.resolve();
    return this.enqueue(group, () => this.rebalance(group));
  }

  removeMember(m: Membership, state: 'left' | 'dropped'): void {
    m.state = state;
    const group = m.group;
    group.members = group.members.filter((other) => other !== m);
    for (const [key, a] of m.assigned) {
      a.cancelFetch?.();
      if (group.owners.get(key) === m) group.owners.delete(key);
    }
    m.assigned.clear();
    if (m.client.membership === m) m.client.membership = null;
    this.memberships.delete(m);
  }

  computeAssignment(group: Group): Map<Membership, PartitionLog[]> {
    const members = group.members.filter((m) => m.state === 'active');
    const result = new Map<Membership, PartitionLog[]>(members.map((m) => [m, []]));
    const topicNames = [...new Set(members.flatMap((m) => m.topics))].filter((t) => this.topics.has(t)).sort();
    if (this.assignor === 'range') {
      for (const name of topicNames) {
        const logs = this.topics.get(name)!.logs;
        const subscribers = members.filter((m) => m.topics.includes(name));
        const base = Math.floor(logs.length / subscribers.length);
        const extra = logs.length % subscribers.length;
        let start = 0;
        subscribers.forEach((m, i) => {
          const count = base + (i < extra ? 1 : 0);
          result.get(m)!.push(...logs.slice(start, start + count));
          start += count;
        });
      }
    } else {
      let cursor = 0;
      for (const name of topicNames) {
        for (const log of this.topics.get(name)!.logs) {
          for (let tries = 0; tries < members.length; tries++) {
            const m = members[cursor++ % members.length]!;
            if (m.topics.includes(name)) {
              result.get(m)!.push(log);
              break;
            }
          }
        }
      }
    }
    return result;
  }

  /** Moves partitions to their target owners: revocations (awaited) first, then assignments. */
  async rebalance(group: Group): Promise<void> {
    const target = this.computeAssignment(group);
    for (const m of [...group.members]) {
      if (m.state !== 'active') continue;
      const keep = new Set((target.get(m) ?? []).map((log) => tpKey(log.topic, log.partition)));
      const lost = [...m.assigned].filter(([key]) => !keep.has(key)).map(([, a]) => a);
      await this.revoke(m, lost);
    }
    for (const [m, logs] of target) {
      if (m.state !== 'active') continue;
      const gained = logs.filter((log) => !group.owners.has(tpKey(log.topic, log.partition)));
      if (gained.length > 0) await this.assign(m, gained);
    }
  }

  async revoke(m: Membership, lost: readonly Assignment[]): Promise<void> {
    if (lost.length === 0) return;
    const group = m.group;
    for (const a of lost) {
      a.revoking = true;
      a.cancelFetch?.();
    }
    group.waitingFor = `${m.memberId}: onBatch in flight before revocation`;
    await Promise.race([Promise.all(lost.map((a) => a.inFlight)), m.gone.promise]);
    if (isDropped(m)) return;
    group.waitingFor = `${m.memberId}: onRevoked`;
    await Promise.race([
      this.callListener(
        m,
        'onRevoked',
        lost.map((a) => tpOf(a.log)),
      ),
      m.gone.promise,
    ]);
    group.waitingFor = null;
    if (isDropped(m)) return;
    for (const a of lost) {
      const key = tpKey(a.log.topic, a.log.partition);
      if (m.assigned.get(key) !== a) continue;
      m.assigned.delete(key);
      if (group.owners.get(key) === m) group.owners.delete(key);
    }
  }

  async assign(m: Membership, logs: readonly PartitionLog[]): Promise<void> {
    const group = m.group;
    const added = logs.map((log) => {
      const a: Assignment = {
        log,
        position: log.low,
        deliverable: false,
        revoking: false,
        eofNotified: false,
        inFlight: null,
        generation: 0,
        failures: 0,
        stopped: false,
        cancelFetch: null,
      };
      const key = tpKey(log.topic, log.partition);
      m.assigned.set(key, a);
      group.owners.set(key, m);
      return a;
    });
    group.waitingFor = `${m.memberId}: onAssigned`;
    await Promise.race([this.callListener(m, 'onAssigned', logs.map(tpOf)), m.gone.promise]);
    group.waitingFor = null;
    if (isDropped(m)) return;
    for (const a of added) a.deliverable = true;
    this.schedulePump(m);
  }

  async callListener(m: Membership, name: 'onAssigned' | 'onRevoked', partitions: TopicPartition[]): Promise<void> {
    try {
      await m.listener[name](partitions);
    } catch (error) {
      this.reportError(m, error);
    }
  }

  reportError(m: Membership, error: unknown): void {
    if (m.state === 'dropped') return;
    const onError = m.listener.onError;
    if (onError === undefined) {
      // Nobody to tell: surface it as an uncaught error so that the test run fails loudly.
      queueMicrotask(() => {
        throw error;
      });
      return;
    }
    try {
      onError.call(m.listener, error);
    } catch (thrown) {
      queueMicrotask(() => {
        throw thrown;
      });
    }
  }

  // ---- read time (readSpeed) -----------------------------------------------------------------

  /** Clock milliseconds a fetch of `count` records takes; 0 without readSpeed. */
  readTimeMs(count: number): number {
    if (this.timerClock === null) return 0;
    return (count / this.recordsPerSecond) * 1000 + this.fetchLatencyMs;
  }

  /**
   * Waits `ms` of the broker clock, or one `setImmediate` turn when `ms` is 0. Resolves true when
   * the time passed, false when `cancel` (handed to `register`) was called first.
   */
  waitReadTime(ms: number, register: (cancel: () => void) => void): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const clock = this.timerClock;
      if (ms > 0 && clock !== null) {
        let handle: TimerHandle | undefined = clock.setTimeout(() => {
          handle = undefined;
          resolve(true);
        }, ms);
        register(() => {
          if (handle !== undefined) clock.clearTimeout(handle);
          handle = undefined;
          resolve(false);
        });
      } else {
        const immediate = realSetImmediate(() => resolve(true));
        register(() => {
          realClearImmediate(immediate);
          resolve(false);
        });
      }
    });
  }

  // ---- delivery -------------------------------------------------------------------------------

  wakeAll(): void {
    for (const m of this.memberships) this.schedulePump(m);
  }

  schedulePump(m: Membership): void {
    if (m.pumpScheduled || m.state !== 'active') return;
    m.pumpScheduled = true;
    realSetImmediate(() => {
      m.pumpScheduled = false;
      this.pump(m);
    });
  }

  pump(m: Membership): void {
    if (m.state !== 'active') return;
    for (const a of m.assigned.values()) {
      if (!a.deliverable || a.revoking || a.stopped || a.inFlight) continue;
      const before = { position: a.position, eofNotified: a.eofNotified };
      const batch = this.nextBatch(a, m.client.maxBatchSize);
      if (batch) a.inFlight = this.deliver(m, a, batch, before);
    }
  }

  /** The next batch for an assignment (moving its position), or null when there is nothing to tell. */
  nextBatch(a: Assignment, maxBatchSize: number): PartitionBatch | null {
    const log = a.log;
    // Below the log start (compaction, delete-records): auto.offset.reset = earliest.
    if (a.position < log.low) a.position = log.low;
    const lso = log.lastStable;
    if (a.position < lso) {
      const batch = fetchBatch(log, a.position, maxBatchSize);
      a.position = batch.position;
      a.eofNotified = batch.records.length === 0;
      return batch;
    }
    if (!a.eofNotified) {
      a.eofNotified = true;
      return { topic: log.topic, partition: log.partition, records: [], position: a.position, highWatermark: lso };
    }
    return null;
  }

  async deliver(
    m: Membership,
    a: Assignment,
    batch: PartitionBatch,
    before: { readonly position: number; readonly eofNotified: boolean },
  ): Promise<void> {
    const generation = a.generation;
    try {
      const readTime = this.readTimeMs(batch.records.length);
      if (readTime > 0) {
        const passed = await this.waitReadTime(readTime, (cancel) => (a.cancelFetch = cancel));
        a.cancelFetch = null;
        // A seek, revocation or departure during the fetch discards its batch.
        const current = m.assigned.get(tpKey(a.log.topic, a.log.partition)) === a;
        if (!passed || a.generation !== generation || a.revoking || m.state !== 'active' || !current) return;
      }
      await m.listener.onBatch(batch);
      if (a.generation === generation) a.failures = 0;
    } catch (error) {
      this.reportError(m, error);
      if (a.generation === generation && m.assigned.get(tpKey(a.log.topic, a.log.partition)) === a) {
        a.failures++;
        if (a.failures > this.maxBatchRetries) {
          a.stopped = true;
          this.reportError(
            m,
            new TransportError(
              `onBatch for ${describeTp(batch)} rejected ${a.failures} times in a row; the FakeBroker stopped delivering ` +
                `this partition to ${m.memberId} until seekToBeginning or reassignment`,
            ),
          );
        } else {
          // "Rejecting does not skip the batch": it is delivered again.
          a.position = before.position;
          a.eofNotified = before.eofNotified;
        }
      }
    } finally {
      a.inFlight = null;
      this.schedulePump(m);
    }
  }

  /**
   * Moves an assigned partition's position to `offset` (`'low'`: the low watermark), clamped into
   * [low, last stable offset]; a batch fetched before is not delivered after (generation bump).
   */
  seek(client: Client, tp: TopicPartition, offset: number | 'low', operation: 'seek' | 'seekToBeginning'): Watermarks {
    this.requireConnected(client, operation);
    const log = this.log(tp);
    if (offset !== 'low' && (typeof offset !== 'number' || !Number.isInteger(offset))) {
      throw new TransportError(`${operation}: offset must be an integer, got ${String(offset)} for ${describeTp(tp)}`);
    }
    const a = client.membership?.assigned.get(tpKey(log.topic, log.partition));
    if (a === undefined) throw new TransportError(`${operation}: ${describeTp(tp)} is not assigned to ${client.clientId}`);
    const high = log.lastStable;
    a.position = offset === 'low' ? log.low : Math.min(Math.max(offset, log.low), high);
    a.eofNotified = false;
    a.generation++;
    a.failures = 0;
    a.stopped = false;
    a.cancelFetch?.();
    if (client.membership) this.schedulePump(client.membership);
    return { low: log.low, high };
  }

  /** A reader of one partition outside any group; see {@link FakePartitionReader}. */
  openReader(client: Client, tp: TopicPartition, options: { readonly fromOffset: number }): FakePartitionReader {
    this.requireConnected(client, 'openReader');
    const log = this.log(tp);
    const fromOffset = (options as { readonly fromOffset?: unknown } | undefined)?.fromOffset;
    if (typeof fromOffset !== 'number' || !Number.isInteger(fromOffset)) {
      throw new TransportError(`openReader: fromOffset must be an integer, got ${String(fromOffset)} for ${describeTp(tp)}`);
    }
    const reader = new FakePartitionReader(this, client, log, Math.min(Math.max(fromOffset, log.low), log.lastStable));
    client.readers.add(reader);
    return reader;
  }

  commitOffsets(client: Client, offsets: readonly TopicPartitionOffset[]): void {
    this.requireConnected(client, 'commitOffsets');
    const m = client.membership;
    if (m === null || (m.state !== 'active' && m.state !== 'leaving')) {
      throw new TransportError(`commitOffsets: ${client.clientId} is not a member of a group`);
    }
    for (const o of offsets) {
      const log = this.log(o);
      if (!Number.isInteger(o.offset) || o.offset < 0)
        throw new TransportError(`commitOffsets: invalid offset ${String(o.offset)} for ${describeTp(o)}`);
      if (!m.assigned.has(tpKey(log.topic, log.partition))) {
        throw new TransportError(`commitOffsets: ${describeTp(o)} is not assigned to ${m.memberId} (rebalanced away?)`);
      }
    }
    const copy = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }));
    this.commits.push({ groupId: m.group.id, memberId: m.memberId, clientId: client.clientId, offsets: copy });
    let byTp = this.committed.get(m.group.id);
    if (byTp === undefined) {
      byTp = new Map();
      this.committed.set(m.group.id, byTp);
    }
    for (const o of copy) byTp.set(tpKey(o.topic, o.partition), o.offset);
  }

  // ---- compaction and retention ---------------------------------------------------------------

  compact(topicName: string, options: CompactOptions): number {
    const topic = this.topic(topicName);
    if (!topic.compacted) throw new TransportError(`compact: topic ${topicName} was not created with { compacted: true }`);
    const retention = options.tombstoneRetentionMs ?? DEFAULT_TOMBSTONE_RETENTION_MS;
    const now = options.now ?? this.clock.now();
    const expired = (entry: Entry): boolean => entry.timestamp + retention <= now;
    let removed = 0;
    for (const log of topic.logs) {
      // Only the stable part of the log is cleanable (an open transaction and what follows stay).
      const lso = log.lastStable;
      const latest = new Map<string, number>();
      for (const entry of log.entries) {
        if (entry.offset >= lso) break;
        if (isVisible(entry) && entry.key !== null) latest.set(keyString(entry.key), entry.offset);
      }
      const keepData = (entry: Entry): boolean => {
        if (entry.txn !== null && entry.txn.state === 'aborted') return false;
        if (entry.key === null) return true;
        if (latest.get(keyString(entry.key)) !== entry.offset) return false;
        return !(entry.value === null && expired(entry));
      };
      const survivors = log.entries.filter((entry) => entry.offset >= lso || entry.control !== null || keepData(entry));
      // A marker goes once no record of its transaction is left here and the retention passed.
      const liveTxns = new Set<Txn>();
      for (const entry of survivors) if (entry.control === null && entry.txn !== null) liveTxns.add(entry.txn);
      const kept = survivors.filter(
        (entry) => entry.offset >= lso || entry.control === null || liveTxns.has(entry.txn!) || !expired(entry),
      );
      removed += log.entries.length - kept.length;
      log.entries = kept;
      // Stricter than Kafka (which keeps its log start offset): the low watermark follows the
      // head, so code seeking to literal offset 0 instead of the logical beginning is caught.
      log.low = Math.max(log.low, kept[0]?.offset ?? log.end);
    }
    this.wakeAll();
    return removed;
  }

  deleteRecords(tp: TopicPartition, beforeOffset: number): void {
    const log = this.log(tp);
    if (!Number.isInteger(beforeOffset) || beforeOffset < 0 || beforeOffset > log.lastStable) {
      throw new RangeError(
        `deleteRecords: offset must be an integer in [0, ${log.lastStable}] for ${describeTp(tp)}, got ${String(beforeOffset)}`,
      );
    }
    if (beforeOffset <= log.low) return;
    log.entries = log.entries.filter((entry) => entry.offset >= beforeOffset);
    log.low = beforeOffset;
    this.wakeAll();
  }

  // ---- settling -------------------------------------------------------------------------------

  busyReasons(): string[] {
    const reasons: string[] = [];
    for (const group of this.groups.values()) {
      if (group.pendingOps > 0) {
        reasons.push(`group ${group.id}: rebalance in progress${group.waitingFor ? ` (waiting for ${group.waitingFor})` : ''}`);
      }
    }
    for (const m of this.memberships) {
      if (m.state !== 'active') continue;
      if (m.pumpScheduled) reasons.push(`${m.memberId}: delivery scheduled`);
      for (const a of m.assigned.values()) {
        const where = `${m.memberId} ${describeTp(a.log)}`;
        // A fetch waiting for its read time (readSpeed) waits for the clock, which settling cannot move.
        if (a.inFlight) {
          if (a.cancelFetch === null) reasons.push(`${where}: onBatch has not settled`);
        } else if (a.deliverable && !a.revoking && !a.stopped) {
          if (Math.max(a.position, a.log.low) < a.log.lastStable || !a.eofNotified) reasons.push(`${where}: records to deliver`);
        }
      }
    }
    return reasons;
  }

  async settle(timeoutMs: number): Promise<void> {
    const deadline = realPerformanceNow() + timeoutMs;
    let idleChecks = 0;
    for (;;) {
      await new Promise<void>((resolve) => realSetImmediate(resolve));
      const busy = this.busyReasons();
      if (busy.length === 0) {
        if (++idleChecks >= 2) return;
        continue;
      }
      idleChecks = 0;
      if (realPerformanceNow() > deadline) {
        throw new Error(
          `FakeBroker.settle: still busy after ${timeoutMs} ms: ${busy.join('; ')}. A callback that awaits a FakeClock ` +
            `timer, a paused transaction or another never-settling promise keeps the broker busy.`,
        );
      }
    }
  }
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}

const clusters = new WeakMap<FakeBroker, Cluster>();

function clusterOf(broker: FakeBroker): Cluster {
  const cluster = clusters.get(broker);
  if (cluster === undefined) throw new TypeError('not a FakeBroker');
  return cluster;
}

const clientsOf = new WeakMap<FakeTransport, Client>();

// ---------------------------------------------------------------------------------------------
// Public classes
// ---------------------------------------------------------------------------------------------

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

  constructor(options: FakeBrokerOptions = {}) {
    const cluster = new Cluster(options);
    this.#cluster = cluster;
    clusters.set(this, cluster);
    this.#faults = createFaults(cluster);
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

/**
 * One group member of a {@link FakeBroker}: a consumer and a producer implementing the core
 * `Transport` port (`specificationVersion: 'v1'`). Create it with `broker.createTransport()`.
 *
 * Gotchas: one subscription at a time; `seek`, `seekToBeginning` and `commitOffsets` need the
 * partition to be assigned to this member (`openReader` does not); every operation rejects with a `TransportError` before
 * `connect()` and after `close()`.
 */
export class FakeTransport implements Transport {
  readonly specificationVersion = 'v1' as const;
  /** This member's client id. */
  readonly clientId: string;
  readonly #cluster: Cluster;
  readonly #client: Client;

  constructor(broker: FakeBroker, options: FakeTransportOptions = {}) {
    this.#cluster = clusterOf(broker);
    this.#client = this.#cluster.newClient(options);
    this.clientId = this.#client.clientId;
    clientsOf.set(this, this.#client);
  }

  /** The current group member id, while subscribed. */
  get memberId(): string | undefined {
    return this.#client.membership?.memberId;
  }

  /** Partitions assigned to this member now, sorted (including ones whose `onAssigned` is still running). */
  assignment(): TopicPartition[] {
    return sortedTps(this.#client.membership?.assigned.values() ?? []);
  }

  /** This member's position (next offset to fetch) in an assigned partition. */
  position(tp: TopicPartition): number | undefined {
    return this.#client.membership?.assigned.get(tpKey(tp.topic, tp.partition))?.position;
  }

  async connect(): Promise<void> {
    this.#client.status = 'connected';
  }

  /** Leaves the group (awaiting `onRevoked`), aborts open transactions of its producers, and closes. */
  async close(): Promise<void> {
    const client = this.#client;
    if (client.status === 'closed') return;
    if (client.membership) await this.#cluster.leave(client.membership);
    for (const reader of [...client.readers]) await reader.close();
    for (const producer of [...client.producers]) await producer.close();
    client.status = 'closed';
  }

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    return this.#cluster.subscribe(this.#client, options);
  }

  async seekToBeginning(tp: TopicPartition): Promise<Watermarks> {
    return this.#cluster.seek(this.#client, tp, 'low', 'seekToBeginning');
  }

  /** Moves this member's position in an assigned partition to `offset`, clamped into [low, high]. */
  async seek(tp: TopicPartition, offset: number): Promise<Watermarks> {
    return this.#cluster.seek(this.#client, tp, offset, 'seek');
  }

  /**
   * A reader of one partition outside the group (see {@link FakePartitionReader}); rejects with a
   * `TransportError` for an unknown topic or partition. `fromOffset` is clamped into [low, high].
   */
  async openReader(tp: TopicPartition, options: { readonly fromOffset: number }): Promise<FakePartitionReader> {
    return this.#cluster.openReader(this.#client, tp, options);
  }

  async fetchWatermarks(tp: TopicPartition): Promise<Watermarks> {
    this.#cluster.requireConnected(this.#client, 'fetchWatermarks');
    const log = this.#cluster.log(tp);
    return { low: log.low, high: log.lastStable };
  }

  async partitionCount(topic: string): Promise<number> {
    this.#cluster.requireConnected(this.#client, 'partitionCount');
    return this.#cluster.topic(topic).logs.length;
  }

  /** Appends the records in order; each is readable before the promise resolves. */
  async produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    this.#cluster.requireConnected(this.#client, 'produce');
    const out: RecordMetadata[] = [];
    for (const record of records) out.push(this.#cluster.append(this.#client, record, 'produce', null));
    return out;
  }

  /** Appends the records on the next microtask; failures go to `onError`. */
  produceNoWait(records: readonly ProduceRecord[], onError?: (error: unknown) => void): void {
    const report = (error: unknown): void => {
      try {
        onError?.(error);
      } catch {
        // produceNoWait never throws, not even through its callback.
      }
    };
    let list: ProduceRecord[];
    try {
      list = [...records];
    } catch (error) {
      queueMicrotask(() => report(error));
      return;
    }
    queueMicrotask(() => {
      try {
        this.#cluster.requireConnected(this.#client, 'produceNoWait');
        for (const record of list) this.#cluster.append(this.#client, record, 'produceNoWait', null);
      } catch (error) {
        report(error);
      }
    });
  }

  async createTransactionalProducer(transactionalId: string): Promise<TransactionalProducer> {
    this.#cluster.requireConnected(this.#client, 'createTransactionalProducer');
    if (typeof transactionalId !== 'string' || transactionalId.length === 0) {
      throw new TransportError('createTransactionalProducer: transactionalId must be a non-empty string');
    }
    const producer = new FakeTransactionalProducer(this.#cluster, this.#client, transactionalId);
    this.#client.producers.add(producer);
    return producer;
  }

  /** Records the commit in `broker.commits`; rejects for partitions not assigned to this member. */
  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    this.#cluster.commitOffsets(this.#client, offsets);
  }
}

/**
 * A {@link PartitionReader} of a {@link FakeBroker} partition, from {@link FakeTransport.openReader}:
 * read committed, outside any group (no assignment, no commits, no effect on members).
 *
 * Each `read()` resolves on a later macrotask turn (never synchronously, so a reading loop cannot
 * starve delivery) with up to the member's `maxBatchSize` committed records from its position, or,
 * at the last stable offset, with an empty batch whose `position` is that offset (at once: the fake
 * has no fetch wait). With {@link FakeBrokerOptions.readSpeed} it resolves only once the broker
 * clock advanced by the read time (EOF: `fetchLatencyMs`). A position below the low watermark (records deleted meanwhile) moves up to it.
 * Overlapping reads, reads after `close()` and reads after the transport closed reject with a
 * `TransportError`; `close()` also rejects a pending read.
 */
export class FakePartitionReader implements PartitionReader {
  readonly topic: string;
  readonly partition: number;
  readonly #cluster: Cluster;
  readonly #client: Client;
  readonly #log: PartitionLog;
  #position: number;
  #closed = false;
  #pending: { readonly reject: (error: unknown) => void; readonly cancel: () => void } | null = null;

  constructor(cluster: Cluster, client: Client, log: PartitionLog, position: number) {
    this.#cluster = cluster;
    this.#client = client;
    this.#log = log;
    this.topic = log.topic;
    this.partition = log.partition;
    this.#position = position;
  }

  /** The next offset this reader reads. */
  get position(): number {
    return this.#position;
  }

  /** True once closed (by `close()` or by closing its transport). */
  get closed(): boolean {
    return this.#closed;
  }

  read(): Promise<PartitionBatch> {
    const where = describeTp(this);
    if (this.#closed) return Promise.reject(new TransportError(`read: the reader of ${where} is closed`));
    try {
      this.#cluster.requireConnected(this.#client, 'read');
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#pending) return Promise.reject(new TransportError(`read: a read of ${where} is already pending (calls must not overlap)`));
    return new Promise<PartitionBatch>((resolve, reject) => {
      const log = this.#log;
      if (this.#position < log.low) this.#position = log.low;
      const batch =
        this.#position < log.lastStable
          ? fetchBatch(log, this.#position, this.#client.maxBatchSize)
          : { topic: log.topic, partition: log.partition, records: [], position: this.#position, highWatermark: log.lastStable };
      const cluster = this.#cluster;
      let cancel: () => void = () => {};
      this.#pending = { reject, cancel: () => cancel() };
      void cluster
        .waitReadTime(cluster.readTimeMs(batch.records.length), (c) => (cancel = c))
        .then((passed) => {
          if (!passed) return;
          this.#pending = null;
          this.#position = batch.position;
          resolve(batch);
        });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.readers.delete(this);
    const pending = this.#pending;
    this.#pending = null;
    if (pending) {
      pending.cancel();
      pending.reject(new TransportError(`read: the reader of ${describeTp(this)} was closed`));
    }
  }
}

function fencedError(transactionalId: string): FencedError {
  return new FencedError(`producer fenced: transactional id ${transactionalId} was initialised by a newer producer`);
}

class FakeTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  readonly #cluster: Cluster;
  readonly #client: Client;
  #epoch: number | null = null;
  #current: Txn | null = null;
  #closed = false;

  constructor(cluster: Cluster, client: Client, transactionalId: string) {
    this.#cluster = cluster;
    this.#client = client;
    this.transactionalId = transactionalId;
  }

  async init(): Promise<void> {
    this.#cluster.requireConnected(this.#client, 'init');
    if (this.#closed) throw new TransportError(`init: transactional producer ${this.transactionalId} is closed`);
    this.#epoch = this.#cluster.initTransactionalId(this.transactionalId);
  }

  async sendInTransaction(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    const cluster = this.#cluster;
    cluster.requireConnected(this.#client, 'sendInTransaction');
    if (this.#closed) throw new TransportError(`sendInTransaction: transactional producer ${this.transactionalId} is closed`);
    if (this.#epoch === null) throw new TransportError('sendInTransaction: call init() first');
    const epoch = this.#epoch;
    if (!cluster.isCurrentEpoch(this.transactionalId, epoch)) throw fencedError(this.transactionalId);
    if (this.#current) throw new TransportError(`sendInTransaction: a transaction of ${this.transactionalId} is already in progress`);
    const txn = cluster.beginTxn(this.transactionalId);
    this.#current = txn;
    try {
      const out: RecordMetadata[] = [];
      for (const record of records) out.push(cluster.append(this.#client, record, 'transaction', txn));
      await cluster.beforeCommit(txn);
      if (!cluster.isCurrentEpoch(this.transactionalId, epoch)) throw fencedError(this.transactionalId);
      if (txn.state !== 'open') throw new TransportError(`transaction of ${this.transactionalId} was aborted (producer closed)`);
      const fault = cluster.commitFault(txn);
      if (fault) throw fault.error;
      cluster.endTxn(txn, 'committed');
      return out;
    } catch (error) {
      cluster.endTxn(txn, 'aborted');
      throw error;
    } finally {
      this.#current = null;
    }
  }

  async close(): Promise<void> {
    if (this.#current) this.#cluster.endTxn(this.#current, 'aborted');
    this.#closed = true;
    this.#client.producers.delete(this);
  }
}

function createFaults(cluster: Cluster): FakeBrokerFaults {
  const removeFrom =
    <T>(list: T[], item: () => T | undefined) =>
    () => {
      const found = item();
      const i = found === undefined ? -1 : list.indexOf(found);
      if (i >= 0) list.splice(i, 1);
    };
  return {
    failProduce(options: FailProduceOptions = {}): FaultHandle {
      let fault: ProduceFault | undefined;
      const handle = new CountedFault(
        options,
        () => new TransportError('injected produce failure (broker.faults.failProduce)', { retriable: true }),
        removeFrom(cluster.produceFaults, () => fault),
      );
      fault = { handle, topic: options.topic, source: options.source };
      cluster.produceFaults.push(fault);
      return handle;
    },
    failTransactionCommit(options: FailTransactionCommitOptions = {}): FaultHandle {
      let fault: CommitFault | undefined;
      const handle = new CountedFault(
        options,
        () => new TransportError('injected transaction commit failure (broker.faults.failTransactionCommit)', { retriable: true }),
        removeFrom(cluster.commitFaults, () => fault),
      );
      fault = { handle, transactionalId: options.transactionalId };
      cluster.commitFaults.push(fault);
      return handle;
    },
    pauseTransactionBeforeCommit(transactionalId: string, options: PauseTransactionOptions = {}): TransactionPause {
      const nth = options.nth ?? 1;
      if (!Number.isInteger(nth) || nth < 1) throw new RangeError(`nth must be a positive integer, got ${String(nth)}`);
      const pause = new Pause(transactionalId, nth);
      cluster.pauses.add(pause);
      return pause;
    },
    dropMember(transport: FakeTransport): Promise<void> {
      const client = clientsOf.get(transport);
      if (client === undefined) throw new TypeError('dropMember: not a FakeTransport');
      const m = client.membership;
      return m ? cluster.drop(m) : Promise.resolve();
    },
    clear(): void {
      for (const fault of [...cluster.produceFaults]) fault.handle.remove();
      for (const fault of [...cluster.commitFaults]) fault.handle.remove();
      for (const pause of cluster.pauses) pause.release();
      cluster.pauses.clear();
    },
  };
}
