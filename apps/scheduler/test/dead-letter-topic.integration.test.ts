/**
 * The dead-letter topic on the real broker: `ksched topics migrate` creates it when one is
 * configured (delete policy, 7 days, 1 partition, read back from the broker), a second run changes
 * nothing, a compacted one is reported as a difference, `ksched run` starts with it, and
 * `ksched run` with a configured dead-letter topic that does not exist fails before joining the
 * group, naming the topic and the `topics migrate` command that creates it. The cases run in order:
 * the first one migrates the schedules topics the others use.
 */
import { randomUUID } from 'node:crypto';
import { DEAD_LETTER_TOPIC_CONFIGS } from '@ksched/core';
import { createTopicAdmin, type TopicAdmin } from '@ksched/kafka-adapter-kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { brokers, cleanEnv, killSpawned, ksched, rdkafkaAvailable, startKsched, waitFor } from './helpers.js';

const id = randomUUID().slice(0, 8);
const schedules = `it_dlq_sched_${id}`;
const dlq = `it_dlq_${id}`;
const env = (extra: Record<string, string> = {}) =>
  cleanEnv({
    KSCHED_BROKERS: brokers(),
    KSCHED_TOPICS: schedules,
    KSCHED_GROUP_ID: `it_dlq_group_${id}`,
    KSCHED_LOG_PRETTY: 'false',
    ...extra,
  });

let admin: TopicAdmin;

beforeAll(async () => {
  admin = await createTopicAdmin({ brokers: [brokers()], logLevel: 'nothing' });
});

afterEach(async () => {
  await killSpawned();
});

afterAll(async () => {
  await admin?.deleteTopics([schedules, `${schedules}_states`, dlq, `${dlq}_compacted`, `${dlq}_run`, `${dlq}_env`]).catch(() => {});
  await admin?.close();
});

