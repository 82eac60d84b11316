/**
 * The Transport shell: what every adapter's `Transport` does the same way, written once. An
 * adapter implements a small {@link TransportDriver} over its client (connect its clients, join a
 * group, open a reader, fetch watermarks, count partitions, produce, create a transactional
 * producer, disconnect), usually over {@link TransportDriverBase}, and {@link createTransport}
 * wraps it with the rest of the port:
 *
 * - the lifecycle `idle → connecting → connected → closing → closed`, connecting on first use
 *   (or, with `notConnected`, refusing operations before `connect()`);
 * - one subscription per transport (a transport is one group member), registered before it joins
 *   so that the first `onAssigned` may already seek;
 * - argument checks of `seek`, `openReader` and `createTransactionalProducer`, naming the field;
 * - the contexts a driver's member, reader and transactional producer are built from (a reader's
 *   `fromOffset` clamped into the watermarks fetched for it); "topic does not exist" for
 *   `partitionCount`;
 * - `seek` / `seekToBeginning` / `commitOffsets` routed to the member, with a clear error without one;
 * - `produce` refusing after close, `produceNoWait` over `produce` (never throws);
 * - close ordering: the member (awaiting `onRevoked`), then the readers, then the transactional
 *   producers, then the driver's own clients.
 *
 * @module
 */
import { InvalidArgumentError, StateError, TransportError, UnsupportedError } from '../errors.js';
import type { Violation } from '../errors.js';
import type { Logger } from '../ports/logger.js';
import { produceWithoutWaiting } from '../ports/transport.js';
import type { ErrorMapper } from './errors.js';
import type {
  GroupListener,
  PartitionReader,
  ProduceOptions,
  ProduceRecord,
  RecordMetadata,
  SubscribeOptions,
  Subscription,
  TopicPartition,
  TopicPartitionOffset,
  TransactionalProducer,
  TransactionalProducerOptions,
  Transport,
  Watermarks,
} from '../ports/transport.js';

/** A group member as the shell drives it: a `Subscription` that also seeks and commits. */
export interface GroupMemberHandle extends Subscription {
  /** See `Transport.seek` (the shell has checked `offset`). */
  seek(tp: TopicPartition, offset: number): Promise<Watermarks>;
  /** See `Transport.seekToBeginning`. */
  seekToBeginning(tp: TopicPartition): Promise<Watermarks>;
  /** See `Transport.commitOffsets`. */
  commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void>;
}

/**
 * Where a driver registers what it creates, so that the shell closes it with the transport:
 * `add` as soon as the thing exists (before it starts: closing the transport meanwhile closes it
 * too), `delete` once it closed by itself. A `Set` is one.
 */
export interface Tracker<T> {
  add(item: T): unknown;
  delete(item: T): unknown;
}

/** What the shell gives a driver's `join`: the subscription, and where the member registers. */
export interface MemberContext {
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly listener: GroupListener;
  readonly logger: Logger;
  /**
   * The transport's member slot: `add` the member before it joins (the first `onAssigned` may call
   * `seek` on the transport), `delete` it once it left by itself (closed or crashed for good).
   */
  readonly members: Tracker<GroupMemberHandle>;
  /** Watermarks (low, read-committed high) of one partition; connects the transport on first use. */
  watermarks(tp: TopicPartition): Promise<Watermarks>;
}

/** What the shell gives a driver's `openReader`. */
export interface ReaderContext<R extends PartitionReader = PartitionReader> {
  readonly tp: TopicPartition;
  /** The offset asked for (unclamped). */
  readonly fromOffset: number;
  /** The partition's watermarks (low, read-committed high), fetched for this reader. */
  readonly watermarks: Watermarks;
  /** Where reading starts: `fromOffset` clamped into `watermarks`. */
  readonly start: number;
  readonly logger: Logger;
  /** The transport's readers: `add` a reader as soon as it exists (closing the transport meanwhile closes it), `delete` it once closed. */
  readonly readers: Tracker<R>;
}

