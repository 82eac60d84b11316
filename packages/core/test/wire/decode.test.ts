import { describe, it, expect } from 'vitest';
import { decodeDueTime, decodeRecord, headerText, invalidReasons, type InvalidReason, type RecordHeaders } from '@ksched/core';
import { bytes, consumed } from '../helpers.js';

const EPOCH = 1_767_225_600;

function scheduleHeaders(extra: Record<string, string | Uint8Array> = {}): Record<string, string | Uint8Array> {
  return {
    schedule_schema_version: '1.0.0',
    schedule_source_type: 'schedule',
    schedule_target_epoch: String(EPOCH),
    schedule_target_topic: 'orders',
    ...extra,
  };
}

function decode(headers: RecordHeaders, key: string | null = 'k') {
  return decodeRecord(consumed({ key, headers }));
}

function expectInvalid(headers: RecordHeaders, reason: InvalidReason, key: string | null = 'k') {
  const decoded = decode(headers, key);
  expect(decoded).toMatchObject({ kind: 'invalid', reason });
  if (decoded.kind === 'invalid') expect(decoded.detail.length).toBeGreaterThan(0);
}

// Reference §11, unit level: headers deserializer (ksched decodes into typed records instead).
describe('decodeRecord: the headers deserializer equivalents', () => {
  it('casts epoch and partition to integers for a schedule', () => {
    const decoded = decode(scheduleHeaders({ schedule_target_partition: '2', schedule_target_key: 'order-42' }));
    expect(decoded).toEqual({
      kind: 'schedule',
      key: 'k',
      dueMs: EPOCH * 1000,
      epoch: EPOCH,
      schemaVersion: '1.0.0',
      target: { topic: 'orders', partition: 2, key: 'order-42' },
    });
  });

  it('casts the epoch to an integer for a tombstone', () => {
    const decoded = decode({ ...scheduleHeaders(), schedule_source_type: 'tombstone', schedule_source_offset: '17' });
    expect(decoded).toEqual({ kind: 'tombstone', key: 'k', schemaVersion: '1.0.0', epoch: EPOCH, sourceOffset: 17 });
  });

  it('leaves a cancel as it is: no epoch is read', () => {
    const decoded = decode({ schedule_schema_version: '1.0.0', schedule_source_type: 'cancel', schedule_target_epoch: 'junk' });
    expect(decoded).toEqual({ kind: 'cancel', key: 'k', schemaVersion: '1.0.0' });
  });

  it('adds no partition, key or partition key when the headers are absent', () => {
    const decoded = decode(scheduleHeaders());
    expect(decoded.kind).toBe('schedule');
    if (decoded.kind !== 'schedule') return;
    expect(decoded.target).toEqual({ topic: 'orders' });
    expect('partition' in decoded.target).toBe(false);
    expect('partitionKey' in decoded.target).toBe(false);
    expect('key' in decoded.target).toBe(false);
  });

  it('keeps the partition key header as the target partition key', () => {
    const decoded = decode(scheduleHeaders({ schedule_target_partition_key: 'customer-9' }));
    expect(decoded).toMatchObject({ kind: 'schedule', target: { topic: 'orders', partitionKey: 'customer-9' } });
  });

  it('reads header values given as bytes the same as text', () => {
    const asBytes: Record<string, Uint8Array> = {};
    for (const [name, value] of Object.entries(scheduleHeaders({ schedule_target_partition: '4' }))) {
      asBytes[name] = typeof value === 'string' ? bytes(value) : value;
    }
    expect(decode(asBytes)).toEqual(decode(scheduleHeaders({ schedule_target_partition: '4' })));
    expect(headerText(asBytes, 'schedule_target_topic')).toBe('orders');
    expect(headerText(asBytes, 'missing')).toBeUndefined();
  });

  it('decodes the record key from UTF-8 bytes', () => {
    expect(decode(scheduleHeaders(), 'clé-🙂')).toMatchObject({ kind: 'schedule', key: 'clé-🙂' });
  });

  it('uses the millisecond header for the due time when present', () => {
    const decoded = decode(scheduleHeaders({ schedule_target_epoch_ms: String(EPOCH * 1000 - 500) }));
    expect(decoded).toMatchObject({ kind: 'schedule', dueMs: EPOCH * 1000 - 500, epoch: EPOCH });
  });
});

