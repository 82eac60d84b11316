/**
 * The topic-admin functions' contract as a vitest suite, run by every adapter against the real
 * broker: what `ensureSchedulesTopics`, `verifySchedulesTopics`, `createTopic` and
 * `createTopicAdmin` do, said once. The flow itself is unit-tested in core against an in-memory
 * port; this suite proves that an adapter's driver answers the port's calls as Kafka does. What a
 * client cannot do (read topic configs, delete records) is declared, and then checked to be
 * refused with an `UnsupportedError`.
 *
 * @module
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, DEAD_LETTER_TOPIC_CONFIGS, SCHEDULES_TOPIC_CONFIGS, statesTopic, UnsupportedError } from '@ksched/core';
import type { TopicAdminKit } from '@ksched/core/adapter';
import { waitUntil } from '../recording-listener.js';

/** Connection settings the suite passes (every adapter takes at least these). */
export interface TopicAdminConformanceConnection {
  brokers: string[];
}

/** An adapter's topic-admin functions, and what its client can do. */
export interface TopicAdminConformanceSubject extends TopicAdminKit<TopicAdminConformanceConnection> {
  /** Bootstrap brokers of the test broker. */
  readonly brokers: string[];
  /** The client reads topic configs: `verifySchedulesTopics` checks `cleanup.policy`, `checkConfigs` works. */
  readonly readsConfigs: boolean;
  /** The client deletes records (`TopicAdminClient.deleteRecords`). */
  readonly deletesRecords: boolean;
  /** Another way to say where to connect (e.g. an existing client), used by one case instead of `{ brokers }`. */
  readonly alternativeConnection?: () => object;
  /** Prefix of the topic names (default `ksched-admin`). */
  readonly namePrefix?: string;
}

/**
 * Declares the topic-admin conformance suite for one adapter.
 *
 * @example
 * ```ts
 * describeTopicAdminConformance('rdkafka', {
 *   brokers, readsConfigs: false, deletesRecords: false,
 *   ensureSchedulesTopics, verifySchedulesTopics, createTopic, createTopicAdmin,
 * });
 * ```
 */
