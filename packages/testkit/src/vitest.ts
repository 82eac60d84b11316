/**
 * `@ksched/testkit/vitest`: the suites written for vitest. `describeTransportConformance` states
 * the `Transport` contract as a suite every adapter runs, `describeEngineScenarios` runs core's
 * `Scheduler` on an adapter against a real broker and the real clock, and
 * `describeTopicAdminConformance` checks an adapter's topic administration; `conformanceHarness`
 * and `engineScenarioHarness` build the first two suites' harnesses from a broker harness, and
 * `createBrokerHarness` here registers its clean-up with vitest's hooks.
 *
 * This entry imports `vitest` (an optional peer dependency of the testkit); the main entry,
 * `@ksched/testkit`, does not.
 *
 * @packageDocumentation
 */

export { describeTransportConformance } from './conformance/transport-conformance.js';
export type { ConformanceHarness, ConformanceOptions, OpenTransaction } from './conformance/transport-conformance.js';

export { describeEngineScenarios } from './scenarios/engine-scenarios.js';
export type { EngineScenarioHarness, EngineScenarioOptions, ObservedRecord, RunningScheduler } from './scenarios/engine-scenarios.js';

export { describeTopicAdminConformance } from './conformance/topic-admin.js';
export type { TopicAdminConformanceConnection, TopicAdminConformanceSubject } from './conformance/topic-admin.js';

export { conformanceHarness, engineScenarioHarness, FAST_COMPACTION } from './harness/suite-harnesses.js';
export { createBrokerHarness, vitestHooks } from './harness/vitest-hooks.js';
