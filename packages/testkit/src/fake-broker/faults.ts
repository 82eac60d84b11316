/**
 * Fault injection of the FakeBroker: failing the nth produced record or transaction commit,
 * holding a transaction before its commit, dropping a member abruptly.
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import type { ProduceRecord } from '@ksched/core';
import type { Txn } from '../internal/partition-log.js';
import type { FakeTransport } from './transport.js';
import type { FailProduceOptions, FailTransactionCommitOptions, FaultHandle, PauseTransactionOptions, TransactionPause } from './types.js';
import { deferred } from './model.js';

/**
 * Fault injection on a {@link FakeBroker}, at `broker.faults`. Faults are checked in the order they
 * were installed; each returns a handle to inspect or remove it, and {@link FakeBrokerFaults.clear}
 * removes them all.
 *
 * @example
 * ```ts
 * // Member A stalls mid-flush while B takes its partitions over (design note 4).
 * const pause = broker.faults.pauseTransactionBeforeCommit('ksched-scheduled_messages-0');
 * await pause.reached;                    // A's records are in the log, uncommitted
 * await broker.faults.dropMember(a);      // A "freezes": B is assigned without A's onRevoked
 * await broker.settle();                  // B's init() fenced A and aborted A's transaction
 * pause.release();                        // A's commit now rejects: fenced
 * ```
 */
export interface FakeBrokerFaults {
  /**
   * Fails produced records: the `nth` matching record (and the `times − 1` after it) is not written
   * and the call fails with `error`. Records of the same `produce` call before it *are* written
   * (at-least-once); in a transaction, the whole transaction is aborted; `produceNoWait` reports
   * the error to its `onError`.
   */
  failProduce(options?: FailProduceOptions): FaultHandle;
  /**
   * The client refuses every record `match` accepts, the way node-rdkafka's adapter refuses a
   * header value it cannot send: a `produce` or `sendInTransaction` call holding one rejects with
   * `RecordRefusedError` (its `recordIndex` the first such record) and writes nothing. Until the
   * returned function is called.
   */
  refuseRecords(match: (record: ProduceRecord) => boolean, reason?: string): () => void;
  /**
   * Fails the commit of matching transactions: `sendInTransaction` rejects with `error`, and the
   * transaction is aborted, or (`outcome: 'committed-later'`) commits later although the producer
   * was told it failed (an ambiguous commit).
   */
  failTransactionCommit(options?: FailTransactionCommitOptions): FaultHandle;
  /**
   * Holds the next (or `nth`) transaction of `transactionalId` after its records are appended and
   * before its commit, until released: the way to have a producer stall mid-transaction while
   * another member fences it.
   */
  pauseTransactionBeforeCommit(transactionalId: string, options?: PauseTransactionOptions): TransactionPause;
  /**
   * The member behind `transport` leaves its group abruptly (crash, session timeout): it is never
   * called again (an `onBatch` or `onRevoked` already running is not awaited), and its partitions
   * are reassigned at once. Its producers keep working, so a later transaction of a fenced
   * transactional id fails like a zombie's. Resolves when the reassignment has completed.
   */
  dropMember(transport: FakeTransport): Promise<void>;
  /** Removes every fault and releases every pause. */
  clear(): void;
}

export class CountedFault implements FaultHandle {
  readonly #nth: number;
  readonly #times: number;
  readonly #error: unknown;
  readonly #defaultError: () => unknown;
  readonly #onRemove: () => void;
  #seen = 0;
  #triggered = 0;
  #removed = false;

  constructor(
    options: { readonly nth?: number; readonly times?: number; readonly error?: unknown },
    defaultError: () => unknown,
    onRemove: () => void,
  ) {
    const nth = options.nth ?? 1;
    const times = options.times ?? 1;
    if (!Number.isInteger(nth) || nth < 1) throw new RangeError(`nth must be a positive integer, got ${String(nth)}`);
    if (!(times >= 1)) throw new RangeError(`times must be >= 1, got ${String(times)}`);
    this.#nth = nth;
    this.#times = times;
    this.#error = options.error;
    this.#defaultError = defaultError;
    this.#onRemove = onRemove;
  }

  get triggered(): number {
    return this.#triggered;
  }

  get exhausted(): boolean {
    return this.#removed || this.#triggered >= this.#times;
  }

