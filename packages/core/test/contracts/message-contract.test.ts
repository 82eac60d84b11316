import { describe, it, expect } from 'vitest';
import { MAX_FUTURE_INTERVAL_SECONDS, PAST_TOLERANCE_SECONDS, checkMessageContract } from '@ksched/core';

const NOW_S = 1_767_225_600;
const NOW_MS = NOW_S * 1000;

function scheduleRecord(overrides: { key?: unknown; topic?: unknown; headers?: unknown; epoch?: number } = {}) {
  return {
    topic: 'topic' in overrides ? overrides.topic : 'scheduled_messages',
    key: 'key' in overrides ? overrides.key : 'order-42-reminder',
    headers:
      'headers' in overrides
        ? overrides.headers
        : {
            schedule_schema_version: '1.0.0',
            schedule_target_epoch: String(overrides.epoch ?? NOW_S + 60),
            schedule_source_type: 'schedule',
            schedule_target_topic: 'orders',
          },
  };
}

const cancelHeaders = { schedule_schema_version: '1.0.0', schedule_source_type: 'cancel' };

function rules(record: Parameters<typeof checkMessageContract>[0], nowMs = NOW_MS, topics?: readonly string[]) {
  return checkMessageContract(record, nowMs, topics).map((v) => `${v.field}:${v.rule}`);
}

