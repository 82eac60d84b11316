/**
 * `@ksched/testkit`: test doubles and the transport contract for ksched. `FakeClock` implements
 * the core `Clock` port, `FakeBroker` is an in-memory Kafka whose members implement `Transport`,
 * `describeTransportConformance` states the `Transport` contract as a vitest suite that every
 * adapter runs, and `describeEngineScenarios` runs core's `Scheduler` on an adapter against a real
 * broker and the real clock.
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

export { describeTransportConformance } from './conformance/transport-conformance.js';
export type { ConformanceHarness, ConformanceOptions, OpenTransaction } from './conformance/transport-conformance.js';

export { describeEngineScenarios } from './scenarios/engine-scenarios.js';
export type { EngineScenarioHarness, EngineScenarioOptions, ObservedRecord, RunningScheduler } from './scenarios/engine-scenarios.js';

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
} from './harness/broker-harness.js';
export { conformanceHarness, engineScenarioHarness, FAST_COMPACTION } from './harness/suite-harnesses.js';

export { describeTopicAdminConformance } from './conformance/topic-admin.js';
export type { TopicAdminConformanceConnection, TopicAdminConformanceSubject } from './conformance/topic-admin.js';
export { configViolations } from './config-violations.js';
