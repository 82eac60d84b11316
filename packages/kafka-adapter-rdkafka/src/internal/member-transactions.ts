/**
 * Transactions fenced by the consumer group (Kafka's exactly-once v2, KIP-447): one transactional
 * producer per member instead of one per partition.
 *
 * Every `TransactionalProducer` the transport creates with `fencedByGroup` and the same
 * transactional id is a {@link GroupFencedProducer} over one {@link MemberTransactions}: one
 * librdkafka producer, one transaction at a time. Transactions asked for while one runs are joined
 * into the next: its records are all handed over, then `sendOffsetsToTransaction` commits each
 * partition's consumed position with the group member's metadata (member id, generation), then
 * the commit. The group coordinator refuses that offset commit from a member whose generation is
 * over, so a member that lost its partitions in a rebalance (a zombie) cannot commit anything.
 * A joined transaction that fails on a record (not on the connection) is aborted and its
 * partitions are run again one by one, so one partition's bad record fails only its own flush.
 *
 * A partition's producer is `init()`ed by its new owner before it loads: librdkafka's
 * `committed()` under read committed asks with `require_stable`, and the coordinator keeps
 * answering "unstable" while an earlier owner's transaction with an offset commit for the
 * partition is open, so it returns once that transaction is committed or aborted. The commit
 * marker of the partition itself may still be on its way then (markers are written partition by
 * partition), so `init()` also waits until the partition's last stable offset has reached its high
 * watermark (read uncommitted), bounded by the transaction timeout: what a read-committed read of
 * the partition returns afterwards is final.
 *
 * A fatal error of the member's producer (librdkafka cannot abort) discards it; the next
 * transaction creates a new one with the same id, whose InitProducerId settles what the old one
 * left open. None of these errors is a `FencedError`: only the group decides who owns a partition,
 * and the revocation that follows a lost generation stops the partition's engine.
 *
 * @module
 */
import { StateError, TransportError } from '@ksched/core';
import type { Logger, ProduceRecord, RecordMetadata, TopicPartition } from '@ksched/core';
import { TransactionalProducerBase } from '@ksched/core/adapter';
import type { TransactionalContext } from '@ksched/core/adapter';
import type { KafkaConsumer, LibrdKafkaError } from 'node-rdkafka';
import { isFencedError, isRetriableError, rdKafkaGroupFencedErrors as groupErrors } from '../map-errors.js';
import type { ResolvedRdKafkaTransportOptions } from '../options.js';
import { createClient, producerConfig } from './config.js';
import { DeliveringProducer, prepareRecords } from './producer.js';
import type { DeliveryBatch, OutgoingRecord, PartitionCounts } from './producer.js';
import { callback, retryingTxnCall } from './txn-calls.js';

/** Longest pause between two checks while waiting for a stable position or offset, ms. */
const MAX_POLL_MS = 100;
/** Longest single `committed()` call while waiting for a stable committed position, ms. */
const COMMITTED_CALL_TIMEOUT_MS = 2000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** First back-off of a retried request of the member's producer, ms (librdkafka's default: 100). */
const MEMBER_RETRY_BACKOFF_MS = 5;

/**
 * The member's producer: a transactional producer whose retries start after 5 ms. Right after a
 * commit the coordinator answers CONCURRENT_TRANSACTIONS until the commit markers are written (a
 * few ms), and librdkafka retries the next transaction's AddOffsetsToTxn after `retry.backoff.ms`:
 * at the default 100 ms, every transaction that follows another waited about 90 ms there (7 ms
 * instead with 5 ms, one partition; 22 instead of 107 ms with 20). Unless the pass-through sets it.
 */
export function memberProducerConfig(options: ResolvedRdKafkaTransportOptions, transactionalId: string): ReturnType<typeof producerConfig> {
  const config = producerConfig(options, transactionalId);
  if (options.librdkafka['retry.backoff.ms'] === undefined) config.global['retry.backoff.ms'] = MEMBER_RETRY_BACKOFF_MS;
  return config;
}

/** What a {@link MemberTransactions} needs from its transport. */
export interface MemberTransactionsDeps {
  readonly transactionalId: string;
  readonly options: ResolvedRdKafkaTransportOptions;
  readonly logger: Logger;
  /** The group member (its consumer, and whether it holds a partition), while the transport is subscribed. */
  readonly member: () => { readonly consumer: KafkaConsumer; holds(tp: TopicPartition): boolean } | undefined;
  /** The partition's high watermark, read uncommitted (open transactions included). */
  readonly highWatermark: (tp: TopicPartition) => Promise<number>;
  /** The partition's last stable offset (its end for read-committed readers). */
  readonly stableOffset: (tp: TopicPartition) => Promise<number>;
}

