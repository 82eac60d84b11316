/**
 * The kafkajs adapter in the testkit's broker harness (see `createBrokerHarness`), for the tests of
 * what is kafkajs's own, plus a raw kafkajs client for what the transport port cannot do. The
 * suites every adapter passes (conformance, engine scenarios, topic admin) run over both adapters
 * in tests/interop.
 */
import { kafkaBrokers } from '@ksched/testkit';
import { createBrokerHarness } from '@ksched/testkit/vitest'; // useResources() registers vitest's hooks
import { Kafka, logLevel } from 'kafkajs';
import { adapter } from '../src/index.js';

export const brokers = kafkaBrokers();

/** A raw kafkajs client (for what the transport port does not do, e.g. writing one header name twice). */
export const rawKafka = (clientId = 'ksched-kafkajs-test-raw'): Kafka => new Kafka({ brokers, clientId, logLevel: logLevel.NOTHING });

export const harness = createBrokerHarness({ kafkaAdapter: adapter, namePrefix: 'ksched-kjs' });