/** What the shell gives a driver's `createTransactionalProducer`. */
export interface TransactionalContext {
  readonly transactionalId: string;
  /** A producer fenced by the group, for this partition (see `TransactionalProducerOptions.fencedByGroup`); only when the driver says `groupFencedTransactions`. */
  readonly fencedByGroup?: TopicPartition;
  readonly logger: Logger;
  /** Call once the producer closed (the transport stops tracking it). */
  readonly onClosed: (producer: TransactionalProducer) => void;
}

/**
 * What an adapter implements over its client. Every method may assume the shell's checks passed
 * and (except `connect`, `disconnect` and `createTransactionalProducer`) that the driver is
 * connected. Errors are the driver's to map (to `TransportError`, `FencedError`, …).
 */
export interface TransportDriver<R extends PartitionReader = PartitionReader> {
  /** Where the shell logs what it cannot throw (a failed disconnect, a failed `produceNoWait`). */
  readonly logger: Logger;
  /**
   * Called once by the shell with a `ready()` that connects the transport on first use (or
   * rejects when it is closed), for work the driver starts outside the shell's operations (e.g. a
   * transactional producer that needs the transport's admin client).
   */
  attach?(shell: { ready(): Promise<void> }): void;
  /**
   * Connects the driver's own clients (producer, admin, …), rejecting with a mapped error (e.g. a
   * `TransportError` naming the brokers). Called again after a failed attempt.
   */
  connect(): Promise<void>;
  /** Disconnects the driver's own clients; called last by `close()`. A rejection is logged. */
  disconnect(): Promise<void>;
  /**
   * Joins `context.groupId` and starts consuming (see {@link MemberContext} for registering the
   * member; the kit's `GroupMemberBase` does it).
   */
  join(context: MemberContext): Promise<GroupMemberHandle>;
  /** Opens a reader of `context.tp` from `context.start`, registering it with `context.readers` (the kit's `PartitionReaderBase` does it). */
  openReader(context: ReaderContext<R>): Promise<R>;
  fetchWatermarks(tp: TopicPartition): Promise<Watermarks>;
  /** See `Transport.offsetForTime`. */
  offsetForTime(tp: TopicPartition, timestampMs: number): Promise<number>;
  /** The number of partitions of `topic`; `undefined` or 0 when it does not exist (the shell says so). */
  partitionCount(topic: string): Promise<number | undefined>;
  /** Produces a non-empty batch (see `Transport.produce`). */
  produce(records: readonly ProduceRecord[], options?: ProduceOptions): Promise<RecordMetadata[]>;
  /** A fire-and-forget produce of its own; by default the shell runs `produce` without waiting. */
  produceNoWait?(records: readonly ProduceRecord[], onError?: (error: unknown) => void): void;
  /** A transactional producer, not initialised; `context.onClosed` it once it closed. */
  createTransactionalProducer(context: TransactionalContext): TransactionalProducer;
  /** Whether `createTransactionalProducer` takes `context.fencedByGroup` (see `Transport.groupFencedTransactions`). */
  readonly groupFencedTransactions?: boolean;
}

/** `count` partitions of `topic`, or the error that the topic does not exist. */
export function existingPartitionCount(topic: string, count: number | undefined): number {
  if (count === undefined || count <= 0) throw new TransportError(`topic ${topic} does not exist`, { retriable: false });
  return count;
}

/**
 * A driver over a Kafka client, with what every such driver does the same way: the logger, the
 * shell's `ready()` (see {@link TransportDriver.attach}), connect errors naming the brokers, and
 * partition counts that reject for a topic that does not exist.
 */
export abstract class TransportDriverBase<R extends PartitionReader = PartitionReader> implements TransportDriver<R> {
  readonly logger: Logger;
  protected readonly errors: ErrorMapper;
  readonly #brokers: readonly string[];
  #shell: { ready(): Promise<void> } | undefined;

