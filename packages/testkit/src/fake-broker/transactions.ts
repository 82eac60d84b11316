/**
 * The FakeBroker's transactions: transactional ids with epochs (fencing), open transactions and
 * their markers, the commit faults and pauses, and the transactional producer.
 *
 * @module
 */
import { FencedError, TransportError } from '@ksched/core';
import type { ProduceRecord, RecordMetadata, TransactionalProducer } from '@ksched/core';
import type { Txn } from '../internal/partition-log.js';
import { LogCluster } from './log.js';
import type { Client } from './model.js';

/** The logs plus transactions. */
export abstract class TransactionCluster extends LogCluster {
  // ---- transactions ---------------------------------------------------------------------------

  /**
   * InitProducerId: bumps the epoch (fencing older producers) and ends their open transaction:
   * aborted, unless its commit was already decided (a lost commit answer), which completes.
   */
  initTransactionalId(transactionalId: string): number {
    let state = this.transactionalIds.get(transactionalId);
    if (state === undefined) {
      state = { epoch: -1, open: null };
      this.transactionalIds.set(transactionalId, state);
    }
    state.epoch++;
    if (state.open) this.endTxn(state.open, state.open.commitPending === true ? 'committed' : 'aborted');
    return state.epoch;
  }

  isCurrentEpoch(transactionalId: string, epoch: number): boolean {
    return this.transactionalIds.get(transactionalId)?.epoch === epoch;
  }

  beginTxn(transactionalId: string): Txn {
    // A commit decided before its answer was lost completes before the id's next transaction.
    const pending = this.transactionalIds.get(transactionalId)!.open;
    if (pending?.commitPending === true) this.endTxn(pending, 'committed');
    const txn: Txn = { seq: ++this.txnSeq, transactionalId, state: 'open', logs: new Map(), produced: [] };
    this.transactionalIds.get(transactionalId)!.open = txn;
    return txn;
  }

  /** Commits or aborts: control markers take an offset in every partition the transaction wrote. */
  endTxn(txn: Txn, state: 'committed' | 'aborted'): void {
    if (txn.state !== 'open') return;
    txn.state = state;
    const timestamp = this.clock.now();
    for (const log of txn.logs.values()) {
      log.openTxns.delete(txn);
      log.append({ key: null, value: null, headers: {}, timestamp, control: state === 'committed' ? 'commit' : 'abort', txn });
    }
    for (const produced of txn.produced) produced.transaction = state;
    const idState = this.transactionalIds.get(txn.transactionalId);
    if (idState?.open === txn) idState.open = null;
    this.wakeAll();
  }

  /** Runs the pause hooks for a transaction about to commit (always yields at least once). */
  async beforeCommit(txn: Txn): Promise<void> {
    await Promise.resolve();
    for (const pause of [...this.pauses]) {
      if (!pause.matches(txn)) continue;
      // Stays registered while held, so that faults.clear() releases it.
      await pause.hold();
      this.pauses.delete(pause);
    }
  }

  commitFault(txn: Txn): { readonly error: unknown; readonly outcome: 'aborted' | 'committed-later' } | undefined {
    for (const fault of this.commitFaults) {
      if (fault.transactionalId !== undefined && fault.transactionalId !== txn.transactionalId) continue;
      const hit = fault.handle.hit();
      if (hit) return { error: hit.error, outcome: fault.outcome };
    }
    return undefined;
  }
}

function fencedError(transactionalId: string): FencedError {
  return new FencedError(`producer fenced: transactional id ${transactionalId} was initialised by a newer producer`);
}

/** A transactional producer of a FakeTransport (see `FakeBrokerFaults` for stalling or failing its commits). */
export class FakeTransactionalProducer implements TransactionalProducer {
  readonly transactionalId: string;
  readonly #cluster: TransactionCluster;
  readonly #client: Client;
  readonly #onClosed: (producer: FakeTransactionalProducer) => void;
  #epoch: number | null = null;
  #current: Txn | null = null;
  #closed = false;

  constructor(
    cluster: TransactionCluster,
    client: Client,
    transactionalId: string,
    onClosed: (producer: FakeTransactionalProducer) => void,
  ) {
    this.#cluster = cluster;
    this.#client = client;
    this.#onClosed = onClosed;
    this.transactionalId = transactionalId;
  }

  async init(): Promise<void> {
    this.#cluster.requireConnected(this.#client, 'init');
    if (this.#closed) throw new TransportError(`init: transactional producer ${this.transactionalId} is closed`);
    this.#epoch = this.#cluster.initTransactionalId(this.transactionalId);
  }

  async sendInTransaction(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    const cluster = this.#cluster;
    cluster.requireConnected(this.#client, 'sendInTransaction');
    if (this.#closed) throw new TransportError(`sendInTransaction: transactional producer ${this.transactionalId} is closed`);
    if (this.#epoch === null) throw new TransportError('sendInTransaction: call init() first');
    const epoch = this.#epoch;
    if (!cluster.isCurrentEpoch(this.transactionalId, epoch)) throw fencedError(this.transactionalId);
    if (this.#current) throw new TransportError(`sendInTransaction: a transaction of ${this.transactionalId} is already in progress`);
    cluster.checkRefusals(records);
    const txn = cluster.beginTxn(this.transactionalId);
    this.#current = txn;
    try {
      const out: RecordMetadata[] = [];
      for (const record of records) out.push(cluster.append(this.#client, record, 'transaction', txn));
      await cluster.beforeCommit(txn);
      if (!cluster.isCurrentEpoch(this.transactionalId, epoch)) throw fencedError(this.transactionalId);
      if (txn.state !== 'open') throw new TransportError(`transaction of ${this.transactionalId} was aborted (producer closed)`);
      const fault = cluster.commitFault(txn);
      if (fault) {
        if (fault.outcome === 'committed-later') txn.commitPending = true;
        throw fault.error;
      }
      cluster.endTxn(txn, 'committed');
      return out;
    } catch (error) {
      if (txn.commitPending !== true) cluster.endTxn(txn, 'aborted');
      throw error;
    } finally {
      this.#current = null;
    }
  }

  async close(): Promise<void> {
    if (this.#current) this.#cluster.endTxn(this.#current, 'aborted');
    this.#closed = true;
    this.#onClosed(this);
  }
}
