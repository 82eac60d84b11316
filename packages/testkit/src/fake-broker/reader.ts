/**
 * The FakeBroker's partition reader (`Transport.openReader`): read committed, outside any group.
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import type { PartitionBatch, PartitionReader } from '@ksched/core';
import type { PartitionLog } from '../internal/partition-log.js';
import { describeTp, fetchBatch } from './model.js';
import type { Client } from './model.js';

/** What a reader needs of the cluster. */
export interface ReaderHost {
  requireConnected(client: Client, operation: string): void;
  readTimeMs(count: number): number;
  waitReadTime(ms: number, register: (cancel: () => void) => void): Promise<boolean>;
}

/**
 * A {@link PartitionReader} of a {@link FakeBroker} partition, from {@link FakeTransport.openReader}:
 * read committed, outside any group (no assignment, no commits, no effect on members).
 *
 * Each `read()` resolves on a later macrotask turn (never synchronously, so a reading loop cannot
 * starve delivery) with up to the member's `maxBatchSize` committed records from its position, or,
 * at the last stable offset, with an empty batch whose `position` is that offset (at once: the fake
 * has no fetch wait). With {@link FakeBrokerOptions.readSpeed} it resolves only once the broker
 * clock advanced by the read time (EOF: `fetchLatencyMs`). A position below the low watermark (records deleted meanwhile) moves up to it.
 * Overlapping reads, reads after `close()` and reads after the transport closed reject with a
 * `TransportError`; `close()` also rejects a pending read.
 */
export class FakePartitionReader implements PartitionReader {
  readonly topic: string;
  readonly partition: number;
  readonly #cluster: ReaderHost;
  readonly #client: Client;
  readonly #log: PartitionLog;
  readonly #onClosed: (reader: FakePartitionReader) => void;
  #position: number;
  #closed = false;
  #pending: { readonly reject: (error: unknown) => void; readonly cancel: () => void } | null = null;

  constructor(cluster: ReaderHost, client: Client, log: PartitionLog, position: number, onClosed: (reader: FakePartitionReader) => void) {
    this.#cluster = cluster;
    this.#onClosed = onClosed;
    this.#client = client;
    this.#log = log;
    this.topic = log.topic;
    this.partition = log.partition;
    this.#position = position;
  }

  /** The next offset this reader reads. */
  get position(): number {
    return this.#position;
  }

  /** True once closed (by `close()` or by closing its transport). */
  get closed(): boolean {
    return this.#closed;
  }

  read(): Promise<PartitionBatch> {
    const where = describeTp(this);
    if (this.#closed) return Promise.reject(new TransportError(`read: the reader of ${where} is closed`));
    try {
      this.#cluster.requireConnected(this.#client, 'read');
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.#pending) return Promise.reject(new TransportError(`read: a read of ${where} is already pending (calls must not overlap)`));
    return new Promise<PartitionBatch>((resolve, reject) => {
      const log = this.#log;
      if (this.#position < log.low) this.#position = log.low;
      const batch =
        this.#position < log.lastStable
          ? fetchBatch(log, this.#position, this.#client.maxBatchSize)
          : { topic: log.topic, partition: log.partition, records: [], position: this.#position, highWatermark: log.lastStable };
      const cluster = this.#cluster;
      let cancel: () => void = () => {};
      this.#pending = { reject, cancel: () => cancel() };
      void cluster
        .waitReadTime(cluster.readTimeMs(batch.records.length), (c) => (cancel = c))
        .then((passed) => {
          if (!passed) return;
          this.#pending = null;
          this.#position = batch.position;
          resolve(batch);
        });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClosed(this);
    const pending = this.#pending;
    this.#pending = null;
    if (pending) {
      pending.cancel();
      pending.reject(new TransportError(`read: the reader of ${describeTp(this)} was closed`));
    }
  }
}
