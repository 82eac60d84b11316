/**
 * The frame every adapter's `PartitionReader` shares, written once: {@link PartitionReaderBase}
 * registers the reader with its transport while it opens (a failed open closes it and rejects
 * with a mapped error), refuses overlapping `read()` calls and reads after close, and closes once
 * (interrupt what waits, release the client, then the transport forgets the reader). An adapter
 * implements opening its client, reading one batch and releasing the client.
 *
 * @module
 */
import { StateError, TransportError } from '../errors.js';
import type { Logger } from '../ports/logger.js';
import type { PartitionBatch, PartitionReader } from '../ports/transport.js';
import type { ErrorMapper } from './errors.js';
import type { ReaderContext, Tracker } from './transport-shell.js';

/** A reader of one partition (see the module comment). Create it, then {@link PartitionReaderBase.open}. */
export abstract class PartitionReaderBase implements PartitionReader {
  readonly topic: string;
  readonly partition: number;
  /** Where reading starts (see {@link ReaderContext.start}). */
  protected readonly start: number;
  protected readonly logger: Logger;
  protected readonly errors: ErrorMapper;
  readonly #readers: Tracker<PartitionReader>;
  #reading = false;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(context: ReaderContext<never>, errors: ErrorMapper) {
    this.topic = context.tp.topic;
    this.partition = context.tp.partition;
    this.start = context.start;
    this.logger = context.logger;
    this.errors = errors;
    this.#readers = context.readers as Tracker<PartitionReader>;
  }

  /** True once `close()` was called. */
  protected get closed(): boolean {
    return this.#closed;
  }

  /** Registers with the transport and opens the client at `start`; a failure closes the reader and rejects, mapped. */
  async open(): Promise<this> {
    this.#readers.add(this);
    try {
      await this.connectClient();
    } catch (error) {
      await this.close();
      throw this.errors.toTransportError(error, `opening a reader of ${this.topic}/${this.partition} at ${this.start}`);
    }
    return this;
  }

  async read(): Promise<PartitionBatch> {
    if (this.#closed) throw this.closedError();
    if (this.#reading) throw new StateError(`read() calls of the reader of ${this.topic}/${this.partition} must not overlap`);
    this.#reading = true;
    try {
      return await this.readBatch();
    } finally {
      this.#reading = false;
    }
  }

  close(): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closed = true;
    this.interrupt();
    this.#closing = (async () => {
      try {
        await this.release();
      } finally {
        this.#readers.delete(this);
      }
    })();
    return this.#closing;
  }

  /** The error of a read after close. */
  protected closedError(): TransportError {
    return new TransportError(`the reader of ${this.topic}/${this.partition} is closed`, { retriable: false });
  }

  /** Connects the client and starts fetching at `start`. */
  protected abstract connectClient(): Promise<void>;
  /** The next batch (the reader is open, one call at a time). */
  protected abstract readBatch(): Promise<PartitionBatch>;
  /** At close, at once: settle what waits (a `read()`, a fetch held back). */
  protected abstract interrupt(): void;
  /** At close, after {@link PartitionReaderBase.interrupt}: release the client (failures are the adapter's to log). */
  protected abstract release(): Promise<void>;
}
