/**
 * A reader of one partition outside the consumer group (`Transport.openReader`) over its own
 * node-rdkafka `KafkaConsumer`.
 *
 * **No group.** The consumer is given its partition with `assign()` (never `subscribe()`): it joins
 * no group, commits nothing and cannot disturb any member's assignment (its `group.id`, which
 * librdkafka requires, is a random one of its own).
 * It reads with `isolation.level = read_committed` and `enable.partition.eof`.
 *
 * **Speed.** Once assigned, librdkafka's fetcher keeps fetching into the consumer's local queue
 * (up to `queued.max.messages.kbytes`) whether or not JS asks for records. `read()` takes up to
 * `readerBatchSize` records from that queue in one `consume` call, and from the second batch on,
 * as soon as it has a batch for the caller it starts the next `consume` call, so the thread-pool
 * hop and the message conversion of batch n + 1 overlap with the caller's handling of batch n
 * (one batch ahead, no more: the reader stays pull based). Not after the first batch: a caller
 * that reads one batch (a page of the admin API's explorer) would have the next one converted for
 * nothing, and closing the reader would wait for that call.
 *
 * **Position and EOF.** A batch's `position` is the next offset to read: the last record's offset
 * + 1, or the offset of an EOF event that came after it (the read-committed end after
 * transaction markers and compaction gaps). At the end, a `consume` call returns the EOF event
 * and then waits `READ_WAIT_MS` for new records; without any, `read()` resolves with an empty
 * batch at the end offset. librdkafka reports EOF once per arrival at the end, so a later `read()`
 * that gets nothing within the wait repeats the EOF notice at the known end.
 *
 * **Close to a known end.** librdkafka reports EOF only with the fetch *after* the one that
 * reached the end, i.e. after that fetch's wait on the broker (`maxWaitTimeMs`), so a `consume`
 * call that takes the last records would otherwise wait its whole `READ_WAIT_MS` for more before
 * returning them (a page of the admin API's explorer ending at the end took 250 ms more, and its
 * close another 250 ms, measured). Within `readerBatchSize` records of the end offset the reader
 * knows (the high watermark at open, then each EOF event's offset), a `consume` call asks for just
 * the records up to it and waits only `NEAR_END_WAIT_MS` for each (more than there are when
 * transaction markers sit in between), and no call is started ahead once that end is reached: the
 * next `read()` starts its own.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { PartitionBatch } from '@ksched/core';
import { PartitionReaderBase } from '@ksched/core/adapter';
import type { ReaderContext } from '@ksched/core/adapter';
import type { EofEvent, KafkaConsumer, LibrdKafkaError, Message } from 'node-rdkafka';
import { fromRdKafkaMessage } from '../map-record.js';
import { isRetriableError, RdKafkaErrorCode, rdKafkaCode, rdKafkaErrors, toTransportError } from '../map-errors.js';
import type { ResolvedRdKafkaTransportOptions } from '../options.js';
import { consumerTopicConfig, createClient, disconnectWithin, connectFailingFast, forwardEvents, readerConfig } from './config.js';
import { rdkafka } from './native.js';

/** How long one `consume` call of a reader waits for records (after an EOF event: for new ones), ms. */
const READ_WAIT_MS = 250;
/** How long one `read()` waits for records before resolving with none, ms (the port's "a second or so"). */
const READ_BUDGET_MS = 1000;
/** How long one `consume` call waits for each record close to the known end (see the module comment), ms. */
const NEAR_END_WAIT_MS = 10;

/** What one `consume` call returned. */
interface Fetched {
  readonly messages: readonly Message[];
  /** Offset of the last EOF event of the call, -1 without one. */
  readonly eof: number;
  readonly error?: unknown;
}

/** See the module comment. Create it, then {@link PartitionReaderBase.open}. */
export class RdKafkaPartitionReader extends PartitionReaderBase {
  readonly #options: ResolvedRdKafkaTransportOptions;
  readonly #consumer: KafkaConsumer;
  /** EOF events of the `consume` call in flight. */
  #eof = -1;
  /** The `consume` call in flight (read ahead, or the current `read()`'s). */
  #pending: Promise<Fetched> | undefined;
  /** The next offset to read. */
  #position: number;
  /** The last thing read was an EOF event at `#position` (nothing has arrived since). */
  #atEnd = false;
  /** An end offset the partition had (the high watermark at open, then EOF events); `undefined` once read past. */
  #end: number | undefined;
  /** Batches with records handed out. */
  #batches = 0;
  /**
   * Rejects the `read()` waiting for a `consume` call, so that `close()` settles it at once. (Not a
   * race with one long-lived "closed" promise: every race would leave a reaction on it holding its
   * batch until the reader closes.)
   */
  #abortWait: ((error: unknown) => void) | undefined;

