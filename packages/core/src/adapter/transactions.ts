/**
 * What every adapter's `TransactionalProducer` does the same way: the status it goes through
 * (`new → initialising → ready`, then `fenced`, `failed` or `closed` for good) with the errors each
 * status gives, and waiting after a commit until read-committed readers can see the records.
 *
 * @module
 */
import { FencedError, StateError, TransportError } from '../errors.js';
import { systemClock } from '../ports/clock.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { ProduceRecord, RecordMetadata, SendInTransactionOptions, TopicPartition, TransactionalProducer } from '../ports/transport.js';
import { createErrorMapper } from './errors.js';
import type { ErrorMapper } from './errors.js';
import { serialQueue } from './transport-shell.js';
import type { TransactionalContext } from './transport-shell.js';

/** Where a transactional producer is. `fenced` and `failed` are final, like `closed`. */
export type TransactionalStatusName = 'new' | 'initialising' | 'ready' | 'fenced' | 'failed' | 'closed';

/** The status of one transactional producer, with the error each status gives a caller. */
export class TransactionalStatus {
  readonly transactionalId: string;
  status: TransactionalStatusName = 'new';
  /** The fatal error that made the producer `failed`. */
  failure: unknown;

  constructor(transactionalId: string) {
    this.transactionalId = transactionalId;
  }

  /** Checks that `init()` may run now and marks the producer `initialising`. */
  beginInit(): void {
    if (this.status === 'closed') throw new StateError(`transactional producer ${this.transactionalId} is closed`);
    this.#throwIfUnusable();
    if (this.status !== 'new') throw new StateError(`transactional producer ${this.transactionalId} is already initialised`);
    this.status = 'initialising';
  }

  /** Checks that a transaction may run now (initialised, not fenced, failed or closed). */
  assertReady(): void {
    this.#throwIfUnusable();
    if (this.status !== 'ready') {
      throw new StateError(
        `transactional producer ${this.transactionalId} is ${this.status === 'closed' ? 'closed' : 'not initialised: call init() first'}`,
      );
    }
  }

  #throwIfUnusable(): void {
    if (this.status === 'fenced') throw this.fencedError();
    if (this.status === 'failed') {
      throw new TransportError(
        `transactional producer ${this.transactionalId} hit a fatal error and cannot be used again; create a new one`,
        { cause: this.failure, retriable: false },
      );
    }
  }

  /** The error of a fenced producer (found while doing `operation`, if given). */
  fencedError(cause?: unknown, operation?: string): FencedError {
    const during = operation !== undefined ? ` (${operation})` : '';
    return new FencedError(`transactional producer ${this.transactionalId} was fenced by a newer producer with the same id${during}`, {
      ...(cause !== undefined ? { cause } : {}),
    });
  }
}

/** Settings of {@link waitUntilReadable}. */
export interface WaitUntilReadableOptions {
  /** The partition's read-committed end offset (last stable offset) now. */
  readonly stableOffset: (tp: TopicPartition) => Promise<number>;
  /** Longest wait, ms; then a warning is logged and the wait ends (the commit stands). */
  readonly timeoutMs: number;
  readonly logger: Logger;
  readonly transactionalId: string;
  /** Time and timers of the polling. Default: the system clock. */
  readonly clock?: Clock;
}

/**
 * Resolves once read-committed readers can see the committed records of `metadata`: the
 * coordinator writes the commit markers after EndTxn has returned, and until then the last stable
 * offset stays before the transaction (a reload started right after a flush would miss the flush's
 * records). Polls each partition with a doubling pause (up to 100 ms); never rejects.
 */
export async function waitUntilReadable(metadata: readonly RecordMetadata[], options: WaitUntilReadableOptions): Promise<void> {
  const clock = options.clock ?? systemClock;
  const last = new Map<string, RecordMetadata>();
  for (const m of metadata) {
    const key = `${m.topic}\u0000${m.partition}`;
    if (m.offset >= 0 && (last.get(key)?.offset ?? -1) < m.offset) last.set(key, m);
  }
  const deadline = clock.now() + options.timeoutMs;
  const sleep = (ms: number) => new Promise<void>((resolve) => clock.setTimeout(resolve, ms));
  await Promise.all(
    [...last.values()].map(async ({ topic, partition, offset }) => {
      for (let wait = 2; ; wait = Math.min(wait * 2, 100)) {
        const stable = await options.stableOffset({ topic, partition }).catch((error: unknown) => {
          options.logger.debug({ transactionalId: options.transactionalId, error }, 'checking the last stable offset failed; retrying');
          return undefined;
        });
        if (stable !== undefined && stable > offset) return;
        if (clock.now() >= deadline) {
          options.logger.warn(
            { transactionalId: options.transactionalId, topic, partition, offset },
            'committed records not yet visible to read-committed readers after requestTimeoutMs',
          );
          return;
        }
        await sleep(wait);
      }
    }),
  );
}

/** Settings of {@link TransactionalProducerBase}: the shell's context and the adapter's. */
export interface TransactionalProducerBaseOptions extends TransactionalContext {
  /** Longest wait after a commit until the records are readable (see {@link waitUntilReadable}), ms. */
  readonly requestTimeoutMs: number;
  /** The adapter's error mapping (its fencing errors become `FencedError`). Default: messages only, nothing retriable. */
  readonly errors?: ErrorMapper;
}