describe('decodeRecord: invalid records (ksched fix 3.4: counted and skipped, never blocking)', () => {
  it('names every reason in invalidReasons', () => {
    expect([...invalidReasons].sort()).toEqual(
      [
        'bad_epoch',
        'bad_epoch_ms',
        'bad_schema_version',
        'bad_target_partition',
        'bad_target_topic',
        'duplicate_header',
        'epoch_mismatch',
        'missing_epoch',
        'missing_schema_version',
        'missing_source_type',
        'missing_target_topic',
        'null_key',
      ].sort(),
    );
  });

  it('missing schedule_source_type', () => {
    const { schedule_source_type: _type, ...rest } = scheduleHeaders();
    expectInvalid(rest, 'missing_source_type');
    expectInvalid({ ...rest, schedule_source_type: '' }, 'missing_source_type');
  });

  it('null key, for every type', () => {
    expectInvalid(scheduleHeaders(), 'null_key', null);
    expectInvalid({ schedule_schema_version: '1.0.0', schedule_source_type: 'cancel' }, 'null_key', null);
    expectInvalid({ ...scheduleHeaders(), schedule_source_type: 'tombstone' }, 'null_key', null);
  });

  it('missing or malformed schema version (explicit rule: required)', () => {
    const { schedule_schema_version: _v, ...rest } = scheduleHeaders();
    expectInvalid(rest, 'missing_schema_version');
    expectInvalid(scheduleHeaders({ schedule_schema_version: 'v1' }), 'bad_schema_version');
  });

  it('missing epoch', () => {
    const { schedule_target_epoch: _e, ...rest } = scheduleHeaders();
    expectInvalid(rest, 'missing_epoch');
  });

  it.each(['soon', '', '12abc', '1.5', '1e9', '99999999999999999999'])('bad epoch %j', (epoch) => {
    expectInvalid(scheduleHeaders({ schedule_target_epoch: epoch }), 'bad_epoch');
  });

  it('bad millisecond epoch', () => {
    expectInvalid(scheduleHeaders({ schedule_target_epoch_ms: 'later' }), 'bad_epoch_ms');
  });

  it('epoch mismatch: the two headers more than one second apart', () => {
    expectInvalid(scheduleHeaders({ schedule_target_epoch_ms: String(EPOCH * 1000 + 1001) }), 'epoch_mismatch');
    expectInvalid(scheduleHeaders({ schedule_target_epoch_ms: String(EPOCH * 1000 - 1001) }), 'epoch_mismatch');
    expect(decode(scheduleHeaders({ schedule_target_epoch_ms: String(EPOCH * 1000 - 1000) })).kind).toBe('schedule');
    expect(decode(scheduleHeaders({ schedule_target_epoch_ms: String(EPOCH * 1000 + 1000) })).kind).toBe('schedule');
  });

  it('missing target topic', () => {
    const { schedule_target_topic: _t, ...rest } = scheduleHeaders();
    expectInvalid(rest, 'missing_target_topic');
    expectInvalid(scheduleHeaders({ schedule_target_topic: '' }), 'missing_target_topic');
  });

  it('bad target topic', () => {
    expectInvalid(scheduleHeaders({ schedule_target_topic: 'no spaces' }), 'bad_target_topic');
    expectInvalid(scheduleHeaders({ schedule_target_topic: 'x'.repeat(250) }), 'bad_target_topic');
  });

  it.each(['-1', 'two', '1.5', ''])('bad target partition %j', (partition) => {
    expectInvalid(scheduleHeaders({ schedule_target_partition: partition }), 'bad_target_partition');
  });

  describe('duplicate_header: a schedule_* header given more than once with different values', () => {
    const repeated = (headers: RecordHeaders, repeatedHeaders: readonly string[], key: string | null = 'k') =>
      decodeRecord({ ...consumed({ headers, key }), repeatedHeaders });

    it('is invalid, naming the header and its last value', () => {
      // Consumed as `cancel` (the last value won), but also carried `schedule`.
      const decoded = repeated(scheduleHeaders({ schedule_source_type: 'cancel' }), ['schedule_source_type']);
      expect(decoded).toEqual({
        kind: 'invalid',
        reason: 'duplicate_header',
        detail: 'schedule_source_type appears more than once with different values (the last is "cancel")',
      });
    });

    it.each([
      'schedule_schema_version',
      'schedule_target_epoch',
      'schedule_target_epoch_ms',
      'schedule_target_topic',
      'schedule_target_partition',
      'schedule_target_key',
      'schedule_target_partition_key',
      'schedule_source_offset',
      'schedule_source_key',
    ])('for %s, whatever the record type', (name) => {
      for (const type of ['schedule', 'cancel', 'tombstone', 'something-new']) {
        const decoded = repeated(scheduleHeaders({ schedule_source_type: type }), ['trace', name]);
        expect(decoded).toMatchObject({ kind: 'invalid', reason: 'duplicate_header' });
        if (decoded.kind === 'invalid') expect(decoded.detail).toContain(`${name} appears more than once with different values`);
      }
    });

    it('is checked before the other rules, except a missing type or version and a newer schema (which still halts)', () => {
      expectInvalid(scheduleHeaders({ schedule_target_epoch: 'soon' }), 'bad_epoch');
      expect(repeated(scheduleHeaders({ schedule_target_epoch: 'soon' }), ['schedule_target_epoch'])).toMatchObject({
        reason: 'duplicate_header',
      });
      expect(repeated(scheduleHeaders(), ['schedule_target_epoch'], null)).toMatchObject({ reason: 'duplicate_header' });
      expect(repeated(scheduleHeaders({ schedule_schema_version: 'x' }), ['schedule_schema_version'])).toMatchObject({
        reason: 'duplicate_header',
      });
      const { schedule_source_type: _type, ...noType } = scheduleHeaders();
      expect(repeated(noType, ['schedule_target_epoch'])).toMatchObject({ reason: 'missing_source_type' });
      expect(repeated(scheduleHeaders({ schedule_schema_version: '2.0.0' }), ['schedule_source_type'])).toEqual({
        kind: 'incompatible',
        schemaVersion: '2.0.0',
      });
    });

    it('other repeated headers are the message’s own: the record is read as usual', () => {
      const headers = scheduleHeaders({ trace: 'b' });
      // `schedule_something_else` is not a header of the wire format.
      expect(repeated(headers, ['trace', 'schedule_something_else'])).toEqual(decode(headers));
      expect(repeated(headers, [])).toEqual(decode(headers));
    });
  });

  it('a cancel or tombstone needs no target headers', () => {
    expect(decode({ schedule_schema_version: '1.0.0', schedule_source_type: 'cancel' }).kind).toBe('cancel');
    expect(decode({ schedule_schema_version: '1.0.0', schedule_source_type: 'tombstone' }).kind).toBe('tombstone');
  });
});

