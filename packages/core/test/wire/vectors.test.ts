/**
 * Drives every vector of the v1.0.0 wire fixture (a copy of the spec's `wire-v1.json`). The
 * fixture must keep decoding forever: a new wire version gets a new fixture beside it.
 */
import { readFileSync } from 'node:fs';
import { deflateSync, inflateSync } from 'node:zlib';
import { describe, it, expect } from 'vitest';
import {
  ContractViolationError,
  Tracker,
  checkMessageContract,
  compareVersions,
  cancel,
  decodeDueTime,
  decodeRecord,
  decodeStates,
  dispatchPair,
  encodeStates,
  isCompatibleSchema,
  murmur2,
  partitionForKey,
  schedule,
  statesRecord,
  type TrackerSnapshot,
} from '@ksched/core';
import { packSchedule, unpackSchedule, utf8 } from '../../src/wire/codec/index.js';
import { bytes, consumed, fixedClock, headersText, text } from '../helpers.js';
import { wireBytes } from './wire-bytes.js';

interface WireMessage {
  topic: string;
  payload: string | null;
  key?: string;
  partition?: number;
  partition_key?: string;
  headers?: Record<string, string>;
}
interface WireEnvelope {
  topic: string;
  key?: string;
  partition?: number;
  partition_key?: string;
}
interface ExpectedRecord {
  topic: string;
  key?: string;
  key_pattern?: string;
  payload: string | null;
  headers: Record<string, string>;
  partition?: number | null;
  partition_key?: string | null;
}
interface Vectors {
  murmur2: { input: string; murmur2: number }[];
  partitioner: { rule: string; cases: { key: string; partitions: number; partition: number }[] };
  schedule: {
    name: string;
    input: { message: WireMessage; epoch?: number; epoch_ms?: number; envelope: WireEnvelope };
    expected: ExpectedRecord;
  }[];
  cancel: { input: { key: string; envelope: WireEnvelope }; expected: ExpectedRecord }[];
  dispatch: {
    name: string;
    record: { topic: string; partition: number; offset: string; key: string; payload: string | null; headers: Record<string, string> };
    target: ExpectedRecord;
    tombstone: ExpectedRecord;
  }[];
  decode_due_time: ({ headers: Record<string, string>; due_ms: number } | { headers: Record<string, string>; invalid: string })[];
  states: {
    name: string;
    topic: string;
    partition: number;
    key: string;
    headers: Record<string, string>;
    json: string;
    payload_hex_zlib_default_level: string;
    rule: string;
  }[];
  contract: { now_s: number; cases: { epoch: number; valid: boolean; reason?: string }[] };
  schema_version_compare: { record: string; current: string; compatible: boolean }[];
}

const vectors = JSON.parse(readFileSync(new URL('../fixtures/wire-v1.json', import.meta.url), 'utf8')) as Vectors;

/** Near the vectors' epochs (2025-12-31T23:50:00Z, ten minutes before 1767225600), so the contract passes. */
const NOW_MS = 1_767_225_000_000;

function envelopeOf(e: WireEnvelope) {
  return {
    topic: e.topic,
    ...(e.key !== undefined ? { key: e.key } : {}),
    ...(e.partition !== undefined ? { partition: e.partition } : {}),
    ...(e.partition_key !== undefined ? { partitionKey: e.partition_key } : {}),
  };
}

function messageOf(m: WireMessage) {
  return {
    topic: m.topic,
    payload: m.payload,
    ...(m.key !== undefined ? { key: m.key } : {}),
    ...(m.partition !== undefined ? { partition: m.partition } : {}),
    ...(m.partition_key !== undefined ? { partitionKey: m.partition_key } : {}),
    ...(m.headers !== undefined ? { headers: m.headers } : {}),
  };
}

/** null in a vector means "absent" for partition and partition key. */
function orUndefined<T>(value: T | null | undefined): T | undefined {
  return value === null ? undefined : value;
}

function hex(data: Uint8Array): string {
  return Buffer.from(data).toString('hex');
}

describe('wire-v1 vectors: murmur2', () => {
  it.each(vectors.murmur2)('murmur2($input) = $murmur2', ({ input, murmur2: expected }) => {
    expect(murmur2(input)).toBe(expected);
    expect(murmur2(bytes(input))).toBe(expected);
  });
});

describe('wire-v1 vectors: partitioner', () => {
  it.each(vectors.partitioner.cases)('$key over $partitions partitions → $partition', ({ key, partitions, partition }) => {
    expect(partitionForKey(key, partitions)).toBe(partition);
    expect(partitionForKey(bytes(key), partitions)).toBe(partition);
  });
});

