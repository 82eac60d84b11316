import { describe, expect, it } from 'vitest';
import { ConfigError, UnsupportedError } from '../../src/errors.js';
import { DEAD_LETTER_TOPIC_CONFIGS, SCHEDULES_TOPIC_CONFIGS } from '../../src/contracts/topics.js';
import { topicAdminKit } from '../../src/adapter/topic-admin.js';
import type { ResolvedNewTopic, TopicAdmin } from '../../src/adapter/topic-admin.js';

/** A cluster in memory behind the TopicAdmin port; `describes` / `deletesRecords` switch the optional capabilities. */
function memoryCluster(capabilities: { describes?: boolean; deletesRecords?: boolean } = {}) {
  const topics = new Map<string, { partitions: number; configs: Record<string, string>; low: number[] }>();
  const calls: string[] = [];
  let open = 0;
  const port = (): TopicAdmin => {
    open += 1;
    const admin: TopicAdmin = {
      listTopics: async () => [...topics.keys()],
      partitionCounts: async (names) => {
        calls.push(`partitionCounts ${names.join(',')}`);
        return new Map(names.map((n) => [n, topics.get(n)!.partitions]));
      },
      createTopic: async (t: ResolvedNewTopic) => {
        calls.push(`create ${t.topic} ${t.partitions}x${t.replicationFactor}`);
        if (topics.has(t.topic)) return false;
        topics.set(t.topic, {
          partitions: t.partitions,
          configs: { 'cleanup.policy': 'delete', 'segment.ms': '604800000', ...t.configs },
          low: [],
        });
        return true;
      },
      deleteTopics: async (names) => {
        for (const n of names) topics.delete(n);
      },
      close: async () => {
        open -= 1;
      },
    };
    if (capabilities.describes)
      admin.describeTopicConfigs = async (names, wanted) =>
        new Map(
          names.map((n) => [
            n,
            new Map(Object.entries(topics.get(n)!.configs).filter(([k]) => wanted === undefined || wanted.includes(k))),
          ]),
        );
    if (capabilities.deletesRecords)
      admin.deleteRecords = async (tp, before) => {
        topics.get(tp.topic)!.low[tp.partition] = before;
      };
    return admin;
  };
  const connections: Readonly<Record<string, unknown>>[] = [];
  const kit = topicAdminKit<{ brokers: string[] }>({
    clientName: 'memory-client',
    open: async (connection) => {
      if (!Array.isArray(connection['brokers']) || connection['brokers'].length === 0)
        throw new ConfigError([{ field: 'brokers', rule: 'min', message: 'needs at least one broker (host:port)' }]);
      connections.push(connection);
      return port();
    },
  });
  return { kit, topics, calls, connections, openAdmins: () => open };
}

const brokers = ['b:1'];

describe('topic-admin kit: ensureSchedulesTopics', () => {
  it('creates both topics of each pair with the §7.2 configs, then leaves them alone; passes only connection settings to the driver', async () => {
    const c = memoryCluster();
    expect(await c.kit.ensureSchedulesTopics({ brokers, topics: ['s'], partitions: 3, replicationFactor: 2 })).toEqual({
      created: ['s', 's_states'],
      existing: [],
    });
    expect(c.topics.get('s')).toMatchObject({ partitions: 3, configs: SCHEDULES_TOPIC_CONFIGS });
    expect(c.calls).toEqual(['create s 3x2', 'create s_states 3x2']);
    expect(c.connections).toEqual([{ brokers }]);
    expect(await c.kit.ensureSchedulesTopics({ brokers, topics: ['s'], partitions: 7 })).toEqual({
      created: [],
      existing: ['s', 's_states'],
    });
    expect(c.topics.get('s')!.partitions).toBe(3);
    expect(c.openAdmins()).toBe(0);
  });

  it('gives a missing states topic the partition count of its schedules topic (custom postfix), and defaults to 5 partitions', async () => {
    const c = memoryCluster();
    await c.kit.createTopic({ brokers, topic: 'half', partitions: 2 });
    expect(await c.kit.ensureSchedulesTopics({ brokers, topics: ['half', 'fresh'], statesPostfix: '-st', partitions: 9 })).toEqual({
      created: ['half-st', 'fresh', 'fresh-st'],
      existing: ['half'],
    });
    expect(c.topics.get('half-st')!.partitions).toBe(2);
    expect(c.topics.get('fresh')!.partitions).toBe(9);
    await c.kit.ensureSchedulesTopics({ brokers, topics: ['dflt'] });
    expect(c.topics.get('dflt_states')!.partitions).toBe(5);
  });

  it('rejects invalid settings with a ConfigError naming each, before connecting', async () => {
    const c = memoryCluster();
    const error = await c.kit.ensureSchedulesTopics({ brokers, topics: ['not valid!'], partitions: 0 }).catch((e: unknown) => e);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).violations.map((v) => v.field)).toEqual(['topics.0', 'partitions']);
    expect(c.connections).toEqual([]);
    await expect(c.kit.ensureSchedulesTopics({ brokers: [], topics: ['t'] })).rejects.toSatisfy(ConfigError.isInstance);
    await expect(c.kit.createTopic({ brokers, topic: '' })).rejects.toSatisfy(ConfigError.isInstance);
  });
});