// Reference §11, unit level: message contract.
describe('checkMessageContract', () => {
  it('the limits are 10 s in the past and 100 × 365 days ahead', () => {
    expect(PAST_TOLERANCE_SECONDS).toBe(10);
    expect(MAX_FUTURE_INTERVAL_SECONDS).toBe(3_153_600_000);
  });

  it('passes a valid schedule and a valid cancel', () => {
    expect(checkMessageContract(scheduleRecord(), NOW_MS)).toEqual([]);
    expect(checkMessageContract({ topic: 'scheduled_messages', key: 'k', headers: cancelHeaders }, NOW_MS)).toEqual([]);
  });

  it('fails an empty key', () => {
    const violations = checkMessageContract(scheduleRecord({ key: '' }), NOW_MS);
    expect(violations).toEqual([expect.objectContaining({ field: 'key', rule: 'format' })]);
    expect(violations[0]!.message).toContain('non-empty string');
  });

  it('fails a missing key', () => {
    expect(rules(scheduleRecord({ key: undefined }))).toEqual(['key:required']);
    expect(rules(scheduleRecord({ key: null }))).toEqual(['key:required']);
  });

  it('fails a non-string key', () => {
    expect(rules(scheduleRecord({ key: 42 }))).toEqual(['key:format']);
    expect(rules(scheduleRecord({ key: new Uint8Array([1]) }))).toEqual(['key:format']);
  });

  it('fails a missing header (cancel without schedule_source_type)', () => {
    const violations = checkMessageContract(
      { topic: 'scheduled_messages', key: 'k', headers: { schedule_schema_version: '1.0.0' } },
      NOW_MS,
    );
    expect(violations).toEqual([expect.objectContaining({ field: 'headers', rule: 'format' })]);
    expect(violations[0]!.message).toContain('schedule_source_type');
  });

  it('fails a cancel without schedule_schema_version', () => {
    expect(rules({ key: 'k', headers: { schedule_source_type: 'cancel' } })).toEqual(['headers:format']);
  });

  it.each([['not headers'], [null], [undefined], [['schedule_source_type', 'cancel']], [new Uint8Array([1])]])(
    'fails headers that are not an object: %j',
    (headers) => {
      expect(rules(scheduleRecord({ headers }))).toEqual(['headers:format']);
    },
  );

  it('ksched fix: a schedule must carry all four headers (target topic missing fails)', () => {
    const { schedule_target_topic: _t, ...headers } = scheduleRecord().headers as Record<string, string>;
    const violations = checkMessageContract(scheduleRecord({ headers }), NOW_MS);
    expect(violations).toEqual([expect.objectContaining({ field: 'headers', rule: 'format' })]);
    expect(violations[0]!.message).toContain('schedule_target_topic');
  });

  it('ksched fix: a schedule without schedule_target_epoch fails', () => {
    const { schedule_target_epoch: _e, ...headers } = scheduleRecord().headers as Record<string, string>;
    expect(rules(scheduleRecord({ headers }))).toEqual(['headers:format']);
  });

  it('fails an epoch 20 s in the past', () => {
    const violations = checkMessageContract(scheduleRecord({ epoch: NOW_S - 20 }), NOW_MS);
    expect(violations).toEqual([expect.objectContaining({ field: 'headers.schedule_target_epoch', rule: 'in_the_past' })]);
    expect(violations[0]!.message).toContain('scheduling cannot happen in the past');
  });

  it('passes an epoch exactly 10 s in the past', () => {
    expect(checkMessageContract(scheduleRecord({ epoch: NOW_S - 10 }), NOW_MS)).toEqual([]);
    expect(rules(scheduleRecord({ epoch: NOW_S - 11 }))).toEqual(['headers.schedule_target_epoch:in_the_past']);
  });

  it('passes an epoch 5 s in the past', () => {
    expect(checkMessageContract(scheduleRecord({ epoch: NOW_S - 5 }), NOW_MS)).toEqual([]);
  });

  it('passes an epoch 60 s ahead', () => {
    expect(checkMessageContract(scheduleRecord({ epoch: NOW_S + 60 }), NOW_MS)).toEqual([]);
  });

  it('uses whole seconds of now: 10.999 s before a fractional now still passes', () => {
    expect(checkMessageContract(scheduleRecord({ epoch: NOW_S - 10 }), NOW_MS + 999)).toEqual([]);
  });

  it('fails an epoch given in milliseconds', () => {
    const violations = checkMessageContract(scheduleRecord({ epoch: NOW_MS }), NOW_MS);
    expect(violations).toEqual([expect.objectContaining({ field: 'headers.schedule_target_epoch', rule: 'too_far_in_future' })]);
    expect(violations[0]!.message).toContain('scheduling is too far in the future (schedule_target_epoch must be Unix time in seconds)');
  });

  it('fails an epoch more than 100 years ahead', () => {
    expect(rules(scheduleRecord({ epoch: NOW_S + MAX_FUTURE_INTERVAL_SECONDS + 1 }))).toEqual([
      'headers.schedule_target_epoch:too_far_in_future',
    ]);
  });

  it('passes an epoch just under 100 years ahead', () => {
    expect(checkMessageContract(scheduleRecord({ epoch: NOW_S + MAX_FUTURE_INTERVAL_SECONDS }), NOW_MS)).toEqual([]);
    expect(checkMessageContract(scheduleRecord({ epoch: NOW_S + MAX_FUTURE_INTERVAL_SECONDS - 1 }), NOW_MS)).toEqual([]);
  });

  it('fails an epoch that is not a decimal integer', () => {
    const headers = { ...(scheduleRecord().headers as Record<string, string>), schedule_target_epoch: '1.7e9' };
    expect(rules(scheduleRecord({ headers }))).toEqual(['headers.schedule_target_epoch:format']);
  });

  it('does not check the epoch of a cancel', () => {
    expect(checkMessageContract({ key: 'k', headers: { ...cancelHeaders, schedule_target_epoch: '0' } }, NOW_MS)).toEqual([]);
  });

  it('checks the epoch only when nothing else failed', () => {
    expect(rules(scheduleRecord({ key: '', epoch: NOW_S - 3600 }))).toEqual(['key:format']);
  });

  describe('schedulesTopics', () => {
    it('passes a listed topic', () => {
      expect(checkMessageContract(scheduleRecord(), NOW_MS, ['scheduled_messages'])).toEqual([]);
    });

    it('fails a topic that is not a scheduled-messages topic', () => {
      const violations = checkMessageContract({ topic: 'orders', key: 'k', headers: cancelHeaders }, NOW_MS, ['scheduled_messages']);
      expect(violations).toEqual([expect.objectContaining({ field: 'topic', rule: 'not_a_scheduled_messages_topic' })]);
      expect(violations[0]!.message).toContain('is not a scheduled messages topic');
    });

    it('fails any topic when none is listed', () => {
      expect(rules(scheduleRecord(), NOW_MS, [])).toEqual(['topic:not_a_scheduled_messages_topic']);
    });

    it('is checked only when nothing else failed', () => {
      expect(rules(scheduleRecord({ epoch: NOW_S - 60 }), NOW_MS, [])).toEqual(['headers.schedule_target_epoch:in_the_past']);
    });
  });
});
