/**
 * The harnesses the testkit's suites (`describeTransportConformance`, `describeEngineScenarios`)
 * need, built from an adapter's {@link BrokerHarness}: topics created with the right settings and
 * deleted after the suite, DeleteRecords, compaction on demand, open transactions.
 *
 * @module
 */
import { SCHEDULES_TOPIC_CONFIGS } from '@ksched/core';
import type { ConsumedRecord, GroupListener, PartitionBatch, Transport } from '@ksched/core';
import type { ConformanceHarness } from '../conformance/transport-conformance.js';
import type { EngineScenarioHarness } from '../scenarios/engine-scenarios.js';
import { waitUntil } from '../recording-listener.js';
import { sleep, text } from './broker-harness.js';
import type { BrokerHarness, HarnessTopicAdmin } from './broker-harness.js';

/** Topic configs that let the test broker compact within a second or so. */
export const FAST_COMPACTION: Readonly<Record<string, string>> = {
  'cleanup.policy': 'compact',
  'segment.ms': '100',
  'min.cleanable.dirty.ratio': '0.01',
  'min.compaction.lag.ms': '0',
};

const ROLL_KEY = '__ksched_conformance_roll__';

/** Reads partition 0 of `topic` to its end with a throwaway group member. */
async function readAll(transport: Transport, topic: string, groupId: string): Promise<ConsumedRecord[]> {
  const batches: PartitionBatch[] = [];
  let high = -1;
  const listener: GroupListener = {
    onAssigned: async (parts) => {
      for (const p of parts) if (p.partition === 0) high = (await transport.seekToBeginning(p)).high;
    },
    onRevoked: () => {},
    onBatch: (b) => {
      batches.push(b);
    },
  };
  try {
    await transport.subscribe({ groupId, topics: [topic], listener });
    await waitUntil(
      () => high >= 0 && batches.some((b) => b.partition === 0 && b.records.length === 0 && b.position >= high),
      'reading the compacted topic',
      60_000,
    );
    return batches.filter((b) => b.partition === 0).flatMap((b) => b.records);
  } finally {
    await transport.close();
  }
}

/**
 * Compacts partition 0 of a topic created with {@link FAST_COMPACTION}: Kafka compacts closed
 * segments only, so it rolls the segment with a marker record until the superseded records are
 * gone (segment.ms 100, cleaner backoff 1 s on the test broker).
 */
async function compactNow<O, A extends HarnessTopicAdmin>(harness: BrokerHarness<O, A>, topic: string): Promise<void> {
  const { adapter } = harness;
  const producer = adapter.createTransport(`ksched-${adapter.name}-conformance-roll`);
  try {
    await waitUntil(
      async () => {
        await sleep(200);
        await producer.produce([{ topic, partition: 0, key: ROLL_KEY, value: 'roll' }]);
        const reader = adapter.createTransport(`ksched-${adapter.name}-conformance-reader`);
        const keys = (await readAll(reader, topic, harness.unique('compaction-reader')))
          .map((r) => text(r.key))
          .filter((k) => k !== ROLL_KEY);
        return keys.length > 0 && new Set(keys).size === keys.length;
      },
      `compaction of ${topic}`,
      60_000,
    );
  } finally {
    await producer.close();
  }
}

/**
 * The `describeTransportConformance` harness of an adapter on the real broker: compacted topics
 * compact within seconds, `compact` rolls segments until they did, and DeleteRecords and open
 * transactions come from the adapter when it has them.
 *
 * @example
 * ```ts
 * describeTransportConformance('kafkajs', conformanceHarness(harness), { testTimeoutMs: 120_000 });
 * ```
 */
export function conformanceHarness<O, A extends HarnessTopicAdmin>(harness: BrokerHarness<O, A>): () => Promise<ConformanceHarness> {
  return async () => {
    const common = await suiteHarness(harness, { timeoutMs: 60_000, suite: 'conformance', short: 'conf', compacted: FAST_COMPACTION });
    const { adapter } = harness;
    return {
      ...common,
      compact: (topic) => compactNow(harness, topic),
      ...(adapter.openTransaction ? { openTransaction: adapter.openTransaction.bind(adapter) } : {}),
    };
  };
}

/**
 * What both suite harnesses hold: an admin client of the adapter, topics created (compacted ones
 * with `compacted` configs) and deleted at cleanup, DeleteRecords where the adapter has it.
 */
async function suiteHarness<O, A extends HarnessTopicAdmin>(
  harness: BrokerHarness<O, A>,
  o: { readonly timeoutMs: number; readonly suite: string; readonly short: string; readonly compacted: Readonly<Record<string, string>> },
): Promise<EngineScenarioHarness> {
  const { adapter } = harness;
  const admin = await adapter.createAdmin();
  const topics: string[] = [];
  const deleteRecords = harness.deleteRecords(admin);
  return {
    timeoutMs: o.timeoutMs,
    namePrefix: `${adapter.namePrefix}-${o.short}`,
    createTransport: async () => adapter.createTransport(`ksched-${adapter.name}-${o.suite}`),
    createTopic: async (name, partitions, options = {}) => {
      topics.push(name);
      await admin.createTopic({ topic: name, partitions, configs: options.compacted ? { ...o.compacted } : {} });
    },
    ...(deleteRecords ? { deleteRecords } : {}),
    cleanup: async () => {
      await admin.deleteTopics(topics).catch(() => {});
      await admin.close();
    },
  };
}

/**
 * The `describeEngineScenarios` harness of an adapter on the real broker: schedules and states
 * topics get the production settings (compaction does not run within a scenario's few seconds).
 */
export function engineScenarioHarness<O, A extends HarnessTopicAdmin>(harness: BrokerHarness<O, A>): () => Promise<EngineScenarioHarness> {
  return () => suiteHarness(harness, { timeoutMs: 30_000, suite: 'engine-scenarios', short: 'eng', compacted: SCHEDULES_TOPIC_CONFIGS });
}
