/**
 * `TransactionalProducer` over a node-rdkafka producer with a `transactional.id`.
 *
 * `init()` connects and calls librdkafka's `initTransactions`, which registers the id with the
 * transaction coordinator (InitProducerId): the epoch is bumped, which fences every older producer
 * with the id, and an open transaction of an older producer is aborted before it returns.
 *
 * `sendInTransaction` runs begin → produce → commit (librdkafka's commit sends what is queued,
 * waits for every delivery and fails if one failed) → collect the delivery reports → wait until
 * the records are readable, one transaction at a time. On failure the transaction is aborted and
 * the promise rejects; a
 * retriable commit error is retried first (librdkafka allows calling commit again). A fenced
 * producer (librdkafka's fatal `ERR__FENCED`) rejects with `FencedError` from then on; any other
 * fatal error leaves it unusable too (a `TransportError`): it is never re-initialised under the
 * same id behind the caller's back, since that could fence the id's rightful new owner.
 *
 * @module
 */
import { FencedError, StateError, TransportError } from '@ksched/core';
import type { Logger, ProduceRecord, RecordMetadata, TransactionalProducer } from '@ksched/core';
import { serialQueue } from '@ksched/core/adapter';
import type { LibrdKafkaError } from 'node-rdkafka';
import { isFencedError, isRetriableError, toTransportError } from '../map-errors.js';
import type { ResolvedRdKafkaTransportOptions } from '../options.js';
import { createClient, producerConfig } from './config.js';
import { DeliveringProducer, prepareRecords } from './producer.js';
import type { DeliveryBatch, PartitionCounts } from './producer.js';

type Status = 'new' | 'initialising' | 'ready' | 'fenced' | 'failed' | 'closed';

/** Attempts of a commit or abort that librdkafka reports as retriable. */
const TXN_ATTEMPTS = 3;

function callback(run: (cb: (error: LibrdKafkaError) => void) => void): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    try {
      run((error) => (error ? reject(error) : resolve()));
    } catch (error) {
      reject(error);
    }
  });
}

