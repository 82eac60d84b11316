/**
 * The testkit's engine scenarios (core's Scheduler on the real clock) on each adapter and the real
 * broker, declared once: one suite per adapter (`Engine scenarios: kafkajs`, `… rdkafka`).
 */
import { describeEngineScenarios, engineScenarioHarness } from '@ksched/testkit/vitest';
import { ADAPTERS } from './adapters/index.js';

for (const { name, harness } of ADAPTERS) {
  // KSCHED_ENGINE_SCENARIOS_CONCURRENT=1 runs the scenarios side by side (a stress run: busier machine, later dispatches).
  describeEngineScenarios(name, engineScenarioHarness(harness), {
    testTimeoutMs: 60_000,
    concurrent: process.env['KSCHED_ENGINE_SCENARIOS_CONCURRENT'] === '1',
  });
}
