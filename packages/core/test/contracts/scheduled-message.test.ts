import { runInNewContext } from 'node:vm';
import { describe, it, expect } from 'vitest';
import {
  ContractViolationError,
  InvalidArgumentError,
  SchedulerError,
  cancel,
  schedule,
  type EnvelopeInput,
  type ScheduleMessage,
  type Violation,
} from '@ksched/core';
import { fixedClock, headersText, text } from '../helpers.js';

const NOW_MS = 1_767_225_000_000;
const NOW_S = NOW_MS / 1000;
const EPOCH = NOW_S + 600;
const clock = fixedClock(NOW_MS);
const UUID = '3f0c1a2b-4c5d-4e6f-8a9b-0c1d2e3f4a5b';
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const SCHEDULES = 'scheduled_messages';

function build(message: ScheduleMessage, envelope: EnvelopeInput = { topic: SCHEDULES }, epoch = EPOCH) {
  return schedule({ message, envelope, epoch }, { clock, uuid: () => UUID });
}

/** The error a call throws (fails the test when it does not throw). */
function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

function violationsOf(error: unknown): readonly Violation[] {
  expect(error).toBeInstanceOf(SchedulerError);
  return (error as InvalidArgumentError | ContractViolationError).violations;
}

// Reference §11, unit level: Proxy.schedule.
describe('schedule()', () => {
  it('rejects an original message without topic: InvalidArgumentError naming message.topic', () => {
    const error = thrown(() => build({ payload: 'x' } as unknown as ScheduleMessage));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).code).toBe('KSM_INVALID_ARGUMENT');
    expect(violationsOf(error)).toContainEqual(expect.objectContaining({ field: 'message.topic', rule: 'required' }));
    expect((error as Error).message).toContain('message.topic');
  });

  it('rejects an original message with a malformed topic', () => {
    const error = thrown(() => build({ topic: 'bad topic', payload: 'x' }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(violationsOf(error)).toContainEqual(expect.objectContaining({ field: 'message.topic', rule: 'format' }));
  });

  it('rejects an envelope partition of null', () => {
    const error = thrown(() => build({ topic: 'orders', payload: 'x' }, { topic: SCHEDULES, partition: null } as unknown as EnvelopeInput));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    // Present but of the wrong type: `type`, not `required`.
    expect(violationsOf(error)).toEqual([expect.objectContaining({ field: 'envelope.partition', rule: 'type' })]);
  });

  it('rejects a payload that is missing (null must be explicit)', () => {
    const error = thrown(() => build({ topic: 'orders' } as unknown as ScheduleMessage));
    expect(violationsOf(error)).toContainEqual(expect.objectContaining({ field: 'message.payload', rule: 'required' }));
  });

  it('builds the envelope: topic, payload, key, user header kept, all schedule headers exact', () => {
    const record = build(
      { topic: 'orders', key: 'order-42', partition: 2, partitionKey: 'customer-9', payload: 'hello', headers: { 'trace-id': 'abc' } },
      { topic: SCHEDULES, key: 'order-42-reminder' },
    );
    expect(record.topic).toBe(SCHEDULES);
    expect(record.key).toBe('order-42-reminder');
    expect(text(record.value)).toBe('hello');
    expect(record.partition).toBeUndefined();
    expect(record.partitionKey).toBeUndefined();
    expect(headersText(record.headers)).toEqual({
      'trace-id': 'abc',
      schedule_schema_version: '1.0.0',
      schedule_target_epoch: String(EPOCH),
      schedule_source_type: 'schedule',
      schedule_target_topic: 'orders',
      schedule_target_partition: '2',
      schedule_target_key: 'order-42',
      schedule_target_partition_key: 'customer-9',
    });
  });

  it('keeps payload bytes untouched and a null payload null', () => {
    const payload = new Uint8Array([0, 255, 1, 128]);
    expect(build({ topic: 'orders', payload }).value).toEqual(payload);
    expect(build({ topic: 'orders', payload: null }).value).toBeNull();
  });

  it('generates the key <target topic>-<uuid v4> when the envelope has none', () => {
    expect(build({ topic: 'orders', payload: 'x' }).key).toBe(`orders-${UUID}`);
    const real = schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, epoch: EPOCH }, { clock });
    expect(real.key).toMatch(/^orders-/);
    expect(real.key.slice('orders-'.length)).toMatch(UUID_V4);
  });

  it('truncates a fractional epoch to whole seconds, as the reference does', () => {
    expect(build({ topic: 'orders', payload: 'x' }, { topic: SCHEDULES }, EPOCH + 0.9).headers['schedule_target_epoch']).toBe(
      String(EPOCH),
    );
  });

  it('rejects an epoch 100 s in the past: ContractViolationError in_the_past', () => {
    const error = thrown(() => build({ topic: 'orders', payload: 'x' }, { topic: SCHEDULES }, NOW_S - 100));
    expect(error).toBeInstanceOf(ContractViolationError);
    expect((error as ContractViolationError).code).toBe('KSM_CONTRACT_VIOLATION');
    expect(violationsOf(error)).toEqual([expect.objectContaining({ field: 'headers.schedule_target_epoch', rule: 'in_the_past' })]);
    expect((error as Error).message).toContain('past');
  });

  it.each([-30, -300, -3600, -86_400])('rejects now %d s (integration: past_timestamps)', (delta) => {
    expect(() => build({ topic: 'orders', payload: 'x' }, { topic: SCHEDULES }, NOW_S + delta)).toThrow(/past/);
  });

  it.each([0, -1000])('rejects the absolute epoch %d', (epoch) => {
    expect(() => build({ topic: 'orders', payload: 'x' }, { topic: SCHEDULES }, epoch)).toThrow(ContractViolationError);
  });

  it('rejects an envelope topic not in schedulesTopics', () => {
    const make = (topic: string) =>
      schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { topic }, epoch: EPOCH }, { clock, schedulesTopics: [SCHEDULES] });
    expect(make(SCHEDULES).topic).toBe(SCHEDULES);
    const error = thrown(() => make('orders'));
    expect(error).toBeInstanceOf(ContractViolationError);
    expect(violationsOf(error)).toEqual([expect.objectContaining({ field: 'topic', rule: 'not_a_scheduled_messages_topic' })]);
  });

  describe('partition stickiness (reference §2.2 step 5)', () => {
    it('original partition_key becomes the envelope partition key', () => {
      expect(build({ topic: 'orders', partitionKey: 'customer-9', payload: 'x' }).partitionKey).toBe('customer-9');
    });

    it('original partition alone becomes the envelope partition key, as text', () => {
      const record = build({ topic: 'orders', partition: 2, payload: 'x' });
      expect(record.partitionKey).toBe('2');
      expect(record.partition).toBeUndefined();
    });

    it('original partition_key wins over original partition', () => {
      expect(build({ topic: 'orders', partition: 2, partitionKey: 'customer-9', payload: 'x' }).partitionKey).toBe('customer-9');
    });

    it('the original key is NOT used as partition key', () => {
      const record = build({ topic: 'orders', key: 'order-42', payload: 'x' });
      expect(record.partitionKey).toBeUndefined();
      expect(record.partition).toBeUndefined();
    });

    it('an explicit envelope key disables all enrichment', () => {
      const record = build({ topic: 'orders', partition: 2, partitionKey: 'customer-9', payload: 'x' }, { topic: SCHEDULES, key: 'mine' });
      expect(record.key).toBe('mine');
      expect(record.partitionKey).toBeUndefined();
    });

    it('an envelope partition is kept and nothing is derived', () => {
      const record = build({ topic: 'orders', partition: 2, payload: 'x' }, { topic: SCHEDULES, partition: 4 });
      expect(record.partition).toBe(4);
      expect(record.partitionKey).toBeUndefined();
    });

    it('FIXED quirk: an envelope partition key is kept even when the original has a partition', () => {
      const record = build({ topic: 'orders', partition: 2, payload: 'x' }, { topic: SCHEDULES, partitionKey: 'mine' });
      expect(record.partitionKey).toBe('mine');
      expect(record.headers['schedule_target_partition']).toBe('2');
    });

    it('an envelope partition key is kept over an original partition key', () => {
      expect(
        build({ topic: 'orders', partitionKey: 'customer-9', payload: 'x' }, { topic: SCHEDULES, partitionKey: 'mine' }).partitionKey,
      ).toBe('mine');
    });
  });

  describe('due time', () => {
    it('at (ms number) writes the ms header and ceil seconds', () => {
      const at = NOW_MS + 60_001;
      const record = schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, at }, { clock });
      expect(record.headers['schedule_target_epoch_ms']).toBe(String(at));
      expect(record.headers['schedule_target_epoch']).toBe(String(Math.ceil(at / 1000)));
      expect(record.headers['schedule_target_epoch']).toBe(String(NOW_S + 61));
    });

    it('at on a whole second writes that second', () => {
      const at = NOW_MS + 60_000;
      const record = schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, at }, { clock });
      expect(record.headers['schedule_target_epoch']).toBe(String(NOW_S + 60));
    });

    it('at (Date) is the same as its milliseconds', () => {
      const at = NOW_MS + 1_500;
      const record = schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, at: new Date(at) }, { clock });
      expect(record.headers['schedule_target_epoch_ms']).toBe(String(at));
      expect(record.headers['schedule_target_epoch']).toBe(String(NOW_S + 2));
    });

    it('at (Date from another realm) works too', () => {
      const at = NOW_MS + 2_000;
      const foreign = runInNewContext(`new Date(${at})`) as Date;
      expect(foreign).not.toBeInstanceOf(Date);
      const record = schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, at: foreign }, { clock });
      expect(record.headers['schedule_target_epoch_ms']).toBe(String(at));
    });

    it('a fractional millisecond rounds up (never early)', () => {
      const record = schedule(
        { message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, at: NOW_MS + 1000.2 },
        { clock },
      );
      expect(record.headers['schedule_target_epoch_ms']).toBe(String(NOW_MS + 1001));
    });

    it('delayMs counts from the clock', () => {
      const record = schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, delayMs: 90_500 }, { clock });
      expect(record.headers['schedule_target_epoch_ms']).toBe(String(NOW_MS + 90_500));
      expect(record.headers['schedule_target_epoch']).toBe(String(NOW_S + 91));
    });

    it('delayMs 0 is valid; a negative delay is not', () => {
      const ok = schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, delayMs: 0 }, { clock });
      expect(ok.headers['schedule_target_epoch_ms']).toBe(String(NOW_MS));
      const error = thrown(() =>
        schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, delayMs: -1 }, { clock }),
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(violationsOf(error)).toEqual([expect.objectContaining({ field: 'delayMs' })]);
    });

    it('epoch writes no ms header', () => {
      expect(build({ topic: 'orders', payload: 'x' }).headers).not.toHaveProperty('schedule_target_epoch_ms');
    });

    it('requires a due time', () => {
      const error = thrown(() =>
        schedule(
          { message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES } } as unknown as Parameters<typeof schedule>[0],
          { clock },
        ),
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(violationsOf(error)).toEqual([expect.objectContaining({ field: 'epoch|at|delayMs', rule: 'exactly_one' })]);
    });

    it('requires exactly one due time', () => {
      const error = thrown(() =>
        schedule(
          { message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, epoch: EPOCH, delayMs: 5 } as unknown as Parameters<
            typeof schedule
          >[0],
          { clock },
        ),
      );
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(violationsOf(error)).toEqual([expect.objectContaining({ rule: 'exactly_one' })]);
      expect((error as Error).message).toContain('epoch and delayMs');
    });

    it.each([Number.NaN, Number.POSITIVE_INFINITY])('rejects a non-finite epoch %d', (epoch) => {
      expect(() => build({ topic: 'orders', payload: 'x' }, { topic: SCHEDULES }, epoch)).toThrow(InvalidArgumentError);
    });

    it('rejects an invalid Date', () => {
      expect(() =>
        schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { topic: SCHEDULES }, at: new Date(Number.NaN) }, { clock }),
      ).toThrow(InvalidArgumentError);
    });
  });

  it('keeps user headers and replaces the schedule_* headers it owns', () => {
    const record = build({
      topic: 'orders',
      payload: 'x',
      headers: {
        'trace-id': 'abc',
        raw: new Uint8Array([1, 2]),
        schedule_source_type: 'cancel',
        schedule_target_epoch: '1',
        schedule_target_epoch_ms: '1000',
        schedule_target_topic: 'elsewhere',
        schedule_target_partition: '9',
        schedule_target_key: 'forged',
        schedule_target_partition_key: 'forged',
        schedule_schema_version: '9.9.9',
      },
    });
    expect(record.headers['raw']).toEqual(new Uint8Array([1, 2]));
    expect(headersText(record.headers)).toEqual({
      'trace-id': 'abc',
      raw: '\u0001\u0002',
      schedule_schema_version: '1.0.0',
      schedule_target_epoch: String(EPOCH),
      schedule_source_type: 'schedule',
      schedule_target_topic: 'orders',
    });
  });

  it('rejects unknown message fields (typos are not silently dropped), naming each', () => {
    const error = thrown(() => build({ topic: 'orders', payload: 'x', partition_key: 'p' } as unknown as ScheduleMessage));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(violationsOf(error)).toEqual([expect.objectContaining({ field: 'message.partition_key', rule: 'unknown' })]);
  });

  it('tells a wrong type from a missing field, and an integer rule from a type rule', () => {
    expect(violationsOf(thrown(() => build({ topic: 42, payload: 'x' } as unknown as ScheduleMessage)))).toEqual([
      expect.objectContaining({ field: 'message.topic', rule: 'type' }),
    ]);
    expect(violationsOf(thrown(() => build({ topic: 'orders', payload: 5 } as unknown as ScheduleMessage)))).toEqual([
      expect.objectContaining({ field: 'message.payload', rule: 'type' }),
    ]);
    expect(violationsOf(thrown(() => build({ topic: 'orders', payload: 'x', partition: 1.5 })))).toEqual([
      expect.objectContaining({ field: 'message.partition', rule: 'integer' }),
    ]);
    expect(violationsOf(thrown(() => build({ topic: 'orders', payload: 'x', partition: -1 })))).toEqual([
      expect.objectContaining({ field: 'message.partition', rule: 'min' }),
    ]);
    expect(violationsOf(thrown(() => build({ topic: 'orders', payload: 'x', key: '' })))).toEqual([
      expect.objectContaining({ field: 'message.key', rule: 'min' }),
    ]);
  });

  it('rejects a non-object input', () => {
    expect(() => schedule(null as unknown as Parameters<typeof schedule>[0])).toThrow(InvalidArgumentError);
  });
});