describe('wire-v1 vectors: schedule', () => {
  it.each(vectors.schedule)('$name', ({ input, expected }) => {
    const message = messageOf(input.message);
    const envelope = envelopeOf(input.envelope);
    const options = { clock: fixedClock(NOW_MS) };
    const record =
      input.epoch_ms !== undefined
        ? schedule({ message, envelope, at: input.epoch_ms }, options)
        : schedule({ message, envelope, epoch: input.epoch! }, options);

    expect(record.topic).toBe(expected.topic);
    if (expected.key !== undefined) expect(record.key).toBe(expected.key);
    if (expected.key_pattern !== undefined) expect(record.key).toMatch(new RegExp(expected.key_pattern));
    expect(expected.key ?? expected.key_pattern).toBeDefined();
    expect(text(record.value)).toBe(expected.payload);
    expect(record.partition).toBe(orUndefined(expected.partition));
    expect(record.partitionKey).toBe(orUndefined(expected.partition_key));
    // Same names, values and order as the reference writes them.
    expect(Object.entries(headersText(record.headers))).toEqual(Object.entries(expected.headers));
  });
});

describe('wire-v1 vectors: cancel', () => {
  it.each(vectors.cancel)('cancel of $input.key', ({ input, expected }) => {
    const record = cancel({ key: input.key, envelope: envelopeOf(input.envelope) }, { clock: fixedClock(NOW_MS) });
    expect(record.topic).toBe(expected.topic);
    expect(record.key).toBe(expected.key);
    expect(record.value).toBe(expected.payload);
    expect(record.partition).toBe(orUndefined(expected.partition));
    expect(record.partitionKey).toBe(orUndefined(expected.partition_key));
    expect(Object.entries(headersText(record.headers))).toEqual(Object.entries(expected.headers));
  });
});

describe('wire-v1 vectors: dispatch', () => {
  it.each(vectors.dispatch)('$name', (v) => {
    const record = consumed({
      topic: v.record.topic,
      partition: v.record.partition,
      offset: Number(v.record.offset),
      key: v.record.key,
      value: v.record.payload,
      headers: v.record.headers,
    });
    const decoded = decodeRecord(record);
    if (decoded.kind !== 'schedule') throw new Error(`expected a schedule, got ${JSON.stringify(decoded)}`);
    const { target, tombstone } = dispatchPair(record, decoded.target);

    expect(target.topic).toBe(v.target.topic);
    expect(target.partition).toBe(orUndefined(v.target.partition));
    expect(target.partitionKey).toBe(orUndefined(v.target.partition_key));
    expect(text(target.key)).toBe(v.target.key ?? null);
    expect(text(target.value)).toBe(v.target.payload);
    expect(Object.entries(headersText(target.headers))).toEqual(Object.entries(v.target.headers));

    expect(tombstone.topic).toBe(v.tombstone.topic);
    expect(tombstone.partition).toBe(v.tombstone.partition);
    expect(text(tombstone.key)).toBe(v.tombstone.key);
    expect(tombstone.value).toBeNull();
    expect(v.tombstone.payload).toBeNull();
    expect(Object.entries(headersText(tombstone.headers))).toEqual(Object.entries(v.tombstone.headers));
  });

  it.each(vectors.dispatch)('buffered and dispatched without decoding again, byte for byte the same: $name', (v) => {
    const record = consumed({
      topic: v.record.topic,
      partition: v.record.partition,
      offset: Number(v.record.offset),
      key: v.record.key,
      value: v.record.payload,
      headers: v.record.headers,
    });
    const decoded = decodeRecord(record);
    if (decoded.kind !== 'schedule') throw new Error(`expected a schedule, got ${JSON.stringify(decoded)}`);
    const direct = dispatchPair(record, decoded.target);
    // What the engine does: pack with the decoded routing, unpack at dispatch, no second decode.
    const packed = packSchedule(record, decoded.target, utf8(record.key!) === undefined);
    const unpacked = unpackSchedule(packed, { topic: record.topic, partition: record.partition, offset: record.offset, key: decoded.key });
    expect(unpacked.target).toEqual(decoded.target);
    const buffered = dispatchPair(unpacked.record, unpacked.target);
    expect(wireBytes(buffered.target)).toEqual(wireBytes(direct.target));
    expect(wireBytes(buffered.tombstone)).toEqual(wireBytes(direct.tombstone));
    expect(buffered.target.partition).toBe(orUndefined(v.target.partition));
    expect(Object.entries(headersText(buffered.target.headers))).toEqual(Object.entries(v.target.headers));
    expect(Object.entries(headersText(buffered.tombstone.headers))).toEqual(Object.entries(v.tombstone.headers));
  });
});