  remove(): void {
    if (this.#removed) return;
    this.#removed = true;
    this.#onRemove();
  }

  /** Counts one matching operation; returns `{ error }` when it must fail. */
  hit(): { readonly error: unknown } | undefined {
    if (this.exhausted) return undefined;
    this.#seen++;
    if (this.#seen < this.#nth) return undefined;
    this.#triggered++;
    const error =
      this.#error === undefined ? this.#defaultError() : typeof this.#error === 'function' ? (this.#error as () => unknown)() : this.#error;
    return { error };
  }
}

export class Pause implements TransactionPause {
  readonly transactionalId: string;
  readonly #reached = deferred();
  readonly #released = deferred();
  readonly #nth: number;
  #seen = 0;
  #paused = false;
  #disarmed = false;

  constructor(transactionalId: string, nth: number) {
    this.transactionalId = transactionalId;
    this.#nth = nth;
  }

  get reached(): Promise<void> {
    return this.#reached.promise;
  }

  get paused(): boolean {
    return this.#paused;
  }

  release(): void {
    this.#disarmed = true;
    this.#released.resolve();
  }

  /** Counts a transaction of the id; true when this is the one to hold. */
  matches(txn: Txn): boolean {
    if (this.#disarmed || txn.transactionalId !== this.transactionalId) return false;
    return ++this.#seen === this.#nth;
  }

  async hold(): Promise<void> {
    this.#paused = true;
    this.#reached.resolve();
    await this.#released.promise;
    this.#paused = false;
  }
}

export interface ProduceFault {
  readonly handle: CountedFault;
  readonly topic: string | undefined;
  readonly source: FailProduceOptions['source'];
}

export interface CommitFault {
  readonly handle: CountedFault;
  readonly transactionalId: string | undefined;
  readonly outcome: 'aborted' | 'committed-later';
}

/** What the faults act on: the cluster's fault lists and its members. */
/** A predicate of records the client refuses outright. */
export interface RecordRefusal {
  readonly match: (record: ProduceRecord) => boolean;
  readonly reason: string;
}

export interface FaultTarget {
  readonly produceFaults: ProduceFault[];
  readonly refusals: RecordRefusal[];
  readonly commitFaults: CommitFault[];
  readonly pauses: Set<Pause>;
  dropMember(transport: FakeTransport): Promise<void>;
}

export function createFaults(cluster: FaultTarget): FakeBrokerFaults {
  const removeFrom =
    <T>(list: T[], item: () => T | undefined) =>
    () => {
      const found = item();
      const i = found === undefined ? -1 : list.indexOf(found);
      if (i >= 0) list.splice(i, 1);
    };
  return {
    failProduce(options: FailProduceOptions = {}): FaultHandle {
      let fault: ProduceFault | undefined;
      const handle = new CountedFault(
        options,
        () => new TransportError('injected produce failure (broker.faults.failProduce)', { retriable: true }),
        removeFrom(cluster.produceFaults, () => fault),
      );
      fault = { handle, topic: options.topic, source: options.source };
      cluster.produceFaults.push(fault);
      return handle;
    },
    refuseRecords(match: (record: ProduceRecord) => boolean, reason = 'refused by the client (broker.faults.refuseRecords)'): () => void {
      const refusal: RecordRefusal = { match, reason };
      cluster.refusals.push(refusal);
      return removeFrom(cluster.refusals, () => refusal);
    },
    failTransactionCommit(options: FailTransactionCommitOptions = {}): FaultHandle {
      let fault: CommitFault | undefined;
      const handle = new CountedFault(
        options,
        () => new TransportError('injected transaction commit failure (broker.faults.failTransactionCommit)', { retriable: true }),
        removeFrom(cluster.commitFaults, () => fault),
      );
      fault = { handle, transactionalId: options.transactionalId, outcome: options.outcome ?? 'aborted' };
      cluster.commitFaults.push(fault);
      return handle;
    },
    pauseTransactionBeforeCommit(transactionalId: string, options: PauseTransactionOptions = {}): TransactionPause {
      const nth = options.nth ?? 1;
      if (!Number.isInteger(nth) || nth < 1) throw new RangeError(`nth must be a positive integer, got ${String(nth)}`);
      const pause = new Pause(transactionalId, nth);
      cluster.pauses.add(pause);
      return pause;
    },
    dropMember(transport: FakeTransport): Promise<void> {
      return cluster.dropMember(transport);
    },
    clear(): void {
      for (const fault of [...cluster.produceFaults]) fault.handle.remove();
      cluster.refusals.length = 0;
      for (const fault of [...cluster.commitFaults]) fault.handle.remove();
      for (const pause of cluster.pauses) pause.release();
      cluster.pauses.clear();
    },
  };
}