const plainErrors = createErrorMapper({ describe: (error) => error.message, retriable: () => false });

/**
 * A `TransactionalProducer` with what every adapter's does the same way: the status checks of
 * `init` and `sendInTransaction`, one transaction at a time, and `close` (refuse new work, let the
 * running transaction and a running `init` settle, release the client, log a failure). An adapter implements
 * `register` (InitProducerId), `transact` (begin, send, commit or abort) and `release`.
 */
export abstract class TransactionalProducerBase implements TransactionalProducer {
  readonly transactionalId: string;
  readonly fencedByGroup?: TopicPartition;
  protected readonly logger: Logger;
  protected readonly state: TransactionalStatus;
  readonly #onClosed: (producer: TransactionalProducer) => void;
  readonly #requestTimeoutMs: number;
  readonly #errors: ErrorMapper;
  /** One transaction at a time. */
  readonly #queue = serialQueue();
  /** `readableTopics` of the running transaction. */
  #readableTopics: readonly string[] | undefined;
  /** `position` of the running transaction. */
  #position: number | undefined;
  /** The running `register` (InitProducerId), which `close` waits for. */
  #registering: Promise<void> | undefined;

  constructor(options: TransactionalProducerBaseOptions) {
    this.transactionalId = options.transactionalId;
    if (options.fencedByGroup !== undefined) this.fencedByGroup = options.fencedByGroup;
    this.logger = options.logger;
    this.state = new TransactionalStatus(options.transactionalId);
    this.#onClosed = options.onClosed;
    this.#requestTimeoutMs = options.requestTimeoutMs;
    this.#errors = options.errors ?? plainErrors;
  }

  async init(): Promise<void> {
    this.state.beginInit();
    const registering = this.register();
    this.#registering = registering;
    try {
      await registering;
      if (this.state.status === 'initialising') this.state.status = 'ready';
    } catch (error) {
      if (this.state.status === 'initialising') this.state.status = 'new';
      throw this.initError(error);
    } finally {
      if (this.#registering === registering) this.#registering = undefined;
    }
  }

  sendInTransaction(records: readonly ProduceRecord[], options?: SendInTransactionOptions): Promise<RecordMetadata[]> {
    return this.#queue.run(async () => {
      this.state.assertReady();
      // One transaction at a time: the option holds for the running one.
      this.#readableTopics = options?.readableTopics;
      this.#position = options?.position;
      try {
        return await this.transact(records);
      } finally {
        this.#readableTopics = undefined;
        this.#position = undefined;
      }
    });
  }

  async close(): Promise<void> {
    if (this.state.status === 'closed') return;
    const wasReady = this.state.status === 'ready';
    this.state.status = 'closed';
    await this.interrupt();
    await this.#queue.idle();
    // An InitProducerId still being retried by the client (a coordinator loading after a broker
    // restart) would bump the epoch after this resolves and fence the partition's next producer,
    // which its owner creates once this one is closed. Closing waits for it.
    await this.#registering?.catch(() => {});
    try {
      await this.release(wasReady);
    } catch (error) {
      this.logger.warn({ transactionalId: this.transactionalId, error }, 'disconnecting the transactional producer failed');
    } finally {
      this.#onClosed(this);
    }
  }

  /** `position` of the running transaction's options (see `SendInTransactionOptions.position`). */
  protected get position(): number | undefined {
    return this.#position;
  }

  /**
   * Waits until read-committed readers see the committed `metadata` (see {@link waitUntilReadable}),
   * of the topics the running transaction's `readableTopics` names (all when it names none).
   */
  protected untilReadable(metadata: readonly RecordMetadata[], stableOffset: (tp: TopicPartition) => Promise<number>): Promise<void> {
    const topics = this.#readableTopics;
    if (topics !== undefined) metadata = metadata.filter((m) => topics.includes(m.topic));
    return waitUntilReadable(metadata, {
      stableOffset,
      timeoutMs: this.#requestTimeoutMs,
      logger: this.logger,
      transactionalId: this.transactionalId,
    });
  }

  /**
   * Maps an error raised while doing `operation` and records what it means for the producer: a
   * fencing error (`ErrorMapper.isFenced`) makes it `fenced` for good, with a `FencedError`;
   * anything else becomes a `TransportError` naming the operation and the transactional id.
   */
  protected fail(error: unknown, operation: string): Error {
    if (this.#errors.isFenced(error)) {
      if (this.state.status !== 'closed') this.state.status = 'fenced';
      return this.state.fencedError(error, operation);
    }
    return this.#errors.toTransportError(error, `${operation} (transactional id ${this.transactionalId})`);
  }

  /** Registers the transactional id with its coordinator (fencing older producers). */
  protected abstract register(): Promise<void>;
  /** Runs one transaction (the producer is ready): begin, send, commit; abort and reject on failure. */
  protected abstract transact(records: readonly ProduceRecord[]): Promise<RecordMetadata[]>;
  /** Maps a failed `register` (the status is back to `new`, or `fenced`/`failed` if this says so). Default: {@link TransactionalProducerBase.fail}. */
  protected initError(error: unknown): Error {
    return this.fail(error, 'initialising');
  }
  /** At close, before waiting for the running transaction: e.g. abort it. Default: nothing. */
  protected async interrupt(): Promise<void> {}
  /** At close, after the running transaction settled: abort what is open (when `wasReady`) and disconnect. */
  protected abstract release(wasReady: boolean): Promise<void>;
}
