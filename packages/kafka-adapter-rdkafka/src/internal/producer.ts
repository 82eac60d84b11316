/**
 * A node-rdkafka `Producer` that reports the delivery of whole batches of records, plus the
 * preparation of ksched records for it (validation, partition choice, byte conversion).
 *
 * node-rdkafka hands a delivery report to JS only after some thread served librdkafka's report
 * queue (`rd_kafka_poll`); the report then reaches the JS thread through a libuv async handle.
 * While records are in flight the producer keeps a `flush` running on a libuv thread-pool thread:
 * librdkafka's flush sends what is queued at once (it overrides `linger.ms`) and serves the report
 * queue as reports arrive, so they reach JS as soon as the broker acknowledged, not at the next
 * poll tick. A `pollIntervalMs` poll timer runs beside it while records are in flight, in case
 * the thread pool is busy; a slow one keeps error and log events flowing while nothing is.
 *
 * A batch costs one promise: each record's opaque is its sequence number, and a report fills in
 * its record's slot of the batch it belongs to.
 *
 * @module
 */
import { InvalidArgumentError, partitionForKey, RecordRefusedError, TOPIC_NAME_PATTERN, TransportError } from '@ksched/core';
import type { Logger, ProduceRecord, RecordMetadata } from '@ksched/core';
import type { DeliveryReport, LibrdKafkaError, MessageHeader, Producer } from 'node-rdkafka';
import { toRdKafkaBytes, toRdKafkaHeaders } from '../map-record.js';
import { connectFailingFast, forwardEvents } from './config.js';
import type { ClientConfig } from './config.js';
import { rdkafka } from './native.js';

/** How often an idle producer is polled (error and log events), ms. */
const IDLE_POLL_MS = 200;

/**
 * Longest one `flush` call holds its thread-pool thread, ms. Reports are handed over as they
 * arrive; the slice only bounds how long a flush waiting for an unreachable broker keeps the
 * thread before it is queued again (other thread-pool work gets a turn in between).
 */
const FLUSH_SLICE_MS = 100;

/** A record ready for `Producer.produce`. */
export interface OutgoingRecord {
  readonly topic: string;
  /** The partition chosen by the adapter; `undefined` lets librdkafka's murmur2 partitioner choose from the key. */
  readonly partition: number | undefined;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: MessageHeader[] | undefined;
  readonly timestamp: number | undefined;
}

/** Topic partition counts for `partitionKey` hashing, cached for `ttlMs`. */
export class PartitionCounts {
  readonly #fetch: (topic: string) => Promise<number>;
  readonly #ttlMs: number;
  readonly #cache = new Map<string, { count: number; expiresAt: number }>();

  constructor(fetch: (topic: string) => Promise<number>, ttlMs: number) {
    this.#fetch = fetch;
    this.#ttlMs = ttlMs;
  }

  /** The cached count, or `undefined` when it is missing or expired. */
  cached(topic: string): number | undefined {
    const hit = this.#cache.get(topic);
    return hit !== undefined && hit.expiresAt > Date.now() ? hit.count : undefined;
  }

  async get(topic: string): Promise<number> {
    const hit = this.cached(topic);
    if (hit !== undefined) return hit;
    const count = await this.#fetch(topic);
    this.#cache.set(topic, { count, expiresAt: Date.now() + this.#ttlMs });
    return count;
  }

  /** Forgets a topic's count (e.g. after a produce to a partition it did not have). */
  forget(topic: string): void {
    this.#cache.delete(topic);
  }
}

function checkTopic(topic: unknown): asserts topic is string {
  if (typeof topic !== 'string' || !TOPIC_NAME_PATTERN.test(topic) || topic.length > 249) {
    throw new TransportError(`cannot produce to "${String(topic)}": not a valid Kafka topic name`, { retriable: false });
  }
}

/**
 * Validates `records` and converts them, choosing partitions: explicit `partition` > core's
 * Java-compatible murmur2 of `partitionKey` over the topic's partition count > librdkafka's
 * `murmur2_random` of the key (the same hash) > random (keyless).
 *
 * @throws InvalidArgumentError for a negative or fractional partition; TransportError for an
 *   invalid topic name or an unknown topic (with a partition key); RecordRefusedError (its cause an
 *   UnsupportedError) for header values node-rdkafka cannot send unchanged, naming the record's
 *   index. Nothing is produced when one record is refused.
 */
