/**
 * An in-memory Kafka cluster for tests: topics, partitions, offsets, keys, headers, null values,
 * murmur2 partitioning, log compaction, consumer groups with rebalances, read-committed
 * transactions with fencing, and fault injection. Each {@link FakeTransport} it creates is one
 * group member implementing the core `Transport` port. The code lives in `fake-broker/`, split by
 * role; this module keeps the original import path.
 *
 * @module
 */
export { FakeBroker, FakePartitionReader, FakeTransport } from './fake-broker/index.js';
export type {
  CompactOptions,
  CreateTopicOptions,
  FailProduceOptions,
  FailTransactionCommitOptions,
  FakeBrokerFaults,
  FakeBrokerOptions,
  FakeReadSpeed,
  FakeTransportOptions,
  FakeWatermarks,
  FaultHandle,
  MemberAssignment,
  OffsetCommit,
  PauseTransactionOptions,
  ProducedRecord,
  StoredRecord,
  TransactionPause,
  TransactionState,
} from './fake-broker/index.js';
