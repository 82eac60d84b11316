import { describe, it, expect } from 'vitest';
import { ConfigError, SchedulerError, parseSchedulerOptions, schedulerOptionsSchema, type Violation } from '@ksched/core';

const TOPICS = ['scheduled_messages'];

function violations(input: unknown): readonly Violation[] {
  try {
    parseSchedulerOptions(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toBeInstanceOf(SchedulerError);
    expect((error as ConfigError).code).toBe('KSM_CONFIG');
    return (error as ConfigError).violations;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

/** The single violation of `setting: value`, checked to name the setting and say the rule. */
function rejects(setting: string, value: unknown, rule: string, message: string) {
  const found = violations({ topics: TOPICS, [setting]: value });
  expect(found).toEqual([{ field: setting, rule, message: expect.stringContaining(message) }]);
}

// Reference §11, unit level: config contract (in ksched's camelCase settings).
describe('parseSchedulerOptions', () => {
  it('fills the defaults of a valid configuration', () => {
    expect(parseSchedulerOptions({ topics: TOPICS })).toEqual({
      topics: TOPICS,
      groupId: 'ksched_scheduled_messages',
      intervalMs: 15_000,
      flushBatchSize: 1000,
      statesPostfix: '_states',
      statesReportIntervalMs: 5000,
      loadedGraceMs: 15_000,
      bufferHorizonMs: 3_600_000,
      bufferMaxBytes: 268_435_456,
      rebalanceRetainMs: 60_000,
      transactional: false,
      transactionalFencing: 'partition',
      commitOffsets: true,
      retryBackoffMs: 500,
      undeliverableAttempts: 5,
      undeliverableAfterMs: 300_000,
    });
  });

  it('refuses a horizon under 10 s, a ceiling under 64 KiB and a retention over 15 min, naming each', () => {
    expect(() =>
      parseSchedulerOptions({ topics: TOPICS, bufferHorizonMs: 5000, bufferMaxBytes: 1024, rebalanceRetainMs: 3_600_000 }),
    ).toThrow(
      /bufferHorizonMs: needs to be an integer bigger or equal to 10000[\s\S]*bufferMaxBytes[\s\S]*rebalanceRetainMs: needs to be an integer between 0 and 900000/,
    );
  });

  it('keeps given values', () => {
    const options = parseSchedulerOptions({
      topics: ['a', 'b'],
      groupId: 'my-app.scheduler_1',
      intervalMs: 1000,
      flushBatchSize: 1,
      statesPostfix: '.states',
      transactional: true,
      transactionalIdPrefix: 'tx',
      transactionalFencing: 'group',
      deadLetterTopic: 'dlq',
    });
    expect(options).toMatchObject({
      topics: ['a', 'b'],
      groupId: 'my-app.scheduler_1',
      intervalMs: 1000,
      flushBatchSize: 1,
      statesPostfix: '.states',
      transactional: true,
      transactionalIdPrefix: 'tx',
      transactionalFencing: 'group',
      deadLetterTopic: 'dlq',
    });
  });

  it("refuses a fencing other than 'partition' or 'group', naming it", () => {
    expect(() => parseSchedulerOptions({ topics: TOPICS, transactionalFencing: 'member' as never })).toThrow(
      /transactionalFencing: needs to be 'partition' or 'group'/,
    );
  });

  it('rejects a group id with a space', () => {
    rejects('groupId', 'my group', 'format', 'needs to be a string with a Kafka accepted format');
  });

  it('rejects intervalMs 999', () => {
    rejects('intervalMs', 999, 'min', 'needs to be an integer bigger or equal to 1000');
  });

  it('rejects a non-integer intervalMs', () => {
    rejects('intervalMs', 1500.5, 'integer', 'needs to be an integer bigger or equal to 1000');
  });

  it('rejects flushBatchSize 0', () => {
    rejects('flushBatchSize', 0, 'min', 'needs to be an integer bigger than 0');
  });

  it('rejects flushBatchSize -1 (reference routing/validations_flows)', () => {
    rejects('flushBatchSize', -1, 'min', 'needs to be an integer bigger than 0');
    expect(() => parseSchedulerOptions({ topics: TOPICS, flushBatchSize: -1 })).toThrow(
      'flushBatchSize: needs to be an integer bigger than 0',
    );
  });

  it('rejects a non-integer flushBatchSize', () => {
    rejects('flushBatchSize', 1.5, 'integer', 'needs to be an integer bigger than 0');
  });

  it('rejects a flushBatchSize that is not a number', () => {
    rejects('flushBatchSize', '10', 'type', 'needs to be an integer bigger than 0');
  });

  it('rejects a bad statesPostfix', () => {
    rejects('statesPostfix', '/states', 'format', 'needs to be a string with a Kafka accepted format');
  });

  it('rejects a null statesPostfix (present, wrong type)', () => {
    rejects('statesPostfix', null, 'type', 'needs to be a string with a Kafka accepted format');
  });

  it('rejects an unknown setting, naming it', () => {
    const found = violations({ topics: TOPICS, interval: 15_000 });
    expect(found).toEqual([{ field: 'interval', rule: 'unknown', message: expect.stringContaining('unknown setting') }]);
  });

  it('names each of several unknown settings', () => {
    expect(violations({ topics: TOPICS, a: 1, b: 2 }).map((v) => v.field)).toEqual(['a', 'b']);
  });

  it('requires at least one schedules topic', () => {
    expect(violations({})).toEqual([expect.objectContaining({ field: 'topics', rule: 'required' })]);
    expect(violations({ topics: [] })).toEqual([expect.objectContaining({ field: 'topics', rule: 'min' })]);
    expect(violations({ topics: ['bad topic'] })).toEqual([expect.objectContaining({ field: 'topics.0', rule: 'format' })]);
  });

  it('rejects a non-object', () => {
    expect(violations(null)).toEqual([expect.objectContaining({ field: '(root)', rule: 'type' })]);
    expect(violations('x')).toHaveLength(1);
  });

  it('reports every bad setting at once', () => {
    expect(
      violations({ topics: TOPICS, intervalMs: 5, flushBatchSize: 0 })
        .map((v) => v.field)
        .sort(),
    ).toEqual(['flushBatchSize', 'intervalMs']);
  });

  it('the message lists the setting and the rule', () => {
    expect(() => parseSchedulerOptions({ topics: TOPICS, intervalMs: 999 })).toThrow(
      'invalid configuration: intervalMs: needs to be an integer bigger or equal to 1000',
    );
  });

  it('exposes the schema for composition', () => {
    expect(schedulerOptionsSchema.safeParse({ topics: TOPICS }).success).toBe(true);
    expect(schedulerOptionsSchema.safeParse({ topics: TOPICS, intervalMs: 1 }).success).toBe(false);
  });
});
