/**
 * The testkit's topic-admin conformance suite on each adapter and the real broker, declared once:
 * one suite per adapter (`kafkajs topic administration`, …). What a client cannot do (read topic
 * configs, delete records) is in its entry of the adapter table, and checked to be refused.
 */
import { kafkaBrokers } from '@ksched/testkit';
import { describeTopicAdminConformance } from '@ksched/testkit/vitest';
import { ADAPTERS } from './adapters/index.js';

for (const { name, kafkaAdapter, harness, topicAdmin } of ADAPTERS) {
  // The topic-admin functions under test are the adapter object's.
  describeTopicAdminConformance(name, {
    ...kafkaAdapter,
    ...topicAdmin,
    brokers: kafkaBrokers(),
    namePrefix: `${harness.adapter.namePrefix}-admin`,
  });
}
