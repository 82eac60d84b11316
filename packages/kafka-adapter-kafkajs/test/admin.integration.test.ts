import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, statesTopic } from '@ksched/core';
import { Kafka, logLevel } from 'kafkajs';
import { createTopic, createTopicAdmin, ensureSchedulesTopics, SCHEDULES_TOPIC_CONFIGS, verifySchedulesTopics } from '../src/index.js';
import { brokers, unique } from './helpers.js';

const created: string[] = [];

afterAll(async () => {
  const admin = await createTopicAdmin({ brokers });
  await admin.deleteTopics(created).catch(() => {});
  await admin.close();
});

describe('topic administration', () => {
  it('ensureSchedulesTopics creates the schedules and states topics with the §7.2 settings; verify finds nothing wrong', async () => {
    const topic = unique('schedules');
    created.push(topic, statesTopic(topic));
    const result = await ensureSchedulesTopics({ brokers, topics: [topic] });
    expect(result).toEqual({ created: [topic, `${topic}_states`], existing: [] });
    const admin = await createTopicAdmin({ brokers });
    try {
      for (const name of [topic, `${topic}_states`]) {
        const configs = await admin.describeTopicConfigs(name, Object.keys(SCHEDULES_TOPIC_CONFIGS));
        expect(configs).toEqual(SCHEDULES_TOPIC_CONFIGS);
      }
    } finally {
      await admin.close();
    }
    expect(await verifySchedulesTopics({ brokers, topics: [topic], partitions: 5, checkConfigs: true })).toEqual([]);
    // Idempotent.
    expect(await ensureSchedulesTopics({ brokers, topics: [topic] })).toEqual({ created: [], existing: [topic, `${topic}_states`] });
  });

  it('ensureSchedulesTopics gives a missing states topic the partition count of its schedules topic (custom postfix, existing kafkajs client)', async () => {
    const topic = unique('half');
    created.push(topic, `${topic}-st`);
    await createTopic({ brokers, topic, partitions: 3, configs: { 'cleanup.policy': 'compact' } });
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const result = await ensureSchedulesTopics({ kafka, topics: [topic], statesPostfix: '-st', partitions: 7 });
    expect(result).toEqual({ created: [`${topic}-st`], existing: [topic] });
    expect(await verifySchedulesTopics({ kafka, topics: [topic], statesPostfix: '-st' })).toEqual([]);
  });

  it('verifySchedulesTopics reports every difference', async () => {
    const good = unique('good');
    const bad = unique('bad');
    const missing = unique('missing');
    created.push(good, `${good}_states`, bad, `${bad}_states`);
    await ensureSchedulesTopics({ brokers, topics: [good], partitions: 5 });
    await createTopic({ brokers, topic: bad, partitions: 3 }); // delete policy, 3 partitions
    await createTopic({ brokers, topic: `${bad}_states`, partitions: 4, configs: { 'cleanup.policy': 'compact' } });
    const problems = await verifySchedulesTopics({ brokers, topics: [good, bad, missing], partitions: 5 });
    expect(problems).toEqual([
      `schedules topic "${bad}" has 3 partitions, expected 5`,
      `schedules topic "${bad}" has cleanup.policy=delete, expected compact`,
      `states topic of ${bad} "${bad}_states" has 4 partitions, expected 5`,
      `schedules topic "${bad}" has 3 partitions but its states topic "${bad}_states" has 4; they must be equal`,
      `schedules topic "${missing}" does not exist`,
      `states topic of ${missing} "${missing}_states" does not exist`,
    ]);
    const strict = await verifySchedulesTopics({ brokers, topics: [bad], checkConfigs: true });
    expect(strict).toContain(`schedules topic "${bad}" has segment.ms=604800000, expected 3600000`);
    expect(strict.some((p) => p.includes('partitions, expected'))).toBe(false);
  });

  it('rejects invalid options with a ConfigError naming the setting', async () => {
    const error = await ensureSchedulesTopics({ brokers, topics: ['not valid!'], partitions: 0 }).catch((e: unknown) => e);
    expect(ConfigError.isInstance(error)).toBe(true);
    expect((error as ConfigError).violations.map((v) => v.field)).toEqual(['topics.0', 'partitions']);
    const noBrokers = await verifySchedulesTopics({ brokers: [], topics: ['t'] }).catch((e: unknown) => e);
    expect(ConfigError.isInstance(noBrokers)).toBe(true);
  });
});
