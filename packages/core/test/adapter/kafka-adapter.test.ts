import { describe, expect, it } from 'vitest';
import { FakeBroker } from '@ksched/testkit';
import { UnsupportedError } from '../../src/errors.js';
import type { Transport } from '../../src/ports/transport.js';
import { defineAdapter } from '../../src/adapter/kafka-adapter.js';
import type { ResolvedNewTopic, TopicAdmin } from '../../src/adapter/topic-admin.js';

interface FakeTransportOptions {
  readonly brokers: string;
  readonly clientId?: string;
}
interface FakeConnection {
  readonly brokers: string;
}

/** A driver over the FakeBroker (transports) and a map of topics (its TopicAdmin port, no optional capabilities). */
function fakeDriver() {
  const broker = new FakeBroker();
  const topics = new Map<string, number>();
  const calls: string[] = [];
  const closed: Transport[] = [];
  const adapter = defineAdapter({
    name: 'fake',
    clientName: 'fake-client',
    createTransport: (options: FakeTransportOptions) => {
      calls.push(`transport ${JSON.stringify(options)}`);
      const transport = broker.createTransport({ clientId: options.clientId ?? 'fake' });
      const close = transport.close.bind(transport);
      transport.close = async () => {
        closed.push(transport);
        await close();
      };
      return transport;
    },
    openTopicAdmin: async (connection: FakeConnection): Promise<TopicAdmin> => {
      calls.push(`open ${JSON.stringify(connection)}`);
      return {
        listTopics: async () => [...topics.keys()],
        partitionCounts: async (names) => new Map(names.map((n) => [n, topics.get(n)!])),
        createTopic: async (t: ResolvedNewTopic) => {
          if (topics.has(t.topic)) return false;
          topics.set(t.topic, t.partitions);
          broker.createTopic(t.topic, { partitions: t.partitions });
          return true;
        },
        deleteTopics: async (names) => {
          for (const n of names) topics.delete(n);
        },
        close: async () => void calls.push('close'),
      };
    },
  });
  return { adapter, broker, calls, closed };
}

describe('defineAdapter', () => {
  it('builds the KafkaAdapter: name and transport are the driver’s', () => {
    const { adapter, calls } = fakeDriver();
    expect(adapter.name).toBe('fake');
    const transport = adapter.createTransport({ brokers: 'a:1', clientId: 'c' });
    expect(transport.specificationVersion).toBe('v1');
    expect(calls).toEqual(['transport {"brokers":"a:1","clientId":"c"}']);
  });

  it('runs the kit’s topic-admin flow over the driver’s port, given the connection settings only; functions work destructured', async () => {
    const { adapter, calls } = fakeDriver();
    const { ensureSchedulesTopics, verifySchedulesTopics, createTopic } = adapter;
    await expect(ensureSchedulesTopics({ brokers: 'a:1', topics: ['s'], partitions: 2 })).resolves.toEqual({
      created: ['s', 's_states'],
      existing: [],
    });
    expect(calls).toEqual(['open {"brokers":"a:1"}', 'close']);
    await expect(verifySchedulesTopics({ brokers: 'a:1', topics: ['s'] })).resolves.toEqual([]);
    await expect(createTopic({ brokers: 'a:1', topic: 's' })).resolves.toBe(false);
  });

  it('names the client when the port lacks a capability', async () => {
    const { adapter } = fakeDriver();
    await expect(adapter.verifySchedulesTopics({ brokers: 'a:1', topics: ['s'], checkConfigs: true })).rejects.toSatisfy(
      (e: unknown) => UnsupportedError.isInstance(e) && e.message.startsWith('fake-client cannot read topic configs'),
    );
    const { createTopicAdmin } = adapter;
    const admin = await createTopicAdmin({ brokers: 'a:1' });
    await expect(admin.deleteRecords({ topic: 't', partition: 0 }, 1)).rejects.toThrow('fake-client cannot delete records');
    await admin.close();
  });

  it('createScheduleClient: over transport options it creates a transport (without the client settings) and closes it', async () => {
    const { adapter, calls, closed } = fakeDriver();
    const { createScheduleClient } = adapter;
    const client = createScheduleClient({ brokers: 'a:1', clientId: 'cl', schedulesTopic: 's' });
    expect(calls).toEqual(['transport {"brokers":"a:1","clientId":"cl"}']);
    await client.close();
    expect(closed).toHaveLength(1);
  });

  it('createScheduleClient: over a given transport it leaves the transport open', async () => {
    const { adapter, broker, closed } = fakeDriver();
    broker.createTopic('s', { partitions: 1 });
    const transport = broker.createTransport({ clientId: 'mine' });
    await transport.connect();
    const client = adapter.createScheduleClient({ transport, schedulesTopic: 's' });
    await client.schedule({ message: { topic: 'orders', payload: 'x' }, delayMs: 60_000 });
    await client.close();
    expect(closed).toEqual([]);
    await transport.close();
  });
});
