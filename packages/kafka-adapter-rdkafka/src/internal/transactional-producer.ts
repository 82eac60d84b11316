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
import { FencedError } from '@ksched/core';
import type { ProduceRecord, RecordMetadata } from '@ksched/core';
import { TransactionalProducerBase } from '@ksched/core/adapter';
import type { TransactionalContext } from '@ksched/core/adapter';
import type { LibrdKafkaError } from 'node-rdkafka';
import { rdKafkaErrors } from '../map-errors.js';
import type { ResolvedRdKafkaTransportOptions } from '../options.js';
import { createClient, producerConfig } from './config.js';
import { DeliveringProducer, prepareRecords } from './producer.js';
import type { DeliveryBatch, PartitionCounts } from './producer.js';
import { callback, retryingTxnCall } from './txn-calls.js';

/** A transactional producer (see the module comment). */
export class RdKafkaTransactionalProducer extends TransactionalProducerBase {
  readonly #options: ResolvedRdKafkaTransportOptions;
  readonly #counts: PartitionCounts;
  readonly #producer: DeliveringProducer;
  /** A transaction was begun and neither committed nor aborted. */
  #open = false;

  constructor(context: TransactionalContext, options: ResolvedRdKafkaTransportOptions, counts: PartitionCounts) {
    super({ ...context, requestTimeoutMs: options.requestTimeoutMs, errors: rdKafkaErrors });
    const { transactionalId } = context;
    this.#options = options;
    this.#counts = counts;
    this.#producer = createClient(
      'transactional producer',
      () =>
        new DeliveringProducer(
          producerConfig(options, transactionalId),
          context.logger,
          `transactional producer ${transactionalId}`,
          options.pollIntervalMs,
        ),
    );
  }

  get #client() {
    return this.#producer.client;
  }

  protected async register(): Promise<void> {
    if (!this.#producer.connected) await this.#producer.connect(this.#options.connectionTimeoutMs);
    await callback((cb) => this.#client.initTransactions(this.#options.transactionTimeoutMs, cb));
  }

  protected async transact(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    // Refused records (bad header, bad partition) fail before a transaction is begun.
    const prepared = await prepareRecords(records, this.#counts);
    try {
      await callback((cb) => this.#client.beginTransaction(cb));
    } catch (error) {
      throw this.fail(error, 'beginning a transaction');
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
      let mapped = this.fail(error, what);
      // A failed delivery names the cause better than the commit's "message(s) failed delivery".
      const cause = batch?.error;
      if (cause !== undefined && cause !== error && this.state.status === 'ready') mapped = this.fail(cause, what);
      const abortError = await this.#abort();
      // Fencing may only show when aborting (the records' delivery reports then just say "purged").
      if (this.#isFenced() && !FencedError.isInstance(mapped)) throw this.state.fencedError(abortError ?? error);
      throw mapped;
    }
  }

  /** Waits until read-committed readers can see the committed records (see the kit's `waitUntilReadable`). */
  #untilReadable(metadata: readonly RecordMetadata[]): Promise<void> {
    return this.untilReadable(
      metadata,
      ({ topic, partition }) =>
        new Promise<number>((resolve, reject) =>
          this.#client.queryWatermarkOffsets(topic, partition, this.#options.requestTimeoutMs, (error, result) =>
            error ? reject(error) : resolve(Number(result.highOffset)),
          ),
        ),
    );
  }

  /** Runs a commit or abort, again while librdkafka says the error is retriable. */
  #retrying(what: string, run: (cb: (error: LibrdKafkaError) => void) => void): Promise<void> {
    return retryingTxnCall(what, run, this.logger, this.transactionalId);
  }

  /**
   * Aborts the open transaction, if any; a failure leaves the producer failed (or fenced) and is
   * returned.
   */
  async #abort(): Promise<unknown> {
    if (!this.#open) return undefined;
    if (this.state.status === 'fenced' || this.state.status === 'failed') {
      // librdkafka cannot abort after a fatal error; the coordinator aborts the transaction (timeout or the next owner's init).
      this.#open = false;
      return undefined;
    }
    try {
      await this.#retrying('aborting', (cb) => this.#client.abortTransaction(this.#options.transactionTimeoutMs, cb));
      this.#open = false;
      return undefined;
    } catch (error) {
      this.fail(error, 'aborting a transaction');
      if (!this.#isFenced()) {
        this.state.status = 'failed';
        this.state.failure ??= error;
      }
      this.logger.warn({ transactionalId: this.transactionalId, error }, 'aborting the failed transaction failed');
      return error;
    }
  }

  /**
   * Maps an error (see the kit's `fail`) and records what it means for the producer: fenced, or
   * another fatal error (→ failed); either way librdkafka's transaction is gone.
   */
  protected override fail(error: unknown, what: string): Error {
    const mapped = super.fail(error, what);
    if (FencedError.isInstance(mapped)) {
      this.#open = false;
    } else if ((error as { isFatal?: unknown } | null)?.isFatal === true && this.state.status !== 'closed') {
      this.state.status = 'failed';
      this.state.failure = error;
      this.#open = false;
    }
    return mapped;
  }

  #isFenced(): boolean {
    return this.state.status === 'fenced';
  }

  /** Aborts what a transaction left open (the producer was usable), then disconnects. */
  protected async release(wasReady: boolean): Promise<void> {
    if (wasReady && this.#open) {
      await callback((cb) => this.#client.abortTransaction(this.#options.requestTimeoutMs, cb)).catch(() => {});
      this.#open = false;
    }
    await this.#producer.disconnect(this.#options.requestTimeoutMs);
  }
}
