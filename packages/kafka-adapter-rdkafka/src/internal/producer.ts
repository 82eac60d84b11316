/**
 * A node-rdkafka `Producer` whose `produce` resolves with each record's delivery report, plus the
 * preparation of ksched records for it (validation, partition choice, byte conversion).
 *
 * node-rdkafka hands delivery reports to JS only when the producer is polled; a fast poll timer
 * runs while reports are outstanding and a slow one keeps error and log events flowing.
 *
 * @module
 */
import { InvalidArgumentError, partitionForKey, TOPIC_NAME_PATTERN, TransportError } from '@ksched/core';
import type { Logger, ProduceRecord, RecordMetadata } from '@ksched/core';
import type { DeliveryReport, LibrdKafkaError, MessageHeader, Producer } from 'node-rdkafka';
import { toRdKafkaBytes, toRdKafkaHeaders } from '../map-record.js';
import { forwardEvents } from './config.js';
import type { ClientConfig } from './config.js';
import { rdkafka } from './native.js';

/** How often an idle producer is polled (error and log events), ms. */
const IDLE_POLL_MS = 200;

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

interface Pending {
  readonly resolve: (metadata: RecordMetadata) => void;
  readonly reject: (error: unknown) => void;
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

  async get(topic: string): Promise<number> {
    const hit = this.#cache.get(topic);
    if (hit !== undefined && hit.expiresAt > Date.now()) return hit.count;
    const count = await this.#fetch(topic);
    this.#cache.set(topic, { count, expiresAt: Date.now() + this.#ttlMs });
    return count;
  }

  /** Forgets a topic's count (e.g. after a produce to a partition it did not have). */
  forget(topic: string): void {
    this.#cache.delete(topic);
  }
}

/**
 * Validates `records` and converts them, choosing partitions: explicit `partition` > core's
 * Java-compatible murmur2 of `partitionKey` over the topic's partition count > librdkafka's
 * `murmur2_random` of the key (the same hash) > random (keyless).
 *
 * @throws InvalidArgumentError for a negative or fractional partition; TransportError for an
 *   invalid topic name or an unknown topic (with a partition key); UnsupportedError for header
 *   values node-rdkafka cannot send unchanged. Nothing is produced when one record is refused.
 */
export async function prepareRecords(records: readonly ProduceRecord[], counts: PartitionCounts): Promise<OutgoingRecord[]> {
  const out: OutgoingRecord[] = [];
  for (const [index, record] of records.entries()) {
    if (typeof record.topic !== 'string' || !TOPIC_NAME_PATTERN.test(record.topic) || record.topic.length > 249) {
      throw new TransportError(`cannot produce to "${String(record.topic)}": not a valid Kafka topic name`, { retriable: false });
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
      partition = partitionForKey(record.partitionKey, await counts.get(record.topic));
    }
    out.push({
      topic: record.topic,
      partition,
      key: toRdKafkaBytes(record.key),
      value: toRdKafkaBytes(record.value),
      headers: toRdKafkaHeaders(record.headers),
      timestamp: record.timestamp === undefined ? undefined : Math.trunc(record.timestamp),
    });
  }
  return out;
}

/** A producer that reports every record's delivery (see the module comment). */
export class DeliveringProducer {
  readonly client: Producer;
  readonly #pollIntervalMs: number;
  readonly #pending = new Set<Pending>();
  #fastPoll: NodeJS.Timeout | undefined;
  #slowPoll: NodeJS.Timeout | undefined;
  #connected = false;

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
  connect(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.client.connect({ timeout: timeoutMs }, (error) => {
        if (error) {
          reject(error);
          return;
        }
        this.#connected = true;
        this.#slowPoll = setInterval(() => this.#poll(), IDLE_POLL_MS);
        this.#slowPoll.unref();
        resolve();
      });
    });
  }

  /** Hands one record to librdkafka; resolves with its delivery report (rejects with the report's error). */
  send(record: OutgoingRecord): Promise<RecordMetadata> {
    return new Promise<RecordMetadata>((resolve, reject) => {
      const pending: Pending = { resolve, reject };
      try {
        this.client.produce(
          record.topic,
          record.partition ?? null,
          record.value,
          record.key,
          record.timestamp ?? null,
          pending,
          record.headers,
        );
      } catch (error) {
        reject(error);
        return;
      }
      this.#pending.add(pending);
      this.#startFastPoll();
    });
  }

  /** Records handed to librdkafka whose delivery report has not arrived yet. */
  get inFlight(): number {
    return this.#pending.size;
  }

  #onReport(error: LibrdKafkaError | null | undefined, report: DeliveryReport): void {
    const pending = report.opaque as Pending | undefined;
    if (pending === undefined || !this.#pending.delete(pending)) return;
    if (error) pending.reject(error);
    else
      pending.resolve({ topic: report.topic, partition: report.partition, offset: typeof report.offset === 'number' ? report.offset : -1 });
  }

  #poll(): void {
    try {
      this.client.poll();
    } catch {
      // Not connected (any more): nothing to poll.
    }
  }

  #startFastPoll(): void {
    if (this.#fastPoll !== undefined) return;
    this.#fastPoll = setInterval(() => {
      this.#poll();
      if (this.#pending.size === 0) this.#stopFastPoll();
    }, this.#pollIntervalMs);
  }

  #stopFastPoll(): void {
    if (this.#fastPoll !== undefined) clearInterval(this.#fastPoll);
    this.#fastPoll = undefined;
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
    this.#stopFastPoll();
    if (this.#slowPoll !== undefined) clearInterval(this.#slowPoll);
    this.#slowPoll = undefined;
    for (const pending of this.#pending)
      pending.reject(new TransportError('the producer was closed before the record was acknowledged', { retriable: true }));
    this.#pending.clear();
  }
}
