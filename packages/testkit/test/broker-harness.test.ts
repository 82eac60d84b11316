import { afterAll, describe, expect, it } from 'vitest';
import { statesTopic } from '@ksched/core';
import type { TopicPartition, Transport } from '@ksched/core';
import type { KafkaAdapter } from '@ksched/core/adapter';
import { createBrokerHarness as createHarnessWithHooks, FakeBroker, kafkaBrokers, text, tpKey } from '../src/index.js';
import type { HarnessTopicAdmin } from '../src/index.js';
import { conformanceHarness, createBrokerHarness, engineScenarioHarness, FAST_COMPACTION } from '../src/vitest.js';

/** A topic admin over the FakeBroker that records what it was asked. */
function fakeAdmin(broker: FakeBroker, calls: string[]): HarnessTopicAdmin {
  return {
    createTopic: async ({ topic, partitions = 1, configs = {} }) => {
      calls.push(`create ${topic} ${partitions}${configs['cleanup.policy'] ? ` ${configs['cleanup.policy']}` : ''}`);
      broker.createTopic(topic, { partitions, compacted: configs['cleanup.policy'] === 'compact' });
    },
    deleteTopics: async (topics) => void calls.push(`delete ${[...topics].sort().join(',')}`),
    deleteRecords: async (tp: TopicPartition, beforeOffset: number) => void broker.deleteRecords(tp, beforeOffset),
    close: async () => void calls.push('close'),
  };
}

const broker = new FakeBroker();
const calls: string[] = [];
const clientIds: string[] = [];
const transports: Transport[] = [];

// The FakeBroker as a `KafkaAdapter`: what an adapter package exports as `adapter`.
const kafkaAdapter: KafkaAdapter<{ brokers: string[]; clientId?: string; fast?: boolean }, { brokers: string[] }> = {
  name: 'fake',
  createTransport: (options) => {
    clientIds.push(`${options.clientId} ${options.brokers.join(',')}${options.fast ? ' fast' : ''}`);
    const t = broker.createTransport({ clientId: options.clientId ?? 'fake' });
    transports.push(t);
    return t;
  },
  ensureSchedulesTopics: async ({ topics, partitions = 1 }) => {
    for (const name of [...topics, ...topics.map((n) => statesTopic(n))]) broker.createTopic(name, { partitions, compacted: true });
    return { created: [...topics], existing: [] };
  },
  verifySchedulesTopics: async () => [],
  createTopic: async () => true,
  createTopicAdmin: async () => {
    throw new Error('not used');
  },
  createScheduleClient: () => {
    throw new Error('not used');
  },
};

const harness = createBrokerHarness({ kafkaAdapter, namePrefix: 'ksched-fake', createAdmin: async () => fakeAdmin(broker, calls) });
const created: string[] = [];

// Registered before useResources: vitest runs after-hooks last-registered first, so this sees the harness's cleanup.
afterAll(() => {
  expect(calls.at(-2)).toBe(`delete ${[...created].sort().join(',')}`);
  expect(calls.at(-1)).toBe('close');
});

const r = harness.useResources();

describe('createBrokerHarness', () => {
  it('names are unique to the run and carry the prefix; brokers come from KSCHED_BROKERS', () => {
    const [a, b] = [harness.unique('x'), harness.unique('x')];
    expect(a).toMatch(/^ksched-fake-x-[0-9a-z]+-\d+$/);
    expect(a).not.toBe(b);
    expect(harness.brokers).toEqual(kafkaBrokers());
  });

  it('creates topics and a member that owns all their partitions before it returns; transports get the adapter options', async () => {
    const topic = await r.topic('two', 2);
    created.push(topic);
    const t = await r.transport({ fast: true });
    expect(clientIds.at(-1)).toBe(`ksched-fake-test ${kafkaBrokers().join(',')} fast`);
    await t.produce([{ topic, partition: 1, key: 'k', value: 'v' }]);
    const { recorder, transport } = await r.consume([topic]);
    expect([...recorder.owned].sort()).toEqual([tpKey({ topic, partition: 0 }), tpKey({ topic, partition: 1 })]);
    await recorder.waitForEof({ topic, partition: 1 }, 1);
    expect(recorder.values({ topic, partition: 1 })).toEqual(['v']);
    expect(transport).not.toBe(t);
  });

  it('closed the transports of the previous test; schedules topics come with their states topics', async () => {
    for (const t of transports.splice(0)) await expect(t.produce([{ topic: created[0]!, key: 'k', value: 'v' }])).rejects.toThrow();
    const [schedules] = await r.schedulesTopics(3, 'sched');
    created.push(schedules!, statesTopic(schedules!));
    const t = await r.transport();
    expect(await t.partitionCount(statesTopic(schedules!))).toBe(3);
    expect(text(new TextEncoder().encode('ü'))).toBe('ü');
  });

  it('builds the suite harnesses: compacted conformance topics compact fast, DeleteRecords comes from the admin', async () => {
    const conformance = await conformanceHarness(harness)();
    expect(conformance.namePrefix).toBe('ksched-fake-conf');
    await conformance.createTopic('ksched-fake-conf-c', 1, { compacted: true });
    expect(calls).toContain(`create ksched-fake-conf-c 1 ${FAST_COMPACTION['cleanup.policy']}`);
    expect(conformance.deleteRecords).toBeDefined();
    expect(conformance.openTransaction).toBeUndefined();
    await conformance.cleanup();
    expect(calls.slice(-2)).toEqual(['delete ksched-fake-conf-c', 'close']);
    const engine = await engineScenarioHarness(harness)();
    await engine.createTopic('ksched-fake-eng-s', 2, { compacted: true });
    expect(calls.at(-1)).toBe('create ksched-fake-eng-s 2 compact');
    await engine.cleanup();
  });

  it("takes the topic admin from the adapter's createTopicAdmin when not given one", async () => {
    const asked: unknown[] = [];
    const admin = await createBrokerHarness({
      kafkaAdapter: {
        ...kafkaAdapter,
        createTopicAdmin: async (options) => {
          asked.push(options);
          return { ...fakeAdmin(broker, []), partitionCounts: async () => new Map(), describeTopicConfigs: async () => ({}) } as never;
        },
      },
      namePrefix: 'ksched-fake',
    }).adapter.createAdmin();
    expect(asked).toEqual([{ brokers: kafkaBrokers() }]);
    await admin.close();
  });

  it('from the main entry, registers its clean-up with the runner hooks it is given, and without them refuses useResources', async () => {
    const spec = { kafkaAdapter, namePrefix: 'ksched-fake', createAdmin: async () => fakeAdmin(broker, []) };
    expect(() => createHarnessWithHooks(spec).useResources()).toThrow(/needs the test runner's after-hooks.*@ksched\/testkit\/vitest/);
    const registered: string[] = [];
    const hooked = createHarnessWithHooks(spec, {
      afterEach: () => registered.push('afterEach'),
      afterAll: () => registered.push('afterAll'),
    });
    expect(hooked.unique('x')).toMatch(/^ksched-fake-x-/); // names need no hooks
    hooked.useResources();
    expect(registered).toEqual(['afterEach', 'afterAll']);
  });
});
