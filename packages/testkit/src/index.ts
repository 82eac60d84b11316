/**
 * `@ksched/testkit`: test doubles for ksched, for any test runner. `FakeClock` implements the core
 * `Clock` port, `FakeBroker` is an in-memory Kafka whose members implement `Transport`, and
 * `createTestEnvironment` runs core's `Scheduler` on both, on fake time.
 *
 * Nothing reachable from this entry imports a test runner. The vitest suites (transport and
 * topic-admin conformance, engine scenarios) are in `@ksched/testkit/vitest`.
 *
 * @packageDocumentation
 */

export { FakeClock } from './fake-clock.js';
export type { FakeClockOptions, FakeTimerInfo } from './fake-clock.js';

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
  RawRecord,
  StoredRecord,
  TransactionPause,
  TransactionState,
} from './fake-broker/index.js';

export { createTestEnvironment, TestEnvironment } from './test-environment.js';
export type { AddMemberOptions, DispatchedMessage, Member, RecordedEvents, TestEnvironmentOptions } from './test-environment.js';

export { RecordingListener, waitForEndOffset, waitUntil } from './recording-listener.js';

export { createBrokerHarness, kafkaBrokers, sleep, text, tpKey } from './harness/broker-harness.js';
export type {
  AdapterUnderTest,
  BrokerHarness,
  BrokerResources,
  ConsumingMember,
  HarnessTopicAdmin,
  KafkaAdapterUnderTest,
  TestHooks,
} from './harness/broker-harness.js';
export type { OpenTransaction } from './conformance/harness.js';

export { configViolations } from './config-violations.js';