describe('topic-admin kit: verifySchedulesTopics', () => {
  it('with a client that reads configs: reports every difference, the cleanup policy always, the other §7.2 settings with checkConfigs', async () => {
    const c = memoryCluster({ describes: true });
    await c.kit.ensureSchedulesTopics({ brokers, topics: ['good'], partitions: 5 });
    await c.kit.createTopic({ brokers, topic: 'bad', partitions: 3 });
    await c.kit.createTopic({ brokers, topic: 'bad_states', partitions: 4, configs: { 'cleanup.policy': 'compact' } });
    expect(await c.kit.verifySchedulesTopics({ brokers, topics: ['good'], partitions: 5, checkConfigs: true })).toEqual([]);
    expect(await c.kit.verifySchedulesTopics({ brokers, topics: ['good', 'bad', 'missing'], partitions: 5 })).toEqual([
      'schedules topic "bad" has 3 partitions, expected 5',
      'schedules topic "bad" has cleanup.policy=delete, expected compact',
      'states topic of bad "bad_states" has 4 partitions, expected 5',
      'schedules topic "bad" has 3 partitions but its states topic "bad_states" has 4; they must be equal',
      'schedules topic "missing" does not exist',
      'states topic of missing "missing_states" does not exist',
    ]);
    const strict = await c.kit.verifySchedulesTopics({ brokers, topics: ['bad'], checkConfigs: true });
    expect(strict).toContain('schedules topic "bad" has segment.ms=604800000, expected 3600000');
    expect(strict.some((p) => p.includes('partitions, expected'))).toBe(false);
    expect(await c.kit.verifySchedulesTopics({ brokers, topics: ['none'] })).toEqual([
      'schedules topic "none" does not exist',
      'states topic of none "none_states" does not exist',
    ]);
  });

  it('with a client that cannot read configs: checks existence and partitions only, and refuses checkConfigs with an UnsupportedError', async () => {
    const c = memoryCluster();
    await c.kit.createTopic({ brokers, topic: 'u', partitions: 2 });
    await c.kit.createTopic({ brokers, topic: 'u_states', partitions: 3 });
    expect(await c.kit.verifySchedulesTopics({ brokers, topics: ['u'] })).toEqual([
      'schedules topic "u" has 2 partitions but its states topic "u_states" has 3; they must be equal',
    ]);
    const error = await c.kit.verifySchedulesTopics({ brokers, topics: ['u'], checkConfigs: true }).catch((e: unknown) => e);
    expect(UnsupportedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/^memory-client cannot read topic configs/);
    expect(c.openAdmins()).toBe(0);
  });
});

