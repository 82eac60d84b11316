/**
 * The rdkafka adapter in the testkit's broker harness (see `createBrokerHarness`), for the tests
 * of what is node-rdkafka's own. The suites every adapter passes (conformance, engine scenarios,
 * topic admin) run over both adapters in tests/interop, which also holds node-rdkafka's
 * DeleteRecords (through the broker's tool) and its raw open transactions.
 */
import { createBrokerHarness } from '@ksched/testkit/vitest'; // useResources() registers vitest's hooks
import { adapter } from '../src/index.js';

export const harness = createBrokerHarness({ kafkaAdapter: adapter, namePrefix: 'ksched-rdk' });
