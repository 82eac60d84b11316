import { describe, expect, it } from 'vitest';
import { packSchedule, unpackSchedule } from '../../src/wire/codec/index.js';
import { Header, decodeRecord, type ConsumedRecord, type HeaderValue } from '../../src/index.js';

const enc = new TextEncoder();
const where = { topic: 'schedules', partition: 3, offset: 42, key: 'k-1' };

function bytesOf(value: HeaderValue): Uint8Array {
  return typeof value === 'string' ? enc.encode(value) : value;
}

/** The record as bytes, for comparing a packed-and-unpacked record with the original. */
function normal(record: Pick<ConsumedRecord, 'key' | 'value' | 'headers' | 'timestamp'>) {
  return {
    key: record.key === null ? null : [...record.key],
    value: record.value === null ? null : [...record.value],
    headers: Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, [...bytesOf(value)]])),
    timestamp: record.timestamp,
  };
}

describe('packSchedule / unpackSchedule', () => {
  it('round-trips value, headers (bytes and strings, in order) and timestamp; the key comes from its text', () => {
    const record = {
      key: enc.encode('k-1'),
      value: enc.encode('payload ✓'),
      headers: {
        schedule_source_type: enc.encode('schedule'),
        trace: 'abc',
        'ünïcode-name': 'välue',
        empty: new Uint8Array(0),
        utf8: enc.encode('välue'),
        binary: Uint8Array.of(0x61, 0xff),
      },
      timestamp: 1_767_229_200_123,
    };
    const packed = packSchedule(record, {}, false);
    const back = unpackSchedule(packed, where).record;
    expect(normal(back)).toEqual(normal(record));
    expect(Object.keys(back.headers)).toEqual(Object.keys(record.headers));
    // Strings come back as strings, and so do ASCII bytes (the same bytes on the wire); other bytes as bytes.
    expect(back.headers['trace']).toBe('abc');
    expect(back.headers['ünïcode-name']).toBe('välue');
    expect(back.headers['schedule_source_type']).toBe('schedule');
    expect(back.headers['empty']).toBe('');
    expect(back.headers['utf8']).toBeInstanceOf(Uint8Array);
    expect(back.headers['binary']).toBeInstanceOf(Uint8Array);
    expect(back).toMatchObject({ topic: 'schedules', partition: 3, offset: 42 });
    // One char per byte: a one-byte string about as long as the bytes it holds.
    expect([...packed].every((c) => c.charCodeAt(0) <= 0xff)).toBe(true);
    expect(packed.length).toBeLessThan(enc.encode('payload ✓').length + 80);
  });

  it('a key kept as text only comes back as its UTF-8 bytes, ASCII or not', () => {
    for (const text of ['order-1', 'ключ-✓', 'é', '']) {
      const record = { key: enc.encode(text), value: enc.encode('v'), headers: { trace: 'abc' }, timestamp: 1 };
      const back = unpackSchedule(packSchedule(record, {}, false), { ...where, key: text }).record;
      expect([...back.key!]).toEqual([...enc.encode(text)]);
      expect(back.headers['trace']).toBe('abc');
    }
  });

  it('gives the key as text when it was kept as text, and none for a raw key', () => {
    const record = { key: enc.encode('order-1'), value: null, headers: {}, timestamp: 1 };
    expect(unpackSchedule(packSchedule(record, {}, false), { ...where, key: 'order-1' }).keyText).toBe('order-1');
    const raw = { ...record, key: Uint8Array.of(0xff) };
    expect(unpackSchedule(packSchedule(raw, {}, true), { ...where, key: '\ufffd' }).keyText).toBeUndefined();
  });

  it('keeps arbitrary bytes exactly: binary value and header values, a key that is not UTF-8, a null value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const key = Uint8Array.of(0xff, 0xfe, 0x00, 0x80);
    const record = { key, value: null, headers: { bin: all, nul: Uint8Array.of(0) }, timestamp: -1 };
    const back = unpackSchedule(packSchedule(record, {}, true), { ...where, key: '\ufffd\ufffd\u0000\ufffd' }).record;
    expect(normal(back)).toEqual(normal(record));
    expect(back.value).toBeNull();
  });

  it('large values (past the 8 KiB conversion chunk) and many header names (past the name table) survive', () => {
    const value = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7) % 256);
    const headers: Record<string, HeaderValue> = {};
    for (let i = 0; i < 5000; i++) headers[`name-${i}`] = `v${i}`;
    const record = { key: enc.encode('k-1'), value, headers, timestamp: 5 };
    const back = unpackSchedule(packSchedule(record, {}, false), where).record;
    expect(normal(back)).toEqual(normal(record));
  });

  it('a short string header value (1 char) next to a long one does not corrupt the packing buffer as it grows', () => {
    const headers: Record<string, HeaderValue> = { a: 'x' };
    for (let i = 0; i < 50; i++) headers[`h${i}`] = 'é'.repeat(i * 40) + 'y';
    const record = { key: enc.encode('k-1'), value: new Uint8Array(5000).fill(9), headers, timestamp: 7 };
    expect(normal(unpackSchedule(packSchedule(record, {}, false), where).record)).toEqual(normal(record));
  });

  it('carries the decoded routing: topic, key and partition key by their header names, the partition decoded, no byte spent without one', () => {
    // Fill the shared name table first: ksched's names keep their fixed places in it.
    const many: Record<string, HeaderValue> = {};
    for (let i = 0; i < 5000; i++) many[`filler-${i}`] = '';
    packSchedule({ key: null, value: null, headers: many, timestamp: 0 }, {}, false);
    const headers: Record<string, HeaderValue> = {
      [Header.schemaVersion]: '1.0.0',
      [Header.sourceType]: 'schedule',
      [Header.targetEpoch]: '1767225600',
      [Header.targetTopic]: enc.encode('orders'),
      [Header.targetKey]: Uint8Array.of(0x6f, 0xff),
      [Header.targetPartitionKey]: 'tenant-9',
      'late-name-not-in-table': 'x',
    };
    const record = { key: enc.encode('k-1'), value: enc.encode('v'), headers, timestamp: 1 };
    const decoded = decodeRecord(record);
    if (decoded.kind !== 'schedule') throw new Error(decoded.kind);
    const back = unpackSchedule(packSchedule(record, decoded.target, false), where);
    expect(back.target).toEqual({ topic: 'orders', key: 'o\ufffd', partitionKey: 'tenant-9' });
    expect(back.target).toEqual(decoded.target);
    expect(normal(back.record)).toEqual(normal(record));

    for (const partition of [0, 127, 128, 2 ** 31 - 1, Number.MAX_SAFE_INTEGER]) {
      const withPartition = { ...record, headers: { ...headers, [Header.targetPartition]: String(partition) } };
      const routed = decodeRecord(withPartition);
      if (routed.kind !== 'schedule') throw new Error(routed.kind);
      expect(routed.target.partition).toBe(partition);
      const packed = packSchedule(withPartition, routed.target, false);
      expect(unpackSchedule(packed, where).target).toEqual(routed.target);
      // The partition costs its varint (one byte below 128) on top of the header it came from.
      const without = packSchedule(withPartition, {}, false);
      expect(packed.length - without.length).toBe(partition < 128 ? 1 : Math.ceil(Math.log2(partition + 1) / 7));
      expect(unpackSchedule(without, where).target.partition).toBeUndefined();
    }
  });
});
