/**
 * The testkit's engine scenarios (core's Scheduler on the real clock) against the kafkajs
 * transport on the real broker.
 */
import { describeEngineScenarios, engineScenarioHarness } from '@ksched/testkit';
import { harness } from './helpers.js';

// KSCHED_ENGINE_SCENARIOS_CONCURRENT=1 runs the scenarios side by side (a stress run: busier machine, later dispatches).
describeEngineScenarios('kafkajs', engineScenarioHarness(harness), {
  testTimeoutMs: 60_000,
  concurrent: process.env['KSCHED_ENGINE_SCENARIOS_CONCURRENT'] === '1',
});
