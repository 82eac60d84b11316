/**
 * `createBrokerHarness` with vitest's after-hooks as the default, for `@ksched/testkit/vitest`.
 *
 * @module
 */
import { afterAll, afterEach } from 'vitest';
import type { TopicAdminClient } from '@ksched/core/adapter';
import { createBrokerHarness as createHarness } from './broker-harness.js';
import type { AdapterUnderTest, BrokerHarness, HarnessTopicAdmin, KafkaAdapterUnderTest, TestHooks } from './broker-harness.js';

/** vitest's `afterEach` and `afterAll`. */
export const vitestHooks: TestHooks = {
  afterEach: (fn) => afterEach(fn),
  afterAll: (fn) => afterAll(fn),
};

/**
 * The broker harness of an adapter (see `createBrokerHarness` of `@ksched/testkit`), whose
 * `useResources()` registers its clean-up with vitest's `afterEach` and `afterAll` unless other
 * `hooks` are given.
 */
export function createBrokerHarness<T, C, A extends HarnessTopicAdmin = TopicAdminClient>(
  spec: KafkaAdapterUnderTest<T, C, A>,
  hooks?: TestHooks,
): BrokerHarness<Partial<T>, A>;
export function createBrokerHarness<O, A extends HarnessTopicAdmin>(spec: AdapterUnderTest<O, A>, hooks?: TestHooks): BrokerHarness<O, A>;
export function createBrokerHarness<O, A extends HarnessTopicAdmin>(
  spec: AdapterUnderTest<O, A> | KafkaAdapterUnderTest<O, unknown, A>,
  hooks: TestHooks = vitestHooks,
): BrokerHarness<O, A> {
  return 'kafkaAdapter' in spec ? (createHarness(spec, hooks) as BrokerHarness<O, A>) : createHarness(spec, hooks);
}