export function describeTopicAdminConformance(name: string, subject: TopicAdminConformanceSubject): void {
  const { brokers } = subject;
  const created: string[] = [];
  let counter = 0;
  const unique = (what: string): string =>
    `${subject.namePrefix ?? 'ksched-admin'}-${what}-${process.pid}-${Date.now().toString(36)}-${(counter += 1)}`;

  describe(`${name} topic administration`, () => {
    afterAll(async () => {
      const admin = await subject.createTopicAdmin({ brokers });
      await admin.deleteTopics(created).catch(() => {});
      await admin.close();
    });

    it('ensureSchedulesTopics creates each schedules topic and its states topic with the §7.2 settings, then leaves them alone', async () => {
      const topic = unique('schedules');
      created.push(topic, statesTopic(topic));
      expect(await subject.ensureSchedulesTopics({ brokers, topics: [topic], partitions: 3 })).toEqual({
        created: [topic, `${topic}_states`],
        existing: [],
      });
      const admin = await subject.createTopicAdmin({ brokers });
      try {
        const counts = await admin.partitionCounts([topic, `${topic}_states`, unique('absent')]);
        expect(counts).toEqual(
          new Map([
            [topic, 3],
            [`${topic}_states`, 3],
          ]),
        );
        for (const t of subject.readsConfigs ? [topic, `${topic}_states`] : []) {
          expect(await admin.describeTopicConfigs(t, Object.keys(SCHEDULES_TOPIC_CONFIGS))).toEqual(SCHEDULES_TOPIC_CONFIGS);
        }
      } finally {
        await admin.close();
      }
      const again = await subject.ensureSchedulesTopics({ brokers, topics: [topic], partitions: 7 });
      expect(again).toEqual({ created: [], existing: [topic, `${topic}_states`] });
      expect(await subject.verifySchedulesTopics({ brokers, topics: [topic], partitions: 3 })).toEqual([]);
      if (subject.readsConfigs) expect(await subject.verifySchedulesTopics({ brokers, topics: [topic], checkConfigs: true })).toEqual([]);
      expect(await subject.verifySchedulesTopics({ brokers, topics: [topic], partitions: 5 })).toEqual([
        `schedules topic "${topic}" has 3 partitions, expected 5`,
        `states topic of ${topic} "${topic}_states" has 3 partitions, expected 5`,
      ]);
    });

    it('createTopic says whether it created the topic; a missing states topic gets the partition count of its schedules topic', async () => {
      const topic = unique('half');
      created.push(topic, `${topic}-st`);
      const where = subject.alternativeConnection?.() ?? { brokers };
      expect(await subject.createTopic({ brokers, topic, partitions: 2, configs: { 'cleanup.policy': 'compact' } })).toBe(true);
      expect(await subject.createTopic({ brokers, topic, partitions: 2 })).toBe(false);
      const settings = { topics: [topic], statesPostfix: '-st' };
      expect(await subject.verifySchedulesTopics({ ...where, ...settings } as never)).toEqual([
        `states topic of ${topic} "${topic}-st" does not exist`,
      ]);
      expect(await subject.ensureSchedulesTopics({ ...where, ...settings, partitions: 9 } as never)).toEqual({
        created: [`${topic}-st`],
        existing: [topic],
      });
      expect(await subject.verifySchedulesTopics({ ...where, ...settings, partitions: 2 } as never)).toEqual([]);
    });

    it('verifySchedulesTopics reports every difference it can see', async () => {
      const bad = unique('bad');
      const missing = unique('missing');
      created.push(bad, `${bad}_states`);
      await subject.createTopic({ brokers, topic: bad, partitions: 3 }); // delete policy, 3 partitions
      await subject.createTopic({ brokers, topic: `${bad}_states`, partitions: 4, configs: { 'cleanup.policy': 'compact' } });
      const problems = await subject.verifySchedulesTopics({ brokers, topics: [bad, missing], partitions: 3 });
      expect(problems).toEqual([
        ...(subject.readsConfigs ? [`schedules topic "${bad}" has cleanup.policy=delete, expected compact`] : []),
        `states topic of ${bad} "${bad}_states" has 4 partitions, expected 3`,
        `schedules topic "${bad}" has 3 partitions but its states topic "${bad}_states" has 4; they must be equal`,
        `schedules topic "${missing}" does not exist`,
        `states topic of ${missing} "${missing}_states" does not exist`,
      ]);
      if (subject.readsConfigs) {
        const strict = await subject.verifySchedulesTopics({ brokers, topics: [bad], checkConfigs: true });
        expect(strict).toContain(`schedules topic "${bad}" has segment.ms=604800000, expected 3600000`);
      } else {
        await expect(subject.verifySchedulesTopics({ brokers, topics: [bad], checkConfigs: true })).rejects.toSatisfy(
          UnsupportedError.isInstance,
        );
      }
    });

    it('a dead-letter topic, when given, is created once (delete policy, 7 days, 1 partition) and reported missing or compacted', async () => {
      const topic = unique('dlq-schedules');
      const dlq = unique('dlq');
      const compacted = unique('dlq-compacted');
      created.push(topic, statesTopic(topic), dlq, compacted);
      expect(await subject.ensureSchedulesTopics({ brokers, topics: [topic], partitions: 2, deadLetterTopic: dlq })).toEqual({
        created: [topic, `${topic}_states`, dlq],
        existing: [],
      });
      const admin = await subject.createTopicAdmin({ brokers });
      try {
        expect(await admin.partitionCounts([dlq])).toEqual(new Map([[dlq, 1]]));
        if (subject.readsConfigs)
          expect(await admin.describeTopicConfigs(dlq, Object.keys(DEAD_LETTER_TOPIC_CONFIGS))).toEqual(DEAD_LETTER_TOPIC_CONFIGS);
      } finally {
        await admin.close();
      }
      expect(await subject.ensureSchedulesTopics({ brokers, topics: [topic], deadLetterTopic: dlq })).toEqual({
        created: [],
        existing: [topic, `${topic}_states`, dlq],
      });
      expect(await subject.verifySchedulesTopics({ brokers, topics: [topic], partitions: 2, deadLetterTopic: dlq })).toEqual([]);
      expect(await subject.verifySchedulesTopics({ brokers, topics: [topic], deadLetterTopic: unique('dlq-absent') })).toEqual([
        expect.stringMatching(/^dead-letter topic ".*-dlq-absent-.*" does not exist$/),
      ]);
      await subject.createTopic({ brokers, topic: compacted, configs: { 'cleanup.policy': 'compact' } });
      expect(await subject.verifySchedulesTopics({ brokers, topics: [topic], deadLetterTopic: compacted })).toEqual(
        subject.readsConfigs ? [`dead-letter topic "${compacted}" has cleanup.policy=compact, expected delete`] : [],
      );
    });

    it('the admin client deletes topics, and deletes records only where the client can', async () => {
      const topic = unique('records');
      created.push(topic);
      const admin = await subject.createTopicAdmin({ brokers });
      try {
        expect(await admin.createTopic({ topic, partitions: 1 })).toBe(true);
        const deleting = admin.deleteRecords({ topic, partition: 0 }, 0);
        if (subject.deletesRecords) await deleting;
        else await expect(deleting).rejects.toSatisfy(UnsupportedError.isInstance);
        if (!subject.readsConfigs) await expect(admin.describeTopicConfigs(topic)).rejects.toSatisfy(UnsupportedError.isInstance);
        await admin.deleteTopics([topic]);
        await waitUntil(async () => !(await admin.partitionCounts([topic])).has(topic), `${topic} to be deleted`);
      } finally {
        await admin.close();
      }
    });

    it('rejects invalid options with a ConfigError naming the setting', async () => {
      const error = await subject.ensureSchedulesTopics({ brokers, topics: ['not valid!'], partitions: 0 }).catch((e: unknown) => e);
      expect(ConfigError.isInstance(error)).toBe(true);
      expect((error as ConfigError).violations.map((v) => v.field)).toEqual(['topics.0', 'partitions']);
      await expect(subject.verifySchedulesTopics({ brokers: [], topics: ['t'] })).rejects.toSatisfy(ConfigError.isInstance);
      await expect(subject.createTopic({ brokers, topic: '' })).rejects.toSatisfy(ConfigError.isInstance);
    });
  });
}