/** A transactional producer (see the module comment). */
export class RdKafkaTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  readonly #options: ResolvedRdKafkaTransportOptions;
  readonly #logger: Logger;
  readonly #counts: PartitionCounts;
  readonly #onClosed: (producer: RdKafkaTransactionalProducer) => void;
  readonly #producer: DeliveringProducer;
  #status: Status = 'new';
  #failure: unknown;
  /** A transaction was begun and neither committed nor aborted. */
  #open = false;
  /** One transaction at a time. */
  readonly #queue = serialQueue();

  constructor(
    transactionalId: string,
    options: ResolvedRdKafkaTransportOptions,
    logger: Logger,
    counts: PartitionCounts,
    onClosed: (producer: RdKafkaTransactionalProducer) => void,
  ) {
    this.transactionalId = transactionalId;
    this.#options = options;
    this.#logger = logger;
    this.#counts = counts;
    this.#onClosed = onClosed;
    this.#producer = createClient(
      'transactional producer',
      () =>
        new DeliveringProducer(
          producerConfig(options, transactionalId),
          logger,
          `transactional producer ${transactionalId}`,
          options.pollIntervalMs,
        ),
    );
  }

  get #client() {
    return this.#producer.client;
  }

  async init(): Promise<void> {
    if (this.#status === 'closed') throw new StateError(`transactional producer ${this.transactionalId} is closed`);
    if (this.#status === 'fenced') throw this.#fencedError();
    if (this.#status === 'failed') throw this.#failedError();
    if (this.#status !== 'new') throw new StateError(`transactional producer ${this.transactionalId} is already initialised`);
    this.#status = 'initialising';
    try {
      if (!this.#producer.connected) await this.#producer.connect(this.#options.connectionTimeoutMs);
      await callback((cb) => this.#client.initTransactions(this.#options.transactionTimeoutMs, cb));
      if (this.#status === 'initialising') this.#status = 'ready';
    } catch (error) {
      if (this.#status === 'initialising') this.#status = 'new';
      throw this.#fail(error, 'initialising');
    }
  }

  sendInTransaction(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    return this.#queue.run(() => this.#send(records));
  }

  async #send(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    this.#assertUsable();
    // Refused records (bad header, bad partition) fail before a transaction is begun.
    const prepared = await prepareRecords(records, this.#counts);
    try {
      await callback((cb) => this.#client.beginTransaction(cb));
    } catch (error) {
      throw this.#fail(error, 'beginning a transaction');
    }
    this.#open = true;
    let batch: DeliveryBatch | undefined;
    try {
      // No need to wait for the delivery reports first: the commit flushes (sends at once,
      // regardless of linger.ms), waits for every delivery, and fails when one failed.
      batch = this.#producer.handOver(prepared, false);
      if (batch.error !== undefined) throw batch.error;
      await this.#retrying('committing', (cb) => this.#client.commitTransaction(this.#options.transactionTimeoutMs, cb));
      this.#open = false;
      // Every report was served during the commit; they reach JS within a turn of the event loop.
      const metadata = await batch.done();
      await this.#untilReadable(metadata);
      return metadata;
    } catch (error) {
      const what = `producing ${records.length} record(s) in a transaction`;
      let mapped = this.#fail(error, what);
      // A failed delivery names the cause better than the commit's "message(s) failed delivery".
      const cause = batch?.error;
      if (cause !== undefined && cause !== error && this.#status === 'ready') mapped = this.#fail(cause, what);
      const abortError = await this.#abort();
      // Fencing may only show when aborting (the records' delivery reports then just say "purged").
      if (this.#isFenced() && !FencedError.isInstance(mapped)) throw this.#fencedError(abortError ?? error);
      throw mapped;
    }
  }

  /**
   * Waits until read-committed readers can see the committed records: the coordinator writes the
   * commit markers after EndTxn has returned, and until then the last stable offset stays before
   * the transaction. Bounded by `requestTimeoutMs` (then logged, not failed: the commit stands).
   */
  async #untilReadable(metadata: readonly RecordMetadata[]): Promise<void> {
    const last = new Map<string, { topic: string; partition: number; offset: number }>();
    for (const m of metadata) {
      const key = `${m.topic}\u0000${m.partition}`;
      if ((last.get(key)?.offset ?? -1) < m.offset) last.set(key, { topic: m.topic, partition: m.partition, offset: m.offset });
    }
    const deadline = Date.now() + this.#options.requestTimeoutMs;
    await Promise.all(
      [...last.values()].map(async ({ topic, partition, offset }) => {
        for (let wait = 1; ; wait = Math.min(wait * 2, 100)) {
          const high = await new Promise<number>((resolve, reject) =>
            this.#client.queryWatermarkOffsets(topic, partition, this.#options.requestTimeoutMs, (error, result) =>
              error ? reject(error) : resolve(Number(result.highOffset)),
            ),
          ).catch(() => undefined);
          if (high !== undefined && high > offset) return;
          if (Date.now() > deadline) {
            this.#logger.warn(
              { transactionalId: this.transactionalId, topic, partition, offset },
              'committed records are not readable yet',
            );
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }),
    );
  }

  /** Runs a commit or abort, again while librdkafka says the error is retriable. */
  async #retrying(what: string, run: (cb: (error: LibrdKafkaError) => void) => void): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await callback(run);
        return;
      } catch (error) {
        if (attempt >= TXN_ATTEMPTS || !isRetriableError(error) || isFencedError(error)) throw error;
        this.#logger.warn({ transactionalId: this.transactionalId, error, attempt }, `${what} the transaction failed; retrying`);
      }
    }
  }

  /**
   * Aborts the open transaction, if any; a failure leaves the producer failed (or fenced) and is
   * returned.
   */
  async #abort(): Promise<unknown> {
    if (!this.#open) return undefined;
    if (this.#status === 'fenced' || this.#status === 'failed') {
      // librdkafka cannot abort after a fatal error; the coordinator aborts the transaction (timeout or the next owner's init).
      this.#open = false;
      return undefined;
    }
    try {
      await this.#retrying('aborting', (cb) => this.#client.abortTransaction(this.#options.transactionTimeoutMs, cb));
      this.#open = false;
      return undefined;
    } catch (error) {
      this.#fail(error, 'aborting a transaction');
      if (!this.#isFenced()) {
        this.#status = 'failed';
        this.#failure ??= error;
      }
      this.#logger.warn({ transactionalId: this.transactionalId, error }, 'aborting the failed transaction failed');
      return error;
    }
  }

  /** Maps an error and records what it means for the producer (fenced, or fatal → failed). */
  #fail(error: unknown, what: string): Error {
    if (isFencedError(error)) {
      if (this.#status !== 'closed') this.#status = 'fenced';
      this.#open = false;
      return this.#fencedError(error);
    }
    if ((error as { isFatal?: unknown } | null)?.isFatal === true && this.#status !== 'closed') {
      this.#status = 'failed';
      this.#failure = error;
      this.#open = false;
    }
    return toTransportError(error, `${what} (transactional id ${this.transactionalId})`);
  }

  #isFenced(): boolean {
    return this.#status === 'fenced';
  }

  #assertUsable(): void {
    if (this.#status === 'fenced') throw this.#fencedError();
    if (this.#status === 'failed') throw this.#failedError();
    if (this.#status !== 'ready') {
      throw new StateError(
        `transactional producer ${this.transactionalId} is ${this.#status === 'closed' ? 'closed' : 'not initialised: call init() first'}`,
      );
    }
  }

  #fencedError(cause?: unknown): FencedError {
    return new FencedError(`transactional producer ${this.transactionalId} was fenced by a newer producer with the same id`, {
      ...(cause !== undefined ? { cause } : {}),
    });
  }

  #failedError(): TransportError {
    return new TransportError(
      `transactional producer ${this.transactionalId} hit a fatal error and cannot be used again; create a new one`,
      { cause: this.#failure, retriable: false },
    );
  }

  async close(): Promise<void> {
    if (this.#status === 'closed') return;
    const wasUsable = this.#status === 'ready';
    this.#status = 'closed';
    await this.#queue.idle();
    if (wasUsable && this.#open) {
      await callback((cb) => this.#client.abortTransaction(this.#options.requestTimeoutMs, cb)).catch(() => {});
      this.#open = false;
    }
    try {
      await this.#producer.disconnect(this.#options.requestTimeoutMs);
    } catch (error) {
      this.#logger.warn({ transactionalId: this.transactionalId, error }, 'disconnecting the transactional producer failed');
    } finally {
      this.#onClosed(this);
    }
  }
}
