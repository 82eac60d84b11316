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
import { FencedError } from '@ksched/core';
import type { Logger, ProduceRecord, RecordMetadata, TransactionalProducer } from '@ksched/core';
import { serialQueue, TransactionalStatus, waitUntilReadable } from '@ksched/core/adapter';
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { isFencedError, toTransportError } from '../map-errors.js';
import { RecordingPartitioner } from './produce.js';
import { kafkaRetry } from './kafka.js';
import type { ResolvedKafkaJsTransportOptions } from '../options.js';

/** A transactional producer (see the module comment). */
export class KafkaJsTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  readonly #kafka: Kafka;
  readonly #options: ResolvedKafkaJsTransportOptions;
  readonly #logger: Logger;
  readonly #partitioner = new RecordingPartitioner();
  readonly #onClosed: (producer: KafkaJsTransactionalProducer) => void;
  /** Read-committed end offsets of a topic's partitions (the transport's admin client). */
  readonly #stableOffsets: (topic: string) => Promise<readonly { partition: number; offset: string }[]>;
  #producer: Producer;
  readonly #s: TransactionalStatus;
  /** The kafkajs producer is stuck (a commit or abort failed): replace it before the next transaction. */
  #broken = false;
  #open: Transaction | undefined;
  /** One transaction at a time. */
  readonly #queue = serialQueue();

  constructor(
    kafka: Kafka,
    transactionalId: string,
    options: ResolvedKafkaJsTransportOptions,
    logger: Logger,
    onClosed: (producer: KafkaJsTransactionalProducer) => void,
    stableOffsets: (topic: string) => Promise<readonly { partition: number; offset: string }[]>,
  ) {
    this.#stableOffsets = stableOffsets;
    this.#s = new TransactionalStatus(transactionalId);
    this.#kafka = kafka;
    this.transactionalId = transactionalId;
    this.#options = options;
    this.#logger = logger;
    this.#onClosed = onClosed;
    this.#producer = this.#createProducer();
  }

  #createProducer(): Producer {
    const retry = kafkaRetry(this.#options.retry);
    return this.#kafka.producer({
      transactionalId: this.transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      transactionTimeout: this.#options.transactionTimeoutMs,
      createPartitioner: this.#partitioner.create,
      ...(retry !== undefined ? { retry } : {}),
    });
  }

  async init(): Promise<void> {
    this.#s.beginInit();
    try {
      await this.#register();
      this.#s.status = 'ready';
    } catch (error) {
      this.#s.status = 'new';
      throw toTransportError(error, `initialising transactional producer ${this.transactionalId}`);
    }
  }

  async #register(): Promise<void> {
    await this.#producer.connect();
    const txn = await this.#producer.transaction();
    await txn.abort();
  }

  sendInTransaction(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    return this.#queue.run(() => this.#send(records));
  }

  async #send(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    this.#s.assertReady();
    if (this.#broken) await this.#replace();
    let txn: Transaction;
    try {
      txn = await this.#producer.transaction();
    } catch (error) {
      throw this.#fail(error, 'beginning a transaction');
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
          this.#logger.warn({ transactionalId: this.transactionalId, error: abortError }, 'aborting the failed transaction failed');
          this.#broken = true;
        }
      } else {
        // The commit itself failed: kafkajs cannot abort or begin again on this producer.
        this.#broken = true;
      }
      throw this.#fail(error, 'producing in a transaction');
    } finally {
      this.#open = undefined;
    }
  }

  /** Resolves once read-committed readers can see the committed records (see the kit's `waitUntilReadable`). */
  #waitUntilStable(metadata: readonly RecordMetadata[]): Promise<void> {
    return waitUntilReadable(metadata, {
      stableOffset: async ({ topic, partition }) => {
        const found = (await this.#stableOffsets(topic)).find((o) => o.partition === partition);
        if (found === undefined) throw new Error(`no end offset for ${topic}/${partition}`);
        return Number(found.offset);
      },
      timeoutMs: this.#options.requestTimeoutMs,
      logger: this.#logger,
      transactionalId: this.transactionalId,
    });
  }

  #fail(error: unknown, what: string): Error {
    if (isFencedError(error)) {
      this.#s.status = 'fenced';
      return new FencedError(`transactional producer ${this.transactionalId} was fenced by a newer producer with the same id (${what})`, {
        cause: error,
      });
    }
    return toTransportError(error, `${what} (transactional id ${this.transactionalId})`);
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
      await this.#register();
      this.#broken = false;
    } catch (error) {
      throw this.#fail(error, 're-initialising after a failed transaction');
    }
  }

  async close(): Promise<void> {
    if (this.#s.status === 'closed') return;
    const open = this.#open;
    this.#s.status = 'closed';
    if (open?.isActive()) await open.abort().catch(() => {});
    await this.#queue.idle();
    try {
      await this.#producer.disconnect();
    } catch (error) {
      this.#logger.warn({ transactionalId: this.transactionalId, error }, 'disconnecting the transactional producer failed');
    } finally {
      this.#onClosed(this);
    }
  }
}
