/**
 * The testkit's engine scenarios (core's Scheduler on the real clock) against the kafkajs
 * transport on the real broker.
 */
import { describeEngineScenarios } from '@ksched/testkit';
import type { EngineScenarioHarness } from '@ksched/testkit';
import { createKafkaJsTransport, createTopicAdmin, SCHEDULES_TOPIC_CONFIGS } from '../src/index.js';
import { brokers } from './helpers.js';

describeEngineScenarios(
  'kafkajs',
  async (): Promise<EngineScenarioHarness> => {
    const admin = await createTopicAdmin({ brokers });
    const topics: string[] = [];
    return {
      timeoutMs: 30_000,
      namePrefix: 'ksched-kjs-eng',
      createTransport: async () => createKafkaJsTransport({ brokers, clientId: 'ksched-engine-scenarios' }),
      createTopic: async (name, partitions, options = {}) => {
        topics.push(name);
        // The production settings: compaction does not run within a scenario's few seconds.
        await admin.createTopic({ topic: name, partitions, configs: options.compacted ? { ...SCHEDULES_TOPIC_CONFIGS } : {} });
      },
      deleteRecords: (tp, beforeOffset) => admin.deleteRecords(tp, beforeOffset),
      cleanup: async () => {
        await admin.deleteTopics(topics).catch(() => {});
        await admin.close();
      },
    };
  },
  // KSCHED_ENGINE_SCENARIOS_CONCURRENT=1 runs the scenarios side by side (a stress run: busier machine, later dispatches).
  { testTimeoutMs: 60_000, concurrent: process.env['KSCHED_ENGINE_SCENARIOS_CONCURRENT'] === '1' },
);