describe('wire-v1 vectors: decode_due_time', () => {
  it.each(vectors.decode_due_time)('$headers', (v) => {
    const result = decodeDueTime(v.headers);
    if ('due_ms' in v) {
      expect(result).toMatchObject({ ok: true, dueMs: v.due_ms, epoch: Number(v.headers.schedule_target_epoch) });
    } else {
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.detail).toContain(v.invalid);
    }
  });
});

describe('wire-v1 vectors: states', () => {
  it.each(vectors.states)('$name', (v) => {
    const json = JSON.parse(v.json) as {
      dispatched_at: number;
      state: TrackerSnapshot['state'];
      offsets: { low: number; high: number };
      daily: Record<string, number>;
      started_at: number;
      reloads: number;
    };
    const dispatchedAtMs = Math.round(json.dispatched_at * 1000);

    // Built the way the engine builds it: a Tracker fed offsets and schedules.
    const tracker = new Tracker(json.started_at * 1000);
    tracker.offset(json.offsets.low);
    tracker.offset(json.offsets.high);
    for (const [date, count] of Object.entries(json.daily)) {
      for (let i = 0; i < count; i++) tracker.future(Date.parse(`${date}T12:00:00Z`));
    }
    tracker.state = json.state;
    tracker.reloads = json.reloads;

    const payload = encodeStates(tracker.snapshot(), dispatchedAtMs);
    expect(inflateSync(payload).toString('utf8')).toBe(v.json);
    // Node's zlib at its default level writes the same bytes as the reference's writer.
    expect(hex(payload)).toBe(hex(deflateSync(Buffer.from(v.json, 'utf8'))));
    expect(hex(payload)).toBe(v.payload_hex_zlib_default_level);

    const record = statesRecord(v.topic.replace(/_states$/, ''), v.partition, tracker.snapshot(), dispatchedAtMs);
    expect(record.topic).toBe(v.topic);
    expect(record.partition).toBe(v.partition);
    expect(text(record.key)).toBe(v.key);
    expect(headersText(record.headers)).toEqual(v.headers);
    expect(hex(record.value as Uint8Array)).toBe(v.payload_hex_zlib_default_level);

    expect(decodeStates(Buffer.from(v.payload_hex_zlib_default_level, 'hex'))).toEqual(json);
  });
});

describe('wire-v1 vectors: contract', () => {
  const { now_s: nowS, cases } = vectors.contract;
  const nowMs = nowS * 1000;

  function handMade(epoch: number) {
    return {
      topic: 'scheduled_messages',
      key: 'k',
      headers: {
        schedule_schema_version: '1.0.0',
        schedule_target_epoch: String(epoch),
        schedule_source_type: 'schedule',
        schedule_target_topic: 'orders',
      },
    };
  }

  it.each(cases)('epoch $epoch → valid $valid', ({ epoch, valid, reason }) => {
    const violations = checkMessageContract(handMade(epoch), nowMs);
    expect(violations.length === 0).toBe(valid);

    const build = () =>
      schedule(
        { message: { topic: 'orders', payload: 'x' }, envelope: { topic: 'scheduled_messages' }, epoch },
        { clock: fixedClock(nowMs) },
      );
    if (valid) {
      expect(build().headers['schedule_target_epoch']).toBe(String(epoch));
      return;
    }
    // The reason's parenthesis explains the case; the rule's phrase is what precedes it.
    const phrase = reason!.replace(/\s*\(.*\)$/, '');
    expect(violations.map((v) => v.message).join(' ')).toContain(phrase);
    expect(build).toThrow(ContractViolationError);
    expect(build).toThrow(phrase);
  });
});

describe('wire-v1 vectors: schema_version_compare', () => {
  it.each(vectors.schema_version_compare)('$record read by $current → compatible $compatible', ({ record, current, compatible }) => {
    expect(isCompatibleSchema(record, current)).toBe(compatible);
    expect(compareVersions(record, current) <= 0).toBe(compatible);
    const decoded = decodeRecord(
      consumed({
        key: 'k',
        headers: { schedule_schema_version: record, schedule_source_type: 'cancel' },
      }),
      current,
    );
    expect(decoded.kind).toBe(compatible ? 'cancel' : 'incompatible');
  });
});