describe('topic-admin kit: the dead-letter topic', () => {
  it('ensureSchedulesTopics creates a configured dead-letter topic once, with its settings and the replication factor of the others', async () => {
    const c = memoryCluster({ describes: true });
    expect(
      await c.kit.ensureSchedulesTopics({ brokers, topics: ['s'], partitions: 3, replicationFactor: 2, deadLetterTopic: 'dlq' }),
    ).toEqual({ created: ['s', 's_states', 'dlq'], existing: [] });
    expect(c.calls).toEqual(['create s 3x2', 'create s_states 3x2', 'create dlq 1x2']);
    expect(c.topics.get('dlq')).toMatchObject({ partitions: 1, configs: { ...DEAD_LETTER_TOPIC_CONFIGS } });
    expect(c.connections).toEqual([{ brokers }]);
    expect(await c.kit.ensureSchedulesTopics({ brokers, topics: ['s'], deadLetterTopic: 'dlq' })).toEqual({
      created: [],
      existing: ['s', 's_states', 'dlq'],
    });
    expect(
      await c.kit.verifySchedulesTopics({ brokers, topics: ['s'], partitions: 3, checkConfigs: true, deadLetterTopic: 'dlq' }),
    ).toEqual([]);
    expect(c.openAdmins()).toBe(0);
  });

  it('verifySchedulesTopics reports a missing dead-letter topic, and a compacted one when the client reads configs', async () => {
    const c = memoryCluster({ describes: true });
    await c.kit.ensureSchedulesTopics({ brokers, topics: ['s'], partitions: 2 });
    expect(await c.kit.verifySchedulesTopics({ brokers, topics: ['s'], deadLetterTopic: 'dlq' })).toEqual([
      'dead-letter topic "dlq" does not exist',
    ]);
    await c.kit.createTopic({ brokers, topic: 'dlq', partitions: 4, configs: { 'cleanup.policy': 'compact' } });
    expect(await c.kit.verifySchedulesTopics({ brokers, topics: ['s'], deadLetterTopic: 'dlq' })).toEqual([
      'dead-letter topic "dlq" has cleanup.policy=compact, expected delete',
    ]);
    expect(await c.kit.ensureSchedulesTopics({ brokers, topics: ['s'], deadLetterTopic: 'dlq' })).toEqual({
      created: [],
      existing: ['s', 's_states', 'dlq'],
    });
    expect(c.topics.get('dlq')!.configs['cleanup.policy']).toBe('compact');
  });

  it('with a client that cannot read configs: existence only', async () => {
    const c = memoryCluster();
    await c.kit.ensureSchedulesTopics({ brokers, topics: ['s'], partitions: 2 });
    await c.kit.createTopic({ brokers, topic: 'dlq', configs: { 'cleanup.policy': 'compact' } });
    expect(await c.kit.verifySchedulesTopics({ brokers, topics: ['s'], deadLetterTopic: 'dlq' })).toEqual([]);
    expect(await c.kit.verifySchedulesTopics({ brokers, topics: ['s'], deadLetterTopic: 'gone' })).toEqual([
      'dead-letter topic "gone" does not exist',
    ]);
  });

  it('rejects an invalid dead-letter topic name with a ConfigError, before connecting', async () => {
    const c = memoryCluster();
    const error = await c.kit.ensureSchedulesTopics({ brokers, topics: ['s'], deadLetterTopic: 'no good' }).catch((e: unknown) => e);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).violations.map((v) => v.field)).toEqual(['deadLetterTopic']);
    expect(c.connections).toEqual([]);
  });
});

describe('topic-admin kit: createTopic and the long-lived client', () => {
  it('createTopic fills in defaults and says whether it created the topic', async () => {
    const c = memoryCluster();
    expect(await c.kit.createTopic({ brokers, topic: 'one' })).toBe(true);
    expect(await c.kit.createTopic({ brokers, topic: 'one', partitions: 4 })).toBe(false);
    expect(c.calls).toEqual(['create one 1x1', 'create one 4x1']);
  });

  it('createTopicAdmin: create, partition counts, delete; optional capabilities used when present', async () => {
    const c = memoryCluster({ describes: true, deletesRecords: true });
    const admin = await c.kit.createTopicAdmin({ brokers });
    expect(await admin.createTopic({ topic: 'x', partitions: 2, configs: { 'cleanup.policy': 'compact' } })).toBe(true);
    await admin.createTopic({ topic: 'y' });
    expect(await admin.partitionCounts()).toEqual(
      new Map([
        ['x', 2],
        ['y', 1],
      ]),
    );
    expect(await admin.partitionCounts(['y', 'gone'])).toEqual(new Map([['y', 1]]));
    expect(await admin.describeTopicConfigs('x', ['cleanup.policy'])).toEqual({ 'cleanup.policy': 'compact' });
    await admin.deleteRecords({ topic: 'x', partition: 1 }, 7);
    expect(c.topics.get('x')!.low[1]).toBe(7);
    await admin.deleteTopics(['x']);
    await admin.deleteTopics([]);
    expect([...c.topics.keys()]).toEqual(['y']);
    await expect(admin.createTopic({ topic: 'bad name' })).rejects.toSatisfy(ConfigError.isInstance);
    await admin.close();
    expect(c.openAdmins()).toBe(0);
  });

  it('createTopicAdmin: a missing capability rejects with an UnsupportedError naming the client', async () => {
    const c = memoryCluster();
    const admin = await c.kit.createTopicAdmin({ brokers });
    await expect(admin.describeTopicConfigs('x')).rejects.toThrow(/memory-client cannot read topic configs/);
    const error = await admin.deleteRecords({ topic: 'x', partition: 0 }, 1).catch((e: unknown) => e);
    expect(UnsupportedError.isInstance(error)).toBe(true);
    expect((error as Error).message).toBe('memory-client cannot delete records (its admin client has no DeleteRecords)');
    await admin.close();
  });
});
