/**
 * The engine scenarios on a real transport: core's `Scheduler` with `systemClock`, against real
 * time with short horizons (schedules due in one to three seconds). The FakeBroker scenarios
 * (core's engine tests, `packages/core/test/engine`) prove the engine on fake time; these run the
 * same stories through an adapter and a broker, where fake time is impossible. The scenarios live
 * in named groups under `./groups/`; each scenario's topics, reader and record builders in
 * `./context.ts`.
 *
 * @module
 */
import { describe } from 'vitest';
import { createScenarioContext } from './context.js';
import { describeDayChange } from './groups/day-change.js';
import { describeDispatch } from './groups/dispatch.js';
import { describeInvalidRecords } from './groups/invalid-records.js';
import { describeLoading } from './groups/loading.js';
import { describeMembership } from './groups/membership.js';
import { describeTombstones } from './groups/tombstones.js';
import { describeUpdates } from './groups/updates.js';
import type { EngineScenarioHarness, EngineScenarioOptions } from './types.js';

export type { EngineScenarioHarness, EngineScenarioOptions, ObservedRecord, RunningScheduler } from './types.js';

/**
 * Declares the engine scenarios (vitest `describe`/`it`) for one adapter: core's `Scheduler` on
 * `systemClock` and the adapter's transport, on a real broker. Every scenario uses fresh topics
 * (schedules and states topics created compacted, a target topic) and groups, reads what the
 * engine wrote with a plain consumer of the same transport type, and waits by polling with
 * timeouts; due times are one to three seconds ahead. Schedulers run with `intervalMs` and
 * `statesReportIntervalMs` 1000.
 *
 * Scenarios: an empty partition's single `loaded` report; ordered dispatches; mostly future
 * (tomorrow's not dispatched, counted in `daily`); dispatched except one (hand-made tombstones);
 * cancel before due (and a cancel on another partition doing nothing); update later within today;
 * update to tomorrow; fast close of past schedules; invalid records skipped and counted; a newer
 * schema halting one partition of two; never early; transactional exactly-once; restart without
 * re-dispatch; two schedulers splitting a group; the engine's own tombstones; a restart after the
 * head of the partition was removed (needs `deleteRecords` or `compact`); the day change on a
 * clock shifted to just before UTC midnight (no reload); background reads racing live updates
 * and cancels of the same keys; a partition returning to its member. Scenarios that need
 * "later today" are skipped within two minutes of UTC midnight.
 *
 * @example
 * ```ts
 * describeEngineScenarios('kafkajs', async () => ({
 *   createTransport: async () => createKafkaJsTransport({ brokers }),
 *   createTopic: (name, partitions, { compacted } = {}) => admin.createTopic(name, partitions, compacted),
 *   deleteRecords: (tp, offset) => admin.deleteRecords(tp, offset),
 *   cleanup: () => admin.close(),
 * }), { testTimeoutMs: 60_000 });
 * ```
 */
export function describeEngineScenarios(
  name: string,
  factory: () => Promise<EngineScenarioHarness>,
  options: EngineScenarioOptions = {},
): void {
  const declare = options.concurrent ? describe.concurrent : describe;
  declare(`Engine scenarios: ${name}`, () => {
    const ctx = createScenarioContext(name, factory, options);
    describeLoading(ctx);
    describeDispatch(ctx);
    describeUpdates(ctx);
    describeDayChange(ctx);
    describeInvalidRecords(ctx);
    describeTombstones(ctx);
    describeMembership(ctx);
  });
}
