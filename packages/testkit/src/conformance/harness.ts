/**
 * What an adapter gives the `Transport` conformance suite: the harness and the suite options.
 *
 * @module
 */
import type { ProduceRecord, TopicPartition, Transport } from '@ksched/core';

/** A transaction left open by {@link ConformanceHarness.openTransaction}. */
export interface OpenTransaction {
  /** Commits it; resolves once the commit is acknowledged. */
  commit(): Promise<void>;
  /** Aborts it; resolves once the abort is acknowledged. */
  abort(): Promise<void>;
}

/**
 * What the conformance suite needs beyond the `Transport` port. The factory given to
 * {@link describeTransportConformance} creates one harness per suite run.
 */
export interface ConformanceHarness {
  /** A new group member, not yet connected. The suite connects it and closes it after each test. */
  createTransport(): Promise<Transport>;
  /**
   * Creates a topic with a unique name chosen by the suite; resolves once producers and consumers
   * can use it (on a real broker: after the metadata has propagated).
   */
  createTopic(name: string, partitions: number, options?: { readonly compacted?: boolean }): Promise<void>;
  /**
   * Compacts a compacted topic now; resolves once consumers see the result. Optional: cases that
   * need it are skipped with a note when absent. A real-broker harness should rather provide
   * {@link ConformanceHarness.deleteRecords}: Kafka's cleaner runs when it likes, and Kafka keeps
   * the low watermark where it was after compaction (the FakeBroker moves it to the first survivor).
   */
  compact?(topic: string): Promise<void>;
  /**
   * Removes every record of a partition below `beforeOffset` (Kafka's DeleteRecords admin call),
   * moving its low watermark there. Optional; when absent, the "low > 0" case uses `compact`.
   */
  deleteRecords?(tp: TopicPartition, beforeOffset: number): Promise<void>;
  /**
   * Writes `records` in a transaction of `transactionalId` and leaves it open (neither committed
   * nor aborted) until the returned handle says so. Optional: the open-transaction case is skipped
   * when absent, and the aborted-transaction case falls back to a send that fails mid-transaction.
   */
  openTransaction?(transactionalId: string, records: readonly ProduceRecord[]): Promise<OpenTransaction>;
  /** Releases everything the harness created (topics, admin clients). Called once after the suite. */
  cleanup(): Promise<void>;
  /** How long the suite waits for something to happen, real ms. Defaults to 4000 (raise it for a real broker). */
  readonly timeoutMs?: number;
  /** Prefix of the topic, group and transactional id names. Defaults to `ksched-conformance`. */
  readonly namePrefix?: string;
}

/** Options of {@link describeTransportConformance}. */
export interface ConformanceOptions {
  /** Per-test timeout for vitest, ms. Defaults to the vitest configuration. */
  readonly testTimeoutMs?: number;
  /**
   * Cases the adapter cannot pass, each skipped with its reason as the note: a pattern matching
   * the case's title, and why (a documented limitation of the client, with where it is covered).
   */
  readonly unsupported?: readonly { readonly case: RegExp; readonly reason: string }[];
}