describe('decodeRecord: other kinds', () => {
  it('an unknown type is reported as unknown (removes the key like a cancel)', () => {
    expect(decode({ schedule_schema_version: '1.0.0', schedule_source_type: 'message' })).toEqual({
      kind: 'unknown',
      key: 'k',
      type: 'message',
      schemaVersion: '1.0.0',
    });
  });

  it('a newer schema is incompatible, whatever else the record holds', () => {
    expect(decode(scheduleHeaders({ schedule_schema_version: '1.1.0' }))).toEqual({ kind: 'incompatible', schemaVersion: '1.1.0' });
    expect(decode({ schedule_schema_version: '2.0.0', schedule_source_type: 'cancel' }, null)).toEqual({
      kind: 'incompatible',
      schemaVersion: '2.0.0',
    });
  });

  it('an older or equal schema is read; the current version can be passed in', () => {
    expect(decode(scheduleHeaders({ schedule_schema_version: '0.9' })).kind).toBe('schedule');
    expect(decodeRecord(consumed({ headers: scheduleHeaders({ schedule_schema_version: '1.2.0' }) }), '1.10.0').kind).toBe('schedule');
  });

  it('a hand-made tombstone without epoch counts as epoch 0 and has no source offset', () => {
    expect(decode({ schedule_schema_version: '1.0.0', schedule_source_type: 'tombstone' })).toEqual({
      kind: 'tombstone',
      key: 'k',
      schemaVersion: '1.0.0',
      epoch: 0,
    });
  });

  it('a tombstone with an unreadable epoch or source offset keeps epoch 0 / no source offset', () => {
    const decoded = decode({
      schedule_schema_version: '1.0.0',
      schedule_source_type: 'tombstone',
      schedule_target_epoch: 'soon',
      schedule_source_offset: 'x',
    });
    expect(decoded).toEqual({ kind: 'tombstone', key: 'k', schemaVersion: '1.0.0', epoch: 0 });
  });
});

describe('decodeDueTime', () => {
  it('is the seconds header × 1000 without the ms header', () => {
    expect(decodeDueTime({ schedule_target_epoch: String(EPOCH) })).toEqual({ ok: true, dueMs: EPOCH * 1000, epoch: EPOCH });
  });

  it('prefers a consistent ms header', () => {
    expect(decodeDueTime({ schedule_target_epoch: String(EPOCH), schedule_target_epoch_ms: String(EPOCH * 1000 - 1) })).toEqual({
      ok: true,
      dueMs: EPOCH * 1000 - 1,
      epoch: EPOCH,
    });
  });

  it('reports a missing epoch', () => {
    expect(decodeDueTime({})).toMatchObject({ ok: false, reason: 'missing_epoch' });
  });

  it('reads negative and zero epochs (the contract, not the decoder, rejects the past)', () => {
    expect(decodeDueTime({ schedule_target_epoch: '0' })).toEqual({ ok: true, dueMs: 0, epoch: 0 });
    expect(decodeDueTime({ schedule_target_epoch: '-1000' })).toEqual({ ok: true, dueMs: -1_000_000, epoch: -1000 });
  });
});