interface Request {
  readonly tp: TopicPartition;
  readonly position: number;
  readonly records: readonly OutgoingRecord[];
  readonly resolve: (metadata: RecordMetadata[]) => void;
  readonly reject: (error: unknown) => void;
}

/** One member's transactional producer, shared by its partitions (see the module comment). */
export class MemberTransactions {
  readonly transactionalId: string;
  readonly #deps: MemberTransactionsDeps;
  readonly #options: ResolvedRdKafkaTransportOptions;
  readonly #logger: Logger;
  #producer: DeliveringProducer | undefined;
  /** Connecting and InitProducerId of `#producer`; unset once it failed or was discarded. */
  #ready: Promise<void> | undefined;
  readonly #queue: Request[] = [];
  #draining: Promise<void> | undefined;
  /** A transaction was begun and neither committed nor aborted. */
  #open = false;
  #closed = false;

  constructor(deps: MemberTransactionsDeps) {
    this.transactionalId = deps.transactionalId;
    this.#deps = deps;
    this.#options = deps.options;
    this.#logger = deps.logger;
  }

  /** Connects the member's producer and registers its id (once; again after a fatal error). */
  ready(): Promise<void> {
    if (this.#closed) return Promise.reject(new StateError(`transactional producer ${this.transactionalId} is closed`));
    if (this.#ready !== undefined) return this.#ready;
    const options = this.#options;
    const producer = createClient(
      'transactional producer',
      () =>
        new DeliveringProducer(
          memberProducerConfig(options, this.transactionalId),
          this.#logger,
          `member transactional producer ${this.transactionalId}`,
          options.pollIntervalMs,
        ),
    );
    this.#producer = producer;
    const ready = (async () => {
      await producer.connect(options.connectionTimeoutMs);
      await callback((cb) => producer.client.initTransactions(options.transactionTimeoutMs, cb));
    })();
    this.#ready = ready;
    ready.catch(() => {
      if (this.#ready === ready) this.#discard();
    });
    return ready.catch((error: unknown) => {
      throw groupErrors.toTransportError(error, `initialising the member's transactional producer ${this.transactionalId}`);
    });
  }

  /**
   * The committed position of `tp` once no earlier owner's transactional offset commit for it is
   * pending (see the module comment); -1 when the group has none.
   */
  async stableCommitted(tp: TopicPartition, cancelled: () => boolean = () => false): Promise<number> {
    const deadline = Date.now() + this.#options.transactionTimeoutMs + this.#options.requestTimeoutMs;
    // librdkafka retries "unstable" within one call: short calls, so that closing does not wait for a long one.
    const callTimeoutMs = Math.min(this.#options.requestTimeoutMs, COMMITTED_CALL_TIMEOUT_MS);
    for (let wait = 10; ; wait = Math.min(wait * 2, MAX_POLL_MS * 10)) {
      const consumer = this.#deps.member()?.consumer;
      if (consumer === undefined)
        throw new StateError(`no group member: a partition fenced by the group needs the transport's subscription`);
      try {
        const offsets = await new Promise<{ offset?: number }[]>((resolve, reject) =>
          consumer.committed([{ topic: tp.topic, partition: tp.partition }], callTimeoutMs, (error, result) =>
            error ? reject(error) : resolve(result as { offset?: number }[]),
          ),
        );
        const offset = offsets[0]?.offset;
        return typeof offset === 'number' && offset >= 0 ? offset : -1;
      } catch (error) {
        if (this.#closed || cancelled()) throw new StateError(`transactional producer ${this.transactionalId} is closed`);
        if (Date.now() + wait > deadline)
          throw groupErrors.toTransportError(error, `fetching the stable committed position of ${tp.topic}[${tp.partition}]`);
        this.#logger.debug(
          { ...tp, error },
          'the committed position is not stable yet (an earlier owner has a transaction open); retrying',
        );
        await sleep(wait);
      }
    }
  }

  /** The partition's last stable offset. */
  stableOffset(tp: TopicPartition): Promise<number> {
    return this.#deps.stableOffset(tp);
  }

  /**
   * Waits until the last stable offset of `tp` has reached its high watermark as of now, so that
   * the commit marker of a transaction already decided is written; bounded by the transaction
   * timeout (then a warning: another producer keeps a transaction open there).
   */
  async untilSettled(tp: TopicPartition, cancelled: () => boolean = () => false): Promise<void> {
    const high = await this.#deps.highWatermark(tp);
    const deadline = Date.now() + this.#options.transactionTimeoutMs;
    for (let wait = 2; ; wait = Math.min(wait * 2, MAX_POLL_MS)) {
      const stable = await this.#deps.stableOffset(tp).catch(() => -1);
      if (stable >= high) return;
      if (this.#closed || cancelled()) throw new StateError(`transactional producer ${this.transactionalId} is closed`);
      if (Date.now() + wait > deadline) {
        this.#logger.warn(
          { ...tp, high, stable },
          'a transaction is still open on the partition after transactionTimeoutMs; loading up to its last stable offset',
        );
        return;
      }
      await sleep(wait);
    }
  }

  /**
   * Runs `records` of partition `tp` in a transaction that commits `position` for the group,
   * joined with whatever other partitions ask for meanwhile. Resolves with their metadata once
   * committed; rejects when the transaction (or, after a joined one failed on a record, its own)
   * was aborted.
   */
  send(tp: TopicPartition, position: number, records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    if (this.#closed) return Promise.reject(new StateError(`transactional producer ${this.transactionalId} is closed`));
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      this.#queue.push({ tp, position, records, resolve, reject });
      this.#draining ??= this.#drain().finally(() => {
        this.#draining = undefined;
      });
    });
  }

  async #drain(): Promise<void> {
    // Let the partitions whose flushes started in this turn of the event loop join.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#queue.length);
      await this.#run(batch);
    }
  }

  async #run(batch: Request[]): Promise<void> {
    let failure: unknown;
    try {
      const results = await this.#transaction(batch);
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(results[i]!);
      return;
    } catch (error) {
      failure = error;
    }
    // A joined transaction that failed on a record: each partition on its own, so the bad one fails alone.
    if (batch.length > 1 && this.#ready !== undefined && !this.#closed && !isRetriableError(failure)) {
      this.#logger.debug({ partitions: batch.length, error: failure }, 'a joined transaction failed; running its partitions one by one');
      for (const request of batch) {
        try {
          request.resolve((await this.#transaction([request]))[0]!);
        } catch (error) {
          request.reject(error);
        }
      }
      return;
    }
    for (const request of batch) request.reject(failure);
  }

  async #transaction(batch: readonly Request[]): Promise<RecordMetadata[][]> {
    await this.ready();
    const producer = this.#producer!;
    const client = producer.client;
    const member = this.#deps.member();
    if (member === undefined) throw new StateError('no group member: a transaction fenced by the group needs the subscription');
    // The broker refuses a stale generation; a partition this member already gave up is refused here first.
    const lost = batch.find((r) => !member.holds(r.tp));
    if (lost !== undefined) {
      throw new TransportError(
        `partition ${lost.tp.partition} of ${lost.tp.topic} is no longer assigned to this member: no transaction for it`,
        {
          retriable: false,
        },
      );
    }
    const consumer = member.consumer;
    const count = batch.reduce((n, r) => n + r.records.length, 0);
    const what = `producing ${count} record(s) of ${batch.length} partition(s) in a transaction (transactional id ${this.transactionalId})`;
    try {
      await callback((cb) => client.beginTransaction(cb));
    } catch (error) {
      throw this.#failed(error, `beginning a transaction (transactional id ${this.transactionalId})`);
    }
    this.#open = true;
    const deliveries: DeliveryBatch[] = [];
    try {
      for (const request of batch) {
        const delivery = producer.handOver(request.records, false);
        deliveries.push(delivery);
        if (delivery.error !== undefined) throw delivery.error;
      }
      const offsets = batch.map((r) => ({ topic: r.tp.topic, partition: r.tp.partition, offset: r.position }));
      await callback((cb) => client.sendOffsetsToTransaction(offsets, consumer, this.#options.requestTimeoutMs, cb));
      await this.#retrying('committing', (cb) => client.commitTransaction(this.#options.transactionTimeoutMs, cb));
      this.#open = false;
      // Every report was served during the commit.
      return await Promise.all(deliveries.map((d) => d.done()));
    } catch (error) {
      // A failed delivery names the cause better than the commit's "message(s) failed delivery".
      const cause = deliveries.find((d) => d.error !== undefined)?.error ?? error;
      const mapped = this.#failed(cause, what);
      await this.#abort();
      throw mapped;
    }
  }

  /** Maps an error; a fatal one (librdkafka's transaction state is gone) discards the producer. */
  #failed(error: unknown, what: string): Error {
    if ((error as { isFatal?: unknown } | null)?.isFatal === true || isFencedError(error)) {
      this.#logger.warn(
        { transactionalId: this.transactionalId, error },
        "the member's transactional producer hit a fatal error; a new one takes over",
      );
      this.#discard();
    }
    // Only the group decides who owns a partition: never a FencedError here (see the module comment).
    return groupErrors.toTransportError(error, what);
  }

  #retrying(what: string, run: (cb: (error: LibrdKafkaError) => void) => void): Promise<void> {
    return retryingTxnCall(what, run, this.#logger, this.transactionalId);
  }

  async #abort(): Promise<void> {
    if (!this.#open) return;
    this.#open = false;
    const producer = this.#producer;
    if (producer === undefined) return;
    try {
      await this.#retrying('aborting', (cb) => producer.client.abortTransaction(this.#options.transactionTimeoutMs, cb));
    } catch (error) {
      this.#logger.warn(
        { transactionalId: this.transactionalId, error },
        'aborting the failed transaction failed; a new producer takes over',
      );
      this.#discard();
    }
  }

  /** Drops the producer (its next user creates a new one, whose InitProducerId settles what this one left). */
  #discard(): void {
    const producer = this.#producer;
    this.#producer = undefined;
    this.#ready = undefined;
    this.#open = false;
    producer?.disconnect(this.#options.requestTimeoutMs).catch(() => {});
  }

  /** Lets the running transaction settle, refuses what is queued, aborts what is open and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const queued = this.#queue.splice(0, this.#queue.length);
    for (const request of queued) request.reject(new StateError(`transactional producer ${this.transactionalId} is closed`));
    await this.#draining?.catch(() => {});
    const producer = this.#producer;
    this.#producer = undefined;
    this.#ready = undefined;
    if (producer === undefined) return;
    if (this.#open) await callback((cb) => producer.client.abortTransaction(this.#options.requestTimeoutMs, cb)).catch(() => {});
    this.#open = false;
    await producer.disconnect(this.#options.requestTimeoutMs);
  }
}

/** A partition's `TransactionalProducer` over its member's {@link MemberTransactions} (see the module comment). */
export class GroupFencedProducer extends TransactionalProducerBase {
  readonly #tp: TopicPartition;
  readonly #shared: MemberTransactions;
  readonly #counts: PartitionCounts;
  /** The position last committed for the group (found at `init()`, then each transaction's). */
  #position = 0;
  /** Closed: a running `init()` stops waiting. */
  #interrupted = false;