  constructor(context: ReaderContext<RdKafkaPartitionReader>, options: ResolvedRdKafkaTransportOptions) {
    super(context, rdKafkaErrors);
    this.#options = options;
    this.#position = context.start;
    this.#end = context.watermarks.high;
    this.#consumer = createClient(
      'reader',
      () =>
        new rdkafka.KafkaConsumer(readerConfig(options, `${options.clientId}-reader-${randomUUID()}`) as never, {
          ...consumerTopicConfig,
        }),
    );
    this.#consumer.on('partition.eof', (event: EofEvent) => {
      if (event.offset > this.#eof) this.#eof = event.offset;
    });
    forwardEvents(this.#consumer, context.logger, 'reader');
  }

  /** Connects and assigns the partition at `start`; librdkafka starts fetching at once. */
  protected async connectClient(): Promise<void> {
    await connectFailingFast(this.#consumer, this.#options.connectionTimeoutMs);
    this.#consumer.assign([{ topic: this.topic, partition: this.partition, offset: this.start }]);
    // Start fetching the first batch right away.
    this.#pending = this.#consume();
  }

  protected async readBatch(): Promise<PartitionBatch> {
    const deadline = Date.now() + READ_BUDGET_MS;
    for (;;) {
      const fetched = await this.#wait((this.#pending ??= this.#consume()));
      if (this.closed) throw this.closedError();
      this.#pending = undefined;
      if (fetched.error !== undefined) {
        const code = rdKafkaCode(fetched.error);
        const transient = isRetriableError(fetched.error) || code === RdKafkaErrorCode.ERR__TIMED_OUT;
        if (!transient) throw toTransportError(fetched.error, `reading ${this.topic}/${this.partition}`);
        this.logger.warn({ topic: this.topic, partition: this.partition, error: fetched.error }, 'reader consume failed; retrying');
        if (Date.now() >= deadline) return this.#batch([], false);
        await new Promise((resolve) => setTimeout(resolve, 50));
        continue;
      }
      const { messages, eof } = fetched;
      if (messages.length > 0 || eof >= 0) {
        const last = messages.length > 0 ? messages[messages.length - 1]!.offset + 1 : -1;
        // An EOF event after the last record carries the end offset (past trailing markers).
        this.#position = Math.max(this.#position, last, eof);
        this.#atEnd = eof >= 0 && eof >= last;
        if (eof >= 0) this.#end = eof;
        else if (this.#end !== undefined && this.#position > this.#end) this.#end = undefined;
        // Read ahead while the caller handles this batch: from its second batch on, and not at the known end.
        if (messages.length > 0) this.#batches++;
        if (this.#batches > 1 && (this.#end === undefined || this.#position < this.#end)) this.#pending = this.#consume();
        return this.#batch(messages, this.#atEnd);
      }
      // Nothing within the wait: at the end already (librdkafka does not repeat its EOF event), or slow.
      if (this.#atEnd || Date.now() >= deadline) return this.#batch([], this.#atEnd);
    }
  }

  /** `fetching`, or a rejection as soon as the reader is closed. */
  #wait(fetching: Promise<Fetched>): Promise<Fetched> {
    return new Promise<Fetched>((resolve, reject) => {
      this.#abortWait = reject;
      void fetching.then(resolve);
    }).finally(() => {
      this.#abortWait = undefined;
    });
  }

  #batch(messages: readonly Message[], atEnd: boolean): PartitionBatch {
    const records = new Array<PartitionBatch['records'][number]>(messages.length);
    for (let i = 0; i < messages.length; i++) records[i] = fromRdKafkaMessage(messages[i]!);
    const batch = { topic: this.topic, partition: this.partition, records, position: this.#position };
    return atEnd ? { ...batch, highWatermark: this.#position } : batch;
  }

  #consume(): Promise<Fetched> {
    const batchSize = this.#options.readerBatchSize;
    // Up to a known end: just the records before it, without waiting long for more (module comment).
    const remaining = this.#end === undefined ? Number.POSITIVE_INFINITY : this.#end - this.#position;
    const nearEnd = remaining > 0 && remaining <= batchSize;
    this.#consumer.setDefaultConsumeTimeout(nearEnd ? NEAR_END_WAIT_MS : READ_WAIT_MS);
    return new Promise<Fetched>((resolve) => {
      this.#eof = -1;
      try {
        this.#consumer.consume(nearEnd ? remaining : batchSize, (error: LibrdKafkaError, messages: Message[]) => {
          const eof = this.#eof;
          this.#eof = -1;
          if (error) resolve({ messages: [], eof: -1, error });
          else resolve({ messages, eof });
        });
      } catch (error) {
        resolve({ messages: [], eof: -1, error });
      }
    });
  }

  protected interrupt(): void {
    this.#abortWait?.(this.closedError());
  }

  protected async release(): Promise<void> {
    // librdkafka must not be closed under a consume call in flight (it ends within READ_WAIT_MS).
    await this.#pending;
    this.#pending = undefined;
    await disconnectWithin(this.#consumer, this.#options.requestTimeoutMs, (error) =>
      this.logger.warn({ topic: this.topic, partition: this.partition, error }, 'disconnecting a reader failed'),
    );
  }
}
