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
import { FencedError, StateError } from '@ksched/core';
import type { Logger, ProduceRecord, RecordMetadata, TransactionalProducer } from '@ksched/core';
import { serialQueue } from '@ksched/core/adapter';
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { isFencedError, toTransportError } from '../map-errors.js';
import { RecordingPartitioner } from './produce.js';
import { kafkaRetry } from './kafka.js';
import type { ResolvedKafkaJsTransportOptions } from '../options.js';

type Status = 'new' | 'initialising' | 'ready' | 'fenced' | 'closed';

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
  #status: Status = 'new';
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
    if (this.#status === 'closed') throw new StateError(`transactional producer ${this.transactionalId} is closed`);
    if (this.#status === 'fenced') throw this.#fencedError();
    if (this.#status !== 'new') throw new StateError(`transactional producer ${this.transactionalId} is already initialised`);
    this.#status = 'initialising';
    try {
      await this.#register();
      this.#status = 'ready';
    } catch (error) {
      this.#status = 'new';
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
    if (this.#status === 'fenced') throw this.#fencedError();
    if (this.#status !== 'ready')
      throw new StateError(
        `transactional producer ${this.transactionalId} is ${this.#status === 'closed' ? 'closed' : 'not initialised: call init() first'}`,
      );
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

  /**
   * Resolves once read-committed readers can see the committed records. The coordinator writes
   * the commit markers after EndTxn has returned, and until then the last stable offset stays
   * before the transaction: a reload started right after a flush would otherwise finish loading
   * without the flush's tombstones and dispatch the same schedules again. Bounded by
   * `requestTimeoutMs` (logged, not failed: the records are committed).
   */
  async #waitUntilStable(metadata: readonly RecordMetadata[]): Promise<void> {
    const needed = new Map<string, Map<number, number>>();
    for (const m of metadata) {
      if (m.offset < 0) continue;
      const byPartition = needed.get(m.topic) ?? new Map<number, number>();
      byPartition.set(m.partition, Math.max(byPartition.get(m.partition) ?? -1, m.offset));
      needed.set(m.topic, byPartition);
    }
    if (needed.size === 0) return;
    const deadline = Date.now() + this.#options.requestTimeoutMs;
    let delayMs = 2;
    for (;;) {
      let pending = false;
      try {
        for (const [topic, byPartition] of needed) {
          const offsets = await this.#stableOffsets(topic);
          for (const { partition, offset } of offsets) {
            const last = byPartition.get(partition);
            if (last !== undefined && Number(offset) > last) byPartition.delete(partition);
          }
          if (byPartition.size === 0) needed.delete(topic);
          else pending = true;
        }
      } catch (error) {
        this.#logger.debug({ transactionalId: this.transactionalId, error }, 'checking the last stable offset failed; retrying');
        pending = true;
      }
      if (!pending) return;
      if (Date.now() >= deadline) {
        this.#logger.warn(
          { transactionalId: this.transactionalId },
          'committed records not yet visible to read-committed readers after requestTimeoutMs',
        );
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(100, delayMs * 2);
    }
  }

  #fail(error: unknown, what: string): Error {
    if (isFencedError(error)) {
      this.#status = 'fenced';
      return new FencedError(`transactional producer ${this.transactionalId} was fenced by a newer producer with the same id (${what})`, {
        cause: error,
      });
    }
    return toTransportError(error, `${what} (transactional id ${this.transactionalId})`);
  }

  #fencedError(): FencedError {
    return new FencedError(`transactional producer ${this.transactionalId} was fenced by a newer producer with the same id`);
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
    if (this.#status === 'closed') return;
    const open = this.#open;
    this.#status = 'closed';
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