  constructor(
    context: TransactionalContext & { readonly fencedByGroup: TopicPartition },
    options: ResolvedRdKafkaTransportOptions,
    counts: PartitionCounts,
    shared: MemberTransactions,
  ) {
    super({ ...context, requestTimeoutMs: options.requestTimeoutMs, errors: groupErrors });
    this.#tp = context.fencedByGroup;
    this.#shared = shared;
    this.#counts = counts;
  }

  protected async register(): Promise<void> {
    const interrupted = () => this.#interrupted;
    await this.#shared.ready();
    const committed = await this.#shared.stableCommitted(this.#tp, interrupted);
    if (committed >= 0) this.#position = committed;
    await this.#shared.untilSettled(this.#tp, interrupted);
  }

  /** Closing stops a running `init()` from waiting for an earlier owner's transaction (the partition was revoked). */
  protected override async interrupt(): Promise<void> {
    this.#interrupted = true;
  }

  protected async transact(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    // Refused records (bad header, bad partition) fail before a transaction is begun.
    const prepared = await prepareRecords(records, this.#counts);
    const position = this.position ?? this.#position;
    let metadata: RecordMetadata[];
    try {
      metadata = await this.#shared.send(this.#tp, position, prepared);
    } catch (error) {
      throw this.fail(error, `producing ${records.length} record(s) in a transaction`);
    }
    this.#position = position;
    await this.untilReadable(metadata, (tp) => this.#shared.stableOffset(tp));
    return metadata;
  }

  protected async release(): Promise<void> {
    // The member's producer is the transport's: it is closed with it.
  }
}