export async function prepareRecords(records: readonly ProduceRecord[], counts: PartitionCounts): Promise<OutgoingRecord[]> {
  const out: OutgoingRecord[] = new Array<OutgoingRecord>(records.length);
  let checkedTopic: string | undefined;
  const reuse = new Map<string, MessageHeader>();
  for (let index = 0; index < records.length; index++) {
    const record = records[index]!;
    const topic = record.topic;
    // A batch usually goes to one or two topics: check each name once in a row.
    if (topic !== checkedTopic) {
      checkTopic(topic);
      checkedTopic = topic;
    }
    let partition: number | undefined;
    if (record.partition !== undefined && record.partition !== null) {
      if (!Number.isInteger(record.partition) || record.partition < 0) {
        throw new InvalidArgumentError([
          { field: `records.${index}.partition`, rule: 'non_negative_integer', message: `must be an integer ≥ 0, got ${record.partition}` },
        ]);
      }
      partition = record.partition;
    } else if (record.partitionKey !== undefined && record.partitionKey !== null) {
      partition = partitionForKey(record.partitionKey, counts.cached(topic) ?? (await counts.get(topic)));
    }
    try {
      out[index] = {
        topic,
        partition,
        key: toRdKafkaBytes(record.key),
        value: toRdKafkaBytes(record.value),
        headers: toRdKafkaHeaders(record.headers, reuse),
        timestamp: record.timestamp === undefined ? undefined : Math.trunc(record.timestamp),
      };
    } catch (error) {
      // Before anything is handed over: the caller may send the other records again at once.
      throw new RecordRefusedError(index, error instanceof Error ? error.message : String(error), { cause: error });
    }
  }
  return out;
}

/** Records handed to librdkafka together, waiting for their delivery reports. */
export class DeliveryBatch {
  /** Sequence number (opaque) of the first record. */
  readonly first: number;
  /** Records handed over (fewer than given when `produce` refused one: the rest were not handed over). */
  size: number;
  /** Reports still to come. */
  remaining: number;
  /** Each record's metadata, in input order. */
  readonly metadata: RecordMetadata[];
  /** The first error: `produce` refusing a record, or a failed delivery. */
  error: unknown;
  /** Resolves (never rejects) once every handed-over record has its report. */
  readonly settled: Promise<void>;
  #settle!: () => void;

