/**
 * `TransactionalProducer` over a kafkajs producer with a transactional id.
 *
 * kafkajs registers the transactional id (InitProducerId) lazily, on the first
 * `producer.transaction()`; `connect()` alone only gets a non-transactional producer id. `init()`
 * therefore connects and begins + aborts an empty transaction: that sends InitProducerId with the
 * transactional id, which bumps the epoch (fencing every older producer with the id) and, while an
 * older producer's transaction is still open, makes the coordinator abort it first (kafkajs
 * retries on CONCURRENT_TRANSACTIONS until it is done). Aborting a transaction with no partitions
 * sends nothing.
 *
 * @module
 */
import type { ProduceRecord, RecordMetadata } from '@ksched/core';
import { TransactionalProducerBase } from '@ksched/core/adapter';
import type { TransactionalContext } from '@ksched/core/adapter';
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { kafkaJsErrors } from '../map-errors.js';
import { RecordingPartitioner } from './produce.js';
import { kafkaRetry } from './kafka.js';
import type { ResolvedKafkaJsTransportOptions } from '../options.js';

/**
 * The retry policy of a transactional producer when the connection settings give none. kafkajs's
 * own default for an idempotent producer is to retry forever, up to 30 s apart: after a broker
 * restart an InitProducerId ("coordinator loading") was still being retried 30 s later, so a
 * partition could neither settle nor be closed (closing waits for a running `init`, see the kit's
 * `TransactionalProducerBase`). A failed transaction or init is retried by the engine anyway, after
 * it settled the outcome, so a short budget loses nothing: about 2.5 s, at most 1 s apart.
 */
export const TRANSACTIONAL_RETRY = { retries: 5, initialRetryTime: 100, maxRetryTime: 1000 } as const;

/** A transactional producer (see the module comment). */
export class KafkaJsTransactionalProducer extends TransactionalProducerBase {
  readonly #kafka: Kafka;
  readonly #options: ResolvedKafkaJsTransportOptions;
  readonly #partitioner = new RecordingPartitioner();
  /** Read-committed end offsets of a topic's partitions (the transport's admin client). */
  readonly #stableOffsets: (topic: string) => Promise<readonly { partition: number; offset: string }[]>;
  #producer: Producer;
  /** The kafkajs producer is stuck (a commit or abort failed): replace it before the next transaction. */
  #broken = false;
  #open: Transaction | undefined;

  constructor(
    context: TransactionalContext,
    kafka: Kafka,
    options: ResolvedKafkaJsTransportOptions,
    stableOffsets: (topic: string) => Promise<readonly { partition: number; offset: string }[]>,
  ) {
    super({ ...context, requestTimeoutMs: options.requestTimeoutMs, errors: kafkaJsErrors });
    this.#stableOffsets = stableOffsets;
    this.#kafka = kafka;
    this.#options = options;
    this.#producer = this.#createProducer();
  }

  #createProducer(): Producer {
    const retry = kafkaRetry(this.#options.retry) ?? TRANSACTIONAL_RETRY;
    return this.#kafka.producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.#options.transactionTimeoutMs,
      createPartitioner: this.#partitioner.create,
      retry,
    });
  }

  protected async register(): Promise<void> {
    await this.#producer.connect();
    const txn = await this.#producer.transaction();
    await txn.abort();
  }

  protected async transact(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    if (this.#broken) await this.#replace();
    let txn: Transaction;
    try {
      txn = await this.#producer.transaction();
    } catch (error) {
      throw this.fail(error, 'beginning a transaction');
    }
    this.#open = txn;
    try {
      let metadata: RecordMetadata[] = [];
      if (records.length > 0) {
        const batch = this.#partitioner.prepare(records);
        const response = await txn.sendBatch({ topicMessages: batch.topicMessages, acks: -1 });
        metadata = this.#partitioner.metadata(batch, response);
      }
      await txn.commit();
      await this.#waitUntilStable(metadata);
      return metadata;
    } catch (error) {
      if (txn.isActive()) {
        try {
          await txn.abort();
        } catch (abortError) {
          this.logger.warn({ transactionalId: this.transactionalId, error: abortError }, 'aborting the failed transaction failed');
          this.#broken = true;
        }
      } else {
        // The commit itself failed: kafkajs cannot abort or begin again on this producer.
        this.#broken = true;
      }
      throw this.fail(error, 'producing in a transaction');
    } finally {
      this.#open = undefined;
    }
  }

  /** Resolves once read-committed readers can see the committed records (see the kit's `waitUntilReadable`). */
  #waitUntilStable(metadata: readonly RecordMetadata[]): Promise<void> {
    return this.untilReadable(metadata, async ({ topic, partition }) => {
      const found = (await this.#stableOffsets(topic)).find((o) => o.partition === partition);
      if (found === undefined) throw new Error(`no end offset for ${topic}/${partition}`);
      return Number(found.offset);
    });
  }

  /**
   * A new kafkajs producer for the same id after a stuck one. Its InitProducerId aborts whatever
   * the stuck producer left open. Only done after non-fencing failures.
   */
  async #replace(): Promise<void> {
    const old = this.#producer;
    this.#producer = this.#createProducer();
    await old.disconnect().catch(() => {});
    try {
      await this.register();
      this.#broken = false;
    } catch (error) {
      throw this.fail(error, 're-initialising after a failed transaction');
    }
  }

  /** The running transaction is aborted at once (kafkajs cannot be interrupted otherwise). */
  protected override async interrupt(): Promise<void> {
    if (this.#open?.isActive()) await this.#open.abort().catch(() => {});
  }

  protected async release(): Promise<void> {
    await this.#producer.disconnect();
  }
}