  constructor(options: { readonly logger: Logger; readonly brokers: readonly string[] }, errors: ErrorMapper) {
    this.logger = options.logger;
    this.#brokers = options.brokers;
    this.errors = errors;
  }

  attach(shell: { ready(): Promise<void> }): void {
    this.#shell = shell;
  }

  /** Connects the transport on first use (rejects once it is closed): for work outside the shell's operations. */
  protected async ready(): Promise<void> {
    await this.#shell?.ready();
  }

  async connect(): Promise<void> {
    await this.connectClients().catch(this.errors.rethrowAs(`connecting to ${this.#brokers.join(',')}`));
  }

  /** The partition count of an existing topic (connecting first), else a `TransportError`. */
  protected async existingPartitionCount(topic: string): Promise<number> {
    await this.ready();
    return existingPartitionCount(topic, await this.partitionCount(topic));
  }

  /** Connects the driver's own clients (errors are mapped by `connect`). */
  protected abstract connectClients(): Promise<void>;
  abstract disconnect(): Promise<void>;
  abstract join(context: MemberContext): Promise<GroupMemberHandle>;
  abstract openReader(context: ReaderContext<R>): Promise<R>;
  abstract fetchWatermarks(tp: TopicPartition): Promise<Watermarks>;
  abstract offsetForTime(tp: TopicPartition, timestampMs: number): Promise<number>;
  abstract partitionCount(topic: string): Promise<number | undefined>;
  abstract produce(records: readonly ProduceRecord[], options?: ProduceOptions): Promise<RecordMetadata[]>;
  abstract createTransactionalProducer(context: TransactionalContext): TransactionalProducer;
}

/** Settings of the shell. */
export interface TransportShellOptions {
  /**
   * Operations before `connect()`: connect on first use (default), or reject with the error this
   * returns (for `operation`, e.g. `'produce'`).
   */
  readonly notConnected?: (operation: string) => Error;
  /** The error for a bad argument (`offset`, `fromOffset`, `transactionalId`). Default: an `InvalidArgumentError`. */
  readonly invalidArgument?: (violation: Violation) => Error;
}

type Lifecycle = 'idle' | 'connecting' | 'connected' | 'closing' | 'closed';

/** The shell (see the module comment). Adapters with extra public API extend it. */
export class TransportShell<R extends PartitionReader = PartitionReader> implements Transport {
  readonly specificationVersion = 'v1' as const;
  readonly #driver: TransportDriver<R>;
  readonly #options: TransportShellOptions;
  readonly #readers = new Set<R>();
  readonly #producers = new Set<TransactionalProducer>();
  #member: GroupMemberHandle | undefined;
  #subscribing = false;
  #state: Lifecycle = 'idle';
  #connecting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(driver: TransportDriver<R>, options: TransportShellOptions = {}) {
    this.#driver = driver;
    this.#options = options;
    driver.attach?.({ ready: () => this.#ready('connect') });
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  connect(): Promise<void> {
    if (this.#isClosed()) return Promise.reject(new StateError('the transport is closed'));
    this.#connecting ??= (async () => {
      this.#state = 'connecting';
      try {
        await this.#driver.connect();
        if (this.#state === 'connecting') this.#state = 'connected';
      } catch (error) {
        this.#connecting = undefined;
        if (this.#state === 'connecting') this.#state = 'idle';
        throw error;
      }
    })();
    return this.#connecting;
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#state = 'closing';
      await this.#connecting?.catch(() => {});
      await this.#member?.close();
      await Promise.all([...this.#readers].map((r) => r.close()));
      await Promise.all([...this.#producers].map((p) => p.close()));
      await this.#driver.disconnect().catch((error: unknown) => {
        this.#driver.logger.warn({ error }, 'disconnecting the transport clients failed');
      });
      this.#state = 'closed';
    })();
    return this.#closing;
  }

  #invalid(violation: Violation): Error {
    return this.#options.invalidArgument ? this.#options.invalidArgument(violation) : new InvalidArgumentError([violation]);
  }

  #requireOffset(field: string, value: unknown): void {
    if (!Number.isSafeInteger(value)) {
      throw this.#invalid({ field, rule: 'integer', message: `needs to be an integer offset, got ${String(value)}` });
    }
  }

  #isClosed(): boolean {
    return this.#state === 'closing' || this.#state === 'closed';
  }