  constructor(first: number, size: number) {
    this.first = first;
    this.size = size;
    this.remaining = size;
    this.metadata = new Array<RecordMetadata>(size);
    this.settled = new Promise<void>((resolve) => (this.#settle = resolve));
  }

  /** Stops the batch after `handedOver` records (the rest were not handed to librdkafka). */
  truncate(handedOver: number, error: unknown): void {
    this.error ??= error;
    this.remaining -= this.size - handedOver;
    this.size = handedOver;
    this.metadata.length = handedOver;
    if (this.remaining === 0) this.#settle();
  }

  /** Settles the batch without the reports still missing (they will not come). */
  abandon(error: unknown): void {
    if (this.remaining === 0) return;
    this.error ??= error;
    this.remaining = 0;
    this.#settle();
  }

  /** Records one report; true when it was the last. */
  report(index: number, error: unknown, metadata: RecordMetadata | undefined): boolean {
    if (metadata !== undefined) this.metadata[index] = metadata;
    else this.error ??= error;
    if (--this.remaining !== 0) return false;
    this.#settle();
    return true;
  }

  /** Every record's metadata once all reports arrived; rejects with the first error. */
  async done(): Promise<RecordMetadata[]> {
    await this.settled;
    if (this.error !== undefined) throw this.error;
    return this.metadata;
  }
}

/** A producer that reports every record's delivery (see the module comment). */
export class DeliveringProducer {
  readonly client: Producer;
  /** Batches with reports outstanding, oldest first (their sequence ranges ascend). */
  readonly #batches: DeliveryBatch[] = [];
  readonly #pollIntervalMs: number;
  #nextSeq = 0;
  #inFlight = 0;
  #draining = false;
  #slowPoll: NodeJS.Timeout | undefined;
  #backstop: NodeJS.Timeout | undefined;
  #connected = false;

  /**
   * @param pollIntervalMs how often the producer is polled while records are in flight (a backstop
   *   for when the thread pool is busy), and the pause before the next flush after one timed out, ms.
   */
  constructor(config: ClientConfig, logger: Logger, role: string, pollIntervalMs: number) {
    this.client = new rdkafka.Producer(config.global as never, config.topic as never);
    this.#pollIntervalMs = pollIntervalMs;
    this.client.on('delivery-report', (error: LibrdKafkaError, report: DeliveryReport) => this.#onReport(error, report));
    forwardEvents(this.client, logger, role);
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Connects (fetching cluster metadata); rejects with librdkafka's error after `timeoutMs`. */
  async connect(timeoutMs: number): Promise<void> {
    await connectFailingFast(this.client, timeoutMs);
    this.#connected = true;
    this.#slowPoll = setInterval(() => this.#poll(), IDLE_POLL_MS);
    this.#slowPoll.unref();
  }

  /**
   * Hands `records` to librdkafka in order and returns their batch at once. When `produce`
   * refuses a record (e.g. an unknown partition, a full queue), the records after it are not
   * handed over and the batch carries the error. With `wake`, a flush is started so the records
   * are sent and their reports delivered without delay; a transaction's commit flushes by itself.
   */
  handOver(records: readonly OutgoingRecord[], wake = true): DeliveryBatch {
    const batch = new DeliveryBatch(this.#nextSeq, records.length);
    this.#nextSeq += records.length;
    this.#batches.push(batch);
    let index = 0;
    try {
      for (; index < records.length; index++) {
        const record = records[index]!;
        this.client.produce(
          record.topic,
          record.partition ?? null,
          record.value,
          record.key,
          record.timestamp ?? null,
          batch.first + index,
          record.headers,
        );
        this.#inFlight++;
      }
    } catch (error) {
      batch.truncate(index, error);
      if (batch.remaining === 0) this.#remove(batch);
    }
    if (wake && this.#inFlight > 0) this.#drain();
    return batch;
  }

  /** Hands `records` over and resolves with their metadata once all are delivered (rejects with the first error then). */
  send(records: readonly OutgoingRecord[]): Promise<RecordMetadata[]> {
    return this.handOver(records).done();
  }

  /** Records handed to librdkafka whose delivery report has not arrived yet. */
  get inFlight(): number {
    return this.#inFlight;
  }

  #onReport(error: LibrdKafkaError | null | undefined, report: DeliveryReport): void {
    const seq = report.opaque;
    if (typeof seq !== 'number') return;
    const batches = this.#batches;
    for (let i = 0; i < batches.length; i++) {
      const batch = batches[i]!;
      const index = seq - batch.first;
      if (index < 0) return;
      if (index >= batch.size) continue;
      this.#inFlight--;
      const last = error
        ? batch.report(index, error, undefined)
        : batch.report(index, undefined, {
            topic: report.topic,
            partition: report.partition,
            offset: typeof report.offset === 'number' ? report.offset : -1,
          });
      if (last) batches.splice(i, 1);
      return;
    }
  }

  #remove(batch: DeliveryBatch): void {
    const i = this.#batches.indexOf(batch);
    if (i >= 0) this.#batches.splice(i, 1);
  }

  #poll(): void {
    try {
      this.client.poll();
    } catch {
      // Not connected (any more): nothing to poll.
    }
  }

  /** Keeps one flush running, and the backstop poll timer, while records are in flight (see the module comment). */
  #drain(): void {
    if (!this.#connected) return;
    this.#backstop ??= setInterval(() => {
      this.#poll();
      if (this.#inFlight === 0 || !this.#connected) this.#stopBackstop();
    }, this.#pollIntervalMs);
    if (this.#draining) return;
    this.#draining = true;
    let handedOver = 0;
    const flush = (): void => {
      if (this.#inFlight === 0 || !this.#connected) {
        this.#draining = false;
        return;
      }
      handedOver = this.#nextSeq;
      try {
        this.client.flush(FLUSH_SLICE_MS, (error) => {
          if (error) {
            // Timed out: the broker is slow or unreachable; give the thread back for a moment.
            setTimeout(flush, this.#pollIntervalMs);
          } else if (this.#nextSeq !== handedOver) {
            // Records were handed over while it ran (it may have returned before they were queued).
            flush();
          } else {
            // librdkafka has no record left: every report is on its way to JS.
            this.#draining = false;
          }
        });
      } catch {
        // Disconnected meanwhile.
        this.#draining = false;
      }
    };
    flush();
  }

  #stopBackstop(): void {
    if (this.#backstop !== undefined) clearInterval(this.#backstop);
    this.#backstop = undefined;
  }

  /** Waits until librdkafka has no record left to send (or `timeoutMs` passed). */
  flush(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      try {
        this.client.flush(timeoutMs, (error) => (error ? reject(error) : resolve()));
      } catch (error) {
        reject(error);
      }
    });
  }

  /** Flushes (up to `timeoutMs`), disconnects, and rejects the deliveries still outstanding. */
  async disconnect(timeoutMs: number): Promise<void> {
    if (this.#connected) {
      await this.flush(timeoutMs).catch(() => {});
      this.#poll();
      await new Promise<void>((resolve) => {
        try {
          this.client.disconnect(timeoutMs, () => resolve());
        } catch {
          resolve();
        }
      });
    }
    this.#connected = false;
    this.#stopBackstop();
    if (this.#slowPoll !== undefined) clearInterval(this.#slowPoll);
    this.#slowPoll = undefined;
    const closed = new TransportError('the producer was closed before the record was acknowledged', { retriable: true });
    for (const batch of this.#batches.splice(0)) {
      this.#inFlight -= batch.remaining;
      batch.abandon(closed);
    }
  }
}
