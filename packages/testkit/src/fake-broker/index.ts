/**
 * The FakeBroker, split by role: `log.ts` (topics, producing, compaction), `transactions.ts`,
 * `groups.ts` (membership, assignors, rebalances), `delivery.ts` (batches, EOF, redelivery,
 * seeks, commits, settling), `faults.ts`, `reader.ts`, `transport.ts` (a member over the kit's
 * Transport shell) and `broker.ts` (the public FakeBroker); `types.ts` holds the public types.
 *
 * @module
 */
export { FakeBroker } from './broker.js';
export { FakeTransport } from './transport.js';
export { FakePartitionReader } from './reader.js';
export type { FakeBrokerFaults } from './faults.js';
export type {
  CompactOptions,
  CreateTopicOptions,
  FailProduceOptions,
  FailTransactionCommitOptions,
  FakeBrokerOptions,
  FakeReadSpeed,
  FakeTransportOptions,
  FakeWatermarks,
  FaultHandle,
  MemberAssignment,
  OffsetCommit,
  PauseTransactionOptions,
  ProducedRecord,
  RawRecord,
  StoredRecord,
  TransactionPause,
  TransactionState,
} from './types.js';