  /** Throws when the transport is closed, or not connected and not connecting on first use. */
  #check(operation: string): void {
    if (this.#isClosed()) throw new StateError('the transport is closed');
    if (this.#state !== 'connected' && this.#options.notConnected) throw this.#options.notConnected(operation);
  }

  /** Connects on first use, so every operation works without an explicit `connect()`. */
  async #ready(operation: string): Promise<void> {
    if (this.#state === 'connected') return;
    this.#check(operation);
    await this.connect();
  }

  // ---- consuming ------------------------------------------------------------------------------

  async subscribe(options: SubscribeOptions): Promise<Subscription> {
    if (this.#member !== undefined || this.#subscribing) {
      throw new StateError('this transport is already subscribed (one transport is one group member); close that subscription first');
    }
    if (options.topics.length === 0) throw new StateError('subscribe needs at least one topic (topics is empty)');
    this.#subscribing = true;
    let joined: GroupMemberHandle | undefined;
    try {
      await this.#ready('subscribe');
      return await this.#driver.join({
        groupId: options.groupId,
        topics: options.topics,
        listener: options.listener,
        logger: this.#driver.logger,
        // Registered before joining: the first onAssigned (during the join) may already seek.
        members: {
          add: (member) => {
            joined = member;
            this.#member = member;
          },
          delete: (member) => {
            if (this.#member === member) this.#member = undefined;
          },
        },
        watermarks: (tp) => this.fetchWatermarks(tp),
      });
    } catch (error) {
      if (joined !== undefined && this.#member === joined) this.#member = undefined;
      throw error;
    } finally {
      this.#subscribing = false;
    }
  }

  async seekToBeginning(tp: TopicPartition): Promise<Watermarks> {
    return this.#owner(tp).seekToBeginning(tp);
  }

  async seek(tp: TopicPartition, offset: number): Promise<Watermarks> {
    this.#requireOffset('offset', offset);
    return this.#owner(tp).seek(tp, offset);
  }

  #owner(tp: TopicPartition): GroupMemberHandle {
    const member = this.#member;
    if (member === undefined) {
      throw new TransportError(`partition ${tp.partition} of ${tp.topic} is not assigned to this member (no subscription)`, {
        retriable: false,
      });
    }
    return member;
  }