// Reference §11, unit level: Proxy.cancel.
describe('cancel()', () => {
  it('builds the cancel: headers, null value, key, partition', () => {
    const record = cancel({ key: 'order-42-reminder', envelope: { topic: SCHEDULES, partition: 1 } }, { clock });
    expect(record).toEqual({
      topic: SCHEDULES,
      key: 'order-42-reminder',
      value: null,
      partition: 1,
      headers: { schedule_schema_version: '1.0.0', schedule_source_type: 'cancel' },
    });
  });

  it('carries the envelope partition key so it reaches the schedule', () => {
    const record = cancel({ key: 'k', envelope: { topic: SCHEDULES, partitionKey: 'customer-9' } }, { clock });
    expect(record.partitionKey).toBe('customer-9');
    expect(record.partition).toBeUndefined();
  });

  it('rejects an empty key', () => {
    const error = thrown(() => cancel({ key: '', envelope: { topic: SCHEDULES } }, { clock }));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(violationsOf(error)).toEqual([expect.objectContaining({ field: 'key', rule: 'min' })]);
  });

  it('rejects an envelope key (the cancel key is the schedule key)', () => {
    expect(() => cancel({ key: 'k', envelope: { topic: SCHEDULES, key: 'other' } }, { clock })).toThrow(InvalidArgumentError);
  });

  it('rejects a topic that is not a scheduled-messages topic', () => {
    const error = thrown(() => cancel({ key: 'k', envelope: { topic: 'orders' } }, { clock, schedulesTopics: [SCHEDULES] }));
    expect(error).toBeInstanceOf(ContractViolationError);
    expect(violationsOf(error)).toEqual([expect.objectContaining({ field: 'topic', rule: 'not_a_scheduled_messages_topic' })]);
  });
});
