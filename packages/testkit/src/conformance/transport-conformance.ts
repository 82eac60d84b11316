/**
 * The `Transport` contract as a vitest suite. Every adapter runs it: the FakeBroker on every test
 * run, the real adapters against the local broker in integration runs. The cases live in named
 * groups under `./groups/`; their shared helpers in `./context.ts`.
 *
 * @module
 */
import { describe } from 'vitest';
import { createConformanceContext } from './context.js';
import { describeConsuming } from './groups/consuming.js';
import { describeDelivery, describeListenerFailures } from './groups/delivery.js';
import { describeGroupMembership } from './groups/group.js';
import { describeMetadata } from './groups/metadata.js';
import { describeMisuse } from './groups/misuse.js';
import { describeProducing } from './groups/producing.js';
import { describeReader } from './groups/reader.js';
import { describeReaderEnds } from './groups/reader-ends.js';
import { describeRecords } from './groups/records.js';
import { describeScheduleClient } from './groups/schedule-client.js';
import { describeSeeking } from './groups/seeking.js';
import { describeTransactionalProducer } from './groups/transactional-producer.js';
import { describeTransactions } from './groups/transactions.js';
import type { ConformanceHarness, ConformanceOptions } from './harness.js';

export type { ConformanceHarness, ConformanceOptions, OpenTransaction } from './harness.js';

/**
 * Declares the `Transport` conformance suite (vitest `describe`/`it`) for one adapter. `factory`
 * is called once before the suite; every test uses fresh topics, groups and transactional ids,
 * waits by polling (no fixed sleeps), and closes the transports it opened. Like the engine, the
 * suite's listener calls `seekToBeginning` in `onAssigned`, so where an adapter starts a newly
 * assigned partition is not part of the contract.
 *
 * Cases: per-partition ordering, header/key/value/null round trip, watermarks, produce
 * visibility, partitioner agreement with the wire vectors, EOF notices (empty partition, log
 * ending in a commit marker, new records after EOF), seekToBeginning (also after the head of the
 * log was removed), seek (middle, below low, beyond high, unowned partition), openReader (whole
 * log, trailing commit marker, aborted transactions, from a middle offset or below low, alongside
 * group members and for unowned partitions, live records, close), compaction, read committed (aborted and open transactions), fencing, group
 * assignment and revocation, produceNoWait and commitOffsets; then edge-case records and
 * concurrent produce calls, a log ending in an abort marker, seeks while batches flow and inside
 * `onAssigned`, bounded redelivery of a rejected batch, a slow `onRevoked`, where a reader starts
 * and ends (empty partition, outside the log, abort marker, open transaction), the transactional
 * producer's life (init, failed sends, fenced for good, takeover, close), refusals (missing
 * partitions, unowned partitions, a second subscription, use after close, overlapping reads) and
 * core's schedule client over the transport. Cases needing an optional harness hook, or
 * transactions from an adapter without them, are skipped with a note; so are the cases listed in
 * {@link ConformanceOptions.unsupported}.
 *
 * @example
 * ```ts
 * describeTransportConformance('kafkajs', async () => ({
 *   createTransport: async () => createKafkaJsTransport({ brokers }),
 *   createTopic: (name, partitions, { compacted } = {}) => admin.createTopic(name, partitions, compacted),
 *   deleteRecords: (tp, offset) => admin.deleteRecords(tp, offset),
 *   cleanup: () => admin.close(),
 *   timeoutMs: 60_000,
 * }), { testTimeoutMs: 120_000 });
 * // or, from the testkit's broker harness of the adapter:
 * describeTransportConformance('kafkajs', conformanceHarness(harness), { testTimeoutMs: 120_000 });
 * ```
 */
export function describeTransportConformance(
  name: string,
  factory: () => Promise<ConformanceHarness>,
  options: ConformanceOptions = {},
): void {
  describe(`Transport conformance: ${name}`, () => {
    const ctx = createConformanceContext(name, factory, options);
    describeMetadata(ctx);
    describeProducing(ctx);
    describeConsuming(ctx);
    describeSeeking(ctx);
    describeReader(ctx);
    describeTransactions(ctx);
    describeGroupMembership(ctx);
    describeRecords(ctx);
    describeDelivery(ctx);
    describeListenerFailures(ctx);
    describeReaderEnds(ctx);
    describeTransactionalProducer(ctx);
    describeMisuse(ctx);
    describeScheduleClient(ctx);
  });
}
