import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  Header,
  SCHEMA_VERSION,
  SourceType,
  decodeRecord,
  dispatchPair,
  type ConsumedRecord,
  type HeaderValue,
  type ProduceRecord,
  type TargetRouting,
} from '@ksched/core';
import { packSchedule, unpackSchedule, utf8 } from '../../src/wire/codec/index.js';
import { wireBytes } from './wire-bytes.js';

const enc = new TextEncoder();

/** dispatchPair as it was written before it built its records by assignment (object spreads). */
function spreadPair(record: ConsumedRecord, target: TargetRouting): { target: ProduceRecord; tombstone: ProduceRecord } {
  const offset = String(record.offset);
  const targetHeaders: Record<string, HeaderValue> = { ...record.headers };
  targetHeaders[Header.sourceTopic] = record.topic;
  targetHeaders[Header.sourcePartition] = String(record.partition);
  targetHeaders[Header.sourceOffset] = offset;
  if (record.key !== null) targetHeaders[Header.sourceKey] = record.key;
  const tombstoneHeaders: Record<string, HeaderValue> = { ...record.headers };
  tombstoneHeaders[Header.schemaVersion] = SCHEMA_VERSION;
  tombstoneHeaders[Header.sourceType] = SourceType.tombstone;
  tombstoneHeaders[Header.sourceOffset] = offset;
  return {
    target: {
      topic: target.topic,
      key: target.key ?? null,
      value: record.value,
      headers: targetHeaders,
      ...(target.partition !== undefined ? { partition: target.partition } : {}),
      ...(target.partitionKey !== undefined ? { partitionKey: target.partitionKey } : {}),
    },
    tombstone: { topic: record.topic, partition: record.partition, key: record.key, value: null, headers: tombstoneHeaders },
  };
}

const headerValue = fc.oneof(fc.string({ maxLength: 12 }), fc.uint8Array({ maxLength: 12 }));
/** Extra headers, including names the dispatch overwrites and integer-like names (ordered first by JS). */
const extraHeaders = fc.dictionary(
  fc.oneof(
    fc.string({ minLength: 1, maxLength: 8 }),
    fc.constantFrom('7', '42', Header.sourceTopic, Header.sourceOffset, Header.sourceKey),
  ),
  headerValue,
  { maxKeys: 6 },
);

/** A valid schedule record with random extra headers, routing and key bytes. */
const scheduleRecord = fc
  .record({
    extra: extraHeaders,
    partition: fc.option(fc.oneof(fc.nat(200), fc.constant(2 ** 31 - 1), fc.constant(Number.MAX_SAFE_INTEGER)), { nil: undefined }),
    targetKey: fc.option(fc.oneof(fc.string({ maxLength: 10 }), fc.uint8Array({ maxLength: 6 })), { nil: undefined }),
    partitionKey: fc.option(fc.string({ minLength: 1, maxLength: 10 }), { nil: undefined }),
    topicAsBytes: fc.boolean(),
    key: fc.oneof(
      fc.string({ minLength: 1, maxLength: 10 }).map((k) => enc.encode(k)),
      fc.uint8Array({ minLength: 1, maxLength: 6 }),
    ),
    value: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
    offset: fc.nat(1_000_000),
    sourcePartition: fc.nat(50),
  })
  .map((r): ConsumedRecord => {
    const headers: Record<string, HeaderValue> = {};
    for (const [name, value] of Object.entries(r.extra))
      if (!name.startsWith('schedule_target') && name !== Header.schemaVersion) headers[name] = value;
    headers[Header.schemaVersion] = SCHEMA_VERSION;
    headers[Header.sourceType] = enc.encode(SourceType.schedule);
    headers[Header.targetEpoch] = '1767225600';
    headers[Header.targetTopic] = r.topicAsBytes ? enc.encode('orders.v2') : 'orders.v2';
    if (r.partition !== undefined) headers[Header.targetPartition] = String(r.partition);
    if (r.targetKey !== undefined) headers[Header.targetKey] = r.targetKey;
    if (r.partitionKey !== undefined) headers[Header.targetPartitionKey] = r.partitionKey;
    return { topic: 'scheduled', partition: r.sourcePartition, offset: r.offset, key: r.key, value: r.value, headers, timestamp: 1 };
  });

describe('dispatchPair', () => {
  it('builds the same records, byte for byte and key for key, as the spread-based version', () => {
    fc.assert(
      fc.property(scheduleRecord, (record) => {
        const decoded = decodeRecord(record);
        if (decoded.kind !== 'schedule') throw new Error(`expected a schedule, got ${JSON.stringify(decoded)}`);
        const now = dispatchPair(record, decoded.target);
        const before = spreadPair(record, decoded.target);
        expect(now).toEqual(before);
        expect(Object.keys(now.target)).toEqual(Object.keys(before.target));
        expect(Object.keys(now.target.headers!)).toEqual(Object.keys(before.target.headers!));
        expect(Object.keys(now.tombstone.headers!)).toEqual(Object.keys(before.tombstone.headers!));
        expect(wireBytes(now.target)).toBe(wireBytes(before.target));
        expect(wireBytes(now.tombstone)).toBe(wireBytes(before.tombstone));
      }),
      { numRuns: 300 },
    );
  });

  it('from the packed form (routing packed, not decoded again) gives what decoding the consumed record gives', () => {
    fc.assert(
      fc.property(scheduleRecord, (record) => {
        const decoded = decodeRecord(record);
        if (decoded.kind !== 'schedule') throw new Error(`expected a schedule, got ${JSON.stringify(decoded)}`);
        const packed = packSchedule(record, decoded.target, utf8(record.key!) === undefined);
        const unpacked = unpackSchedule(packed, {
          topic: record.topic,
          partition: record.partition,
          offset: record.offset,
          key: decoded.key,
        });
        expect(unpacked.target).toEqual(decoded.target);
        const buffered = dispatchPair(unpacked.record, unpacked.target);
        const direct = dispatchPair(record, decoded.target);
        expect(wireBytes(buffered.target)).toBe(wireBytes(direct.target));
        expect(wireBytes(buffered.tombstone)).toBe(wireBytes(direct.tombstone));
        // What the engine sends: the key as text where it is text, the same bytes on the wire.
        const engine = dispatchPair(unpacked.record, unpacked.target, undefined, unpacked.keyText);
        expect(wireBytes(engine.target)).toBe(wireBytes(direct.target));
        expect(wireBytes(engine.tombstone)).toBe(wireBytes(direct.tombstone));
        expect(buffered.target.partition).toBe(decoded.target.partition);
      }),
      { numRuns: 300 },
    );
  });
});