  async openReader(tp: TopicPartition, options: { readonly fromOffset: number }): Promise<R> {
    if (this.#isClosed()) throw new StateError('the transport is closed');
    const fromOffset = (options as { readonly fromOffset?: unknown } | undefined)?.fromOffset;
    this.#requireOffset('fromOffset', fromOffset);
    await this.#ready('openReader');
    const plain = { topic: tp.topic, partition: tp.partition };
    const watermarks = await this.#driver.fetchWatermarks(plain);
    const reader = await this.#driver.openReader({
      tp: plain,
      fromOffset: fromOffset as number,
      watermarks,
      start: Math.min(Math.max(fromOffset as number, watermarks.low), watermarks.high),
      logger: this.#driver.logger,
      readers: this.#readers,
    });
    if (this.#state !== 'connected') {
      // Closed while it opened: the transport's close may have missed it.
      await reader.close();
      throw new StateError('the transport is closed');
    }
    return reader;
  }

  async commitOffsets(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const member = this.#member;
    if (member === undefined) {
      throw new StateError('commitOffsets: this transport is not a member of a group (offsets are committed for its subscription)');
    }
    await member.commitOffsets(offsets);
  }

  // ---- metadata -------------------------------------------------------------------------------

  async fetchWatermarks(tp: TopicPartition): Promise<Watermarks> {
    await this.#ready('fetchWatermarks');
    return this.#driver.fetchWatermarks(tp);
  }

  async offsetForTime(tp: TopicPartition, timestampMs: number): Promise<number> {
    await this.#ready('offsetForTime');
    return this.#driver.offsetForTime(tp, timestampMs);
  }

  async partitionCount(topic: string): Promise<number> {
    await this.#ready('partitionCount');
    return existingPartitionCount(topic, await this.#driver.partitionCount(topic));
  }

  // ---- producing ------------------------------------------------------------------------------

  async produce(records: readonly ProduceRecord[], options?: ProduceOptions): Promise<RecordMetadata[]> {
    this.#check('produce');
    if (records.length === 0) return [];
    await this.#ready('produce');
    return this.#driver.produce(records, options);
  }

  produceNoWait(records: readonly ProduceRecord[], onError?: (error: unknown) => void): void {
    if (this.#driver.produceNoWait) this.#driver.produceNoWait(records, onError);
    else produceWithoutWaiting(() => this.produce(records), onError, this.#driver.logger);
  }

  get groupFencedTransactions(): boolean {
    return this.#driver.groupFencedTransactions === true;
  }

  async createTransactionalProducer(transactionalId: string, options?: TransactionalProducerOptions): Promise<TransactionalProducer> {
    if (this.#isClosed()) throw new StateError('the transport is closed');
    if (typeof transactionalId !== 'string' || transactionalId.length === 0) {
      throw this.#invalid({ field: 'transactionalId', rule: 'required', message: 'must be a non-empty string' });
    }
    const fencedByGroup = options?.fencedByGroup;
    if (fencedByGroup !== undefined) {
      if (!this.groupFencedTransactions) {
        throw new UnsupportedError(
          'this adapter cannot fence transactions by the consumer group (its client sends no group metadata with a transactional offset commit); use per-partition fencing',
        );
      }
      if (typeof fencedByGroup.topic !== 'string' || fencedByGroup.topic.length === 0) {
        throw this.#invalid({ field: 'fencedByGroup.topic', rule: 'required', message: 'must be a non-empty string' });
      }
      if (!Number.isInteger(fencedByGroup.partition) || fencedByGroup.partition < 0) {
        throw this.#invalid({ field: 'fencedByGroup.partition', rule: 'integer', message: 'must be an integer ≥ 0' });
      }
    }
    if (this.#options.notConnected) this.#check('createTransactionalProducer');
    const producer = this.#driver.createTransactionalProducer({
      transactionalId,
      ...(fencedByGroup !== undefined ? { fencedByGroup: { topic: fencedByGroup.topic, partition: fencedByGroup.partition } } : {}),
      logger: this.#driver.logger,
      onClosed: (p) => this.#producers.delete(p),
    });
    this.#producers.add(producer);
    return producer;
  }
}

/**
 * A `Transport` over `driver` (see the module comment).
 *
 * @example
 * ```ts
 * export function createMyTransport(options: MyOptions): Transport {
 *   return createTransport(new MyDriver(parseMyOptions(options)));
 * }
 * ```
 */
export function createTransport<R extends PartitionReader>(driver: TransportDriver<R>, options: TransportShellOptions = {}): Transport {
  return new TransportShell(driver, options);
}

/** Runs tasks one after the other; {@link SerialQueue.idle} settles once every task queued so far has. */
export interface SerialQueue {
  /** Queues `task` after the ones before (a failed task does not stop the next); resolves as it does. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Settles (never rejects) once every task queued so far has settled. */
  idle(): Promise<void>;
}

/** A {@link SerialQueue}: e.g. one transaction at a time in a transactional producer. */
export function serialQueue(): SerialQueue {
  let queue: Promise<unknown> = Promise.resolve();
  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      const run = queue.then(task, task);
      queue = run.catch(() => {});
      return run;
    },
    idle: async () => {
      await queue;
    },
  };
}
