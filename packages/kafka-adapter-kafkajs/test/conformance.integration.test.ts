/**
 * The testkit's Transport conformance suite against the kafkajs transport on the real broker.
 */
import { conformanceHarness, describeTransportConformance } from '@ksched/testkit';
import { harness } from './helpers.js';

describeTransportConformance('kafkajs', conformanceHarness(harness), { testTimeoutMs: 120_000 });
