import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, UnsupportedError } from '@ksched/core';
import { createTopic, createTopicAdmin, ensureSchedulesTopics, verifySchedulesTopics } from '../src/index.js';
import { brokers, unique } from './helpers.js';

const created: string[] = [];

afterAll(async () => {
  const admin = await createTopicAdmin({ brokers });
  await admin.deleteTopics(created).catch(() => {});
  await admin.close();
});

describe('rdkafka admin: schedules topics', () => {
  it('ensureSchedulesTopics creates the schedules and states topics (equal partition counts), then leaves them alone', async () => {
    const schedules = unique('schedules');
    created.push(schedules, `${schedules}_states`);
    const first = await ensureSchedulesTopics({ brokers, topics: [schedules], partitions: 3 });
    expect([...first.created].sort()).toEqual([schedules, `${schedules}_states`].sort());
    expect(first.existing).toEqual([]);
    const second = await ensureSchedulesTopics({ brokers, topics: [schedules], partitions: 7 });
    expect(second.created).toEqual([]);
    expect([...second.existing].sort()).toEqual([schedules, `${schedules}_states`].sort());
    expect(await verifySchedulesTopics({ brokers, topics: [schedules] })).toEqual([]);
    expect(await verifySchedulesTopics({ brokers, topics: [schedules], partitions: 3 })).toEqual([]);
    expect(await verifySchedulesTopics({ brokers, topics: [schedules], partitions: 5 })).toEqual([
      `schedules topic "${schedules}" has 3 partitions, expected 5`,
      `states topic of ${schedules} "${schedules}_states" has 3 partitions, expected 5`,
    ]);
    const admin = await createTopicAdmin({ brokers });
    try {
      expect(await admin.partitionCounts([schedules, `${schedules}_states`])).toEqual(
        new Map([
          [schedules, 3],
          [`${schedules}_states`, 3],
        ]),
      );
    } finally {
      await admin.close();
    }
  });

  it('a missing states topic is created with the partition count of its schedules topic', async () => {
    const schedules = unique('half');
    created.push(schedules, `${schedules}_states`);
    expect(await createTopic({ brokers, topic: schedules, partitions: 2, configs: { 'cleanup.policy': 'compact' } })).toBe(true);
    expect(await createTopic({ brokers, topic: schedules, partitions: 2 })).toBe(false);
    expect(await verifySchedulesTopics({ brokers, topics: [schedules] })).toEqual([
      `states topic of ${schedules} "${schedules}_states" does not exist`,
    ]);
    const result = await ensureSchedulesTopics({ brokers, topics: [schedules], partitions: 9 });
    expect(result.created).toEqual([`${schedules}_states`]);
    expect(await verifySchedulesTopics({ brokers, topics: [schedules], partitions: 2 })).toEqual([]);
  });

  it('verifySchedulesTopics reports missing topics and unequal partition counts', async () => {
    const schedules = unique('unequal');
    created.push(schedules, `${schedules}_states`);
    await createTopic({ brokers, topic: schedules, partitions: 2 });
    await createTopic({ brokers, topic: `${schedules}_states`, partitions: 3 });
    const missing = unique('missing');
    expect(await verifySchedulesTopics({ brokers, topics: [schedules, missing] })).toEqual([
      `schedules topic "${schedules}" has 2 partitions but its states topic "${schedules}_states" has 3; they must be equal`,
      `schedules topic "${missing}" does not exist`,
      `states topic of ${missing} "${missing}_states" does not exist`,
    ]);
  });

  it('says what it cannot check, and validates its options', async () => {
    await expect(verifySchedulesTopics({ brokers, topics: ['t'], checkConfigs: true })).rejects.toSatisfy(UnsupportedError.isInstance);
    await expect(ensureSchedulesTopics({ brokers, topics: ['bad name!'] })).rejects.toSatisfy(ConfigError.isInstance);
    await expect(ensureSchedulesTopics({ brokers: [], topics: ['t'] })).rejects.toSatisfy(ConfigError.isInstance);
  });
});