describe('the dead-letter topic', () => {
  it('topics migrate creates it with the dead-letter settings, then leaves it alone', async () => {
    const migrated = await ksched(['topics', 'migrate', '--partitions', '2', '--dead-letter-topic', dlq], env());
    expect(migrated.stderr).toBe('');
    expect(migrated.stdout).toContain(`created ${schedules}\n`);
    expect(migrated.stdout).toContain(`created ${schedules}_states\n`);
    expect(migrated.stdout).toContain(`created ${dlq} (dead-letter topic)\n`);
    expect(migrated.stdout).toContain('ok: topics match the reference settings');
    expect(migrated.code).toBe(0);

    expect(await admin.partitionCounts([schedules, `${schedules}_states`, dlq])).toEqual(
      new Map([
        [schedules, 2],
        [`${schedules}_states`, 2],
        [dlq, 1],
      ]),
    );
    expect(await admin.describeTopicConfigs(dlq, ['cleanup.policy', 'retention.ms'])).toEqual({
      'cleanup.policy': 'delete',
      'retention.ms': '604800000',
    });
    expect(DEAD_LETTER_TOPIC_CONFIGS).toEqual({ 'cleanup.policy': 'delete', 'retention.ms': '604800000' });

    // Twice: nothing is created, nothing differs; the setting may come from the environment too.
    const again = await ksched(['topics', 'migrate', '--json'], env({ KSCHED_DEAD_LETTER_TOPIC: dlq }));
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toEqual({
      topics: [schedules, `${schedules}_states`, dlq],
      deadLetterTopic: dlq,
      created: [],
      differences: [],
      configsChecked: true,
      ok: true,
    });
    const text = await ksched(['topics', 'migrate', '--dead-letter-topic', dlq], env());
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`exists  ${dlq} (dead-letter topic)\n`);
    expect(await admin.partitionCounts([dlq])).toEqual(new Map([[dlq, 1]]));
  });

  it('topics migrate reports a compacted dead-letter topic as a difference and exits 1', async () => {
    const compacted = `${dlq}_compacted`;
    expect(await admin.createTopic({ topic: compacted, configs: { 'cleanup.policy': 'compact' } })).toBe(true);
    const result = await ksched(['topics', 'migrate', '--dead-letter-topic', compacted], env());
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`exists  ${compacted} (dead-letter topic)\n`);
    expect(result.stdout).toContain(`differs dead-letter topic "${compacted}" has cleanup.policy=compact, expected delete\n`);
    expect(result.stdout).toContain('1 difference found');
    // Existing topics are never changed.
    expect(await admin.describeTopicConfigs(compacted, ['cleanup.policy'])).toEqual({ 'cleanup.policy': 'compact' });
  });

  it('topics migrate --dry-run reports a missing dead-letter topic and creates nothing', async () => {
    const missing = `${dlq}_dry`;
    const result = await ksched(['topics', 'migrate', '--dry-run', '--dead-letter-topic', missing], env());
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`missing ${missing} (dead-letter topic)\n`);
    expect(result.stdout).toContain(`differs dead-letter topic "${missing}" does not exist\n`);
    expect(await admin.partitionCounts([missing])).toEqual(new Map());
  });

  it('ksched run with the dead-letter topic migrated starts, with no topic warning', async () => {
    const p = startKsched(['run', '--no-http', '--dead-letter-topic', dlq], env());
    await waitFor('the scheduler to run', () => {
      if (p.child.exitCode !== null) throw new Error(`ksched run exited ${p.child.exitCode}: ${p.stderr()}`);
      return p.logs().some((l) => l['msg'] === 'scheduler running');
    });
    expect(p.logs().find((l) => l['msg'] === 'ksched scheduler starting')).toMatchObject({ deadLetterTopic: dlq });
    expect(p.logs().filter((l) => String(l['msg']).startsWith('topic check'))).toEqual([]);
    p.child.kill('SIGTERM');
    expect(await p.exited).toEqual({ code: 0, signal: null });
  });

  it.each([
    ['the flag', ['--dead-letter-topic', `${dlq}_run`], {}, `${dlq}_run`],
    ['KSCHED_DEAD_LETTER_TOPIC', [], { KSCHED_DEAD_LETTER_TOPIC: `${dlq}_env` }, `${dlq}_env`],
  ] as const)(
    'ksched run with a dead-letter topic that does not exist (from %s) fails at start-up, asking for `topics migrate`',
    async (_from, args, extra, topic) => {
      const result = await ksched(['run', '--no-http', ...args], env(extra));
      expect(result.code).toBe(1);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
      expect(result.stderr).toBe(
        `error: dead-letter topic "${topic}" does not exist: create the topics with \`ksched topics migrate --dead-letter-topic ${topic}\` first\n`,
      );
      // A metadata check: it did not create the topic (no produce, no auto-creation).
      expect(await admin.partitionCounts([topic])).toEqual(new Map());
    },
  );
});

describe('the dead-letter topic with --adapter rdkafka', async () => {
  const available = await rdkafkaAvailable();

  it.runIf(available)('topics migrate creates it with the same settings (node-rdkafka cannot read them back: kafkajs does)', async () => {
    const topic = `${dlq}_rd`;
    try {
      const migrated = await ksched(['topics', 'migrate', '--adapter', 'rdkafka', '--dead-letter-topic', topic], env());
      expect(migrated.stderr).toBe('');
      expect(migrated.code).toBe(0);
      expect(migrated.stdout).toContain(`created ${topic} (dead-letter topic)\n`);
      expect(await admin.partitionCounts([topic])).toEqual(new Map([[topic, 1]]));
      expect(await admin.describeTopicConfigs(topic, Object.keys(DEAD_LETTER_TOPIC_CONFIGS))).toEqual(DEAD_LETTER_TOPIC_CONFIGS);
      const run = await ksched(['run', '--adapter', 'rdkafka', '--no-http', '--dead-letter-topic', `${topic}_absent`], env());
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/^error: dead-letter topic ".*_rd_absent" does not exist: .*ksched topics migrate --dead-letter-topic/);
    } finally {
      await admin.deleteTopics([topic]).catch(() => {});
    }
  });
});
