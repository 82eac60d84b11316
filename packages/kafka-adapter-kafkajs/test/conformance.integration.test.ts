/**
 * The testkit's Transport conformance suite against the kafkajs transport on the real broker.
 */
import { conformanceHarness, describeTransportConformance } from '@ksched/testkit';
import { harness } from './helpers.js';

describeTransportConformance('kafkajs', conformanceHarness(harness), {
  testTimeoutMs: 120_000,
  unsupported: [
    {
      case: /a slow onRevoked settles before another member gets the partitions/,
      reason:
        "kafkajs's eager protocol cannot delay the rejoin until onRevoked settled: another member may be assigned a " +
        'partition while its revocation runs (README, "Every rebalance revokes every partition"; the engine fences per partition)',
    },
  ],
});
