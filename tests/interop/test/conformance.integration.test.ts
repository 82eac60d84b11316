/**
 * The testkit's Transport conformance suite on each adapter and the real broker, declared once:
 * one suite per adapter (`Transport conformance: kafkajs`, `… rdkafka`). The cases an adapter's
 * client cannot pass are listed, with the reason, in its entry of the adapter table.
 */
import { conformanceHarness, describeTransportConformance } from '@ksched/testkit/vitest';
import { ADAPTERS } from './adapters/index.js';

for (const { name, harness, unsupported } of ADAPTERS) {
  describeTransportConformance(name, conformanceHarness(harness), { testTimeoutMs: 120_000, unsupported });
}
