/**
 * What every adapter's `KafkaAdapter` object does the same way with its own options, run on each:
 * a schedule client made from connection options creates its transport and closes it.
 */
import { describe, expect, it } from 'vitest';
import { ContractViolationError, partitionForKey } from '@ksched/core';
import { adapter as kafkajs, createTopicAdmin as createKafkaJsTopicAdmin } from '@ksched/kafka-adapter-kafkajs';
import { adapter as rdkafka, createTopicAdmin as createRdKafkaTopicAdmin } from '@ksched/kafka-adapter-rdkafka';
import { createBrokerHarness, kafkaBrokers } from '@ksched/testkit';

const brokers = kafkaBrokers();
const resources = {
  kafkajs: createBrokerHarness({
    kafkaAdapter: kafkajs,
    namePrefix: 'ksched-kjs',
    createAdmin: () => createKafkaJsTopicAdmin({ brokers }),
  }),
  rdkafka: createBrokerHarness({
    kafkaAdapter: rdkafka,
    namePrefix: 'ksched-rdk',
    createAdmin: () => createRdKafkaTopicAdmin({ brokers }),
  }),
};
const kafkajsResources = resources.kafkajs.useResources();
const rdkafkaResources = resources.rdkafka.useResources();

describe.each([
  ['kafkajs', kafkajs, kafkajsResources],
  ['rdkafka', rdkafka, rdkafkaResources],
] as const)('the %s adapter', (name, adapter, r) => {
  it('createScheduleClient from connection options creates its own transport and closes it; the builders validate', async () => {
    const [schedulesTopic] = await r.schedulesTopics(5, 'client');
    const client = adapter.createScheduleClient({ brokers, clientId: `ksched-${name}-client-test`, schedulesTopic: schedulesTopic! });
    try {
      const ref = await client.schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { key: 'k-1' }, delayMs: 60_000 });
      expect(ref).toMatchObject({ topic: schedulesTopic, partition: partitionForKey('k-1', 5), offset: 0 });
      await expect(client.schedule({ message: { topic: 'orders', payload: 'x' }, epoch: 1 })).rejects.toSatisfy(
        ContractViolationError.isInstance,
      );
    } finally {
      await client.close();
    }
  });
});
