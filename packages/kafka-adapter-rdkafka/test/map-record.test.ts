import { describe, expect, it } from 'vitest';
import { UnsupportedError } from '@ksched/core';
import type { ConsumedRecord } from '@ksched/core';
import type { Message } from 'node-rdkafka';
import { fromRdKafkaHeaders, fromRdKafkaMessage, sendableHeaderText, toRdKafkaBytes, toRdKafkaHeaders } from '../src/map-record.js';

describe('rdkafka record mapping', () => {
  it('sends text headers, and UTF-8 header bytes as their text (the same bytes on the wire)', () => {
    const bytes = new TextEncoder().encode('✓ 1767225600');
    expect(toRdKafkaHeaders({ a: 'héllo', b: bytes })).toEqual([{ a: 'héllo' }, { b: '✓ 1767225600' }]);
    expect(toRdKafkaHeaders({})).toBeUndefined();
    expect(toRdKafkaHeaders(undefined)).toBeUndefined();
    expect(sendableHeaderText('')).toBe('');
    expect(sendableHeaderText('\uD83D\uDE00')).toBe('😀');
  });

  it('refuses header values node-rdkafka would alter: non-UTF-8 bytes, NUL, lone surrogates', () => {
    for (const value of [
      new Uint8Array([0x80]),
      new Uint8Array([0xfe, 0xff]),
      new Uint8Array([0x61, 0x00]),
      'a\u0000',
      '\uD800x',
      'x\uDC00',
    ]) {
      expect(sendableHeaderText(value)).toBeUndefined();
      let error: unknown;
      try {
        toRdKafkaHeaders({ ok: 'fine', bad: value });
      } catch (e) {
        error = e;
      }
      expect(UnsupportedError.isInstance(error)).toBe(true);
      expect((error as Error).message).toMatch(/^header "bad"/);
    }
  });

  it('reuses the header object of an equal text value within a batch, never of bytes or refused values', () => {
    const reuse = new Map();
    const bytes = new TextEncoder().encode('k1');
    const first = toRdKafkaHeaders({ version: '1.0.0', offset: '1', key: bytes }, reuse)!;
    const second = toRdKafkaHeaders({ version: '1.0.0', offset: '2', key: bytes }, reuse)!;
    expect(second).toEqual([{ version: '1.0.0' }, { offset: '2' }, { key: 'k1' }]);
    expect(second[0]).toBe(first[0]);
    expect(second[1]).not.toBe(first[1]);
    expect(second[2]).not.toBe(first[2]);
    // A header object is remembered per name: the same text under another name is a new object.
    const third = toRdKafkaHeaders({ other: '1.0.0' }, reuse)!;
    expect(third).toEqual([{ other: '1.0.0' }]);
    expect(() => toRdKafkaHeaders({ version: '1.0.0', bad: 'a\u0000' }, reuse)).toThrow(/^header "bad"/);
    expect(() => toRdKafkaHeaders({ version: 'x\u0000' }, reuse)).toThrow(/^header "version"/);
  });

  it('converts keys and values to bytes; empty bytes stay empty (a non-NULL pointer), null stays null', () => {
    expect(toRdKafkaBytes(null)).toBeNull();
    expect(toRdKafkaBytes(undefined)).toBeNull();
    expect(Array.from(toRdKafkaBytes('a\u0000b')!)).toEqual([0x61, 0, 0x62]);
    const source = new Uint8Array([9, 1, 2, 3]).subarray(1);
    const buffer = toRdKafkaBytes(source)!;
    expect(Buffer.isBuffer(buffer)).toBe(true);
    expect(Array.from(buffer)).toEqual([1, 2, 3]);
    expect(buffer.buffer).toBe(source.buffer); // no copy
    for (const empty of ['', new Uint8Array(0), Buffer.alloc(0)]) {
      const out = toRdKafkaBytes(empty)!;
      expect(out.length).toBe(0);
      // A zero-length view into a non-empty buffer: node-rdkafka passes librdkafka a real pointer.
      expect(out.buffer.byteLength).toBeGreaterThan(0);
    }
  });

  it('maps consumed headers (last value of a repeated name wins) to plain Uint8Arrays', () => {
    const headers = fromRdKafkaHeaders([{ a: Buffer.from('1') }, { b: Buffer.from([0, 255]) }, { a: Buffer.from('2') }]);
    expect(Object.keys(headers)).toEqual(['a', 'b']);
    expect(new TextDecoder().decode(headers['a'] as Uint8Array)).toBe('2');
    expect(Array.from(headers['b'] as Uint8Array)).toEqual([0, 255]);
    expect(Buffer.isBuffer(headers['b'])).toBe(false);
    expect(fromRdKafkaHeaders(undefined)).toEqual({});
  });

  describe('header names a message repeats (repeatedHeaders)', () => {
    const consumed = (headers?: Message['headers']) =>
      fromRdKafkaMessage({
        topic: 't',
        partition: 0,
        offset: 0,
        key: null,
        value: null,
        size: 0,
        timestamp: 0,
        ...(headers && { headers }),
      });
    const texts = (record: ConsumedRecord) =>
      Object.fromEntries(Object.entries(record.headers).map(([name, value]) => [name, Buffer.from(value).toString()]));

    it('lists the names given with different values, each once; the last value wins in headers', () => {
      // As node-rdkafka gives them: one object per header, in record order.
      const record = consumed([
        { schedule_source_type: Buffer.from('schedule') },
        { same: Buffer.from('x') },
        { trace: Buffer.from('a') },
        { same: Buffer.from('x') },
        { schedule_source_type: Buffer.from('cancel') },
        { trace: Buffer.from('b') },
        { trace: Buffer.from('a') },
        { schedule_source_type: Buffer.from('tombstone') },
        { toString: Buffer.from('not inherited') },
      ]);
      expect({ repeated: record.repeatedHeaders, headers: texts(record) }).toEqual({
        repeated: ['schedule_source_type', 'trace'],
        headers: { schedule_source_type: 'tombstone', same: 'x', trace: 'a', toString: 'not inherited' },
      });
    });

    it('leaves the field out when no name repeats with a different value, or there are no headers', () => {
      for (const headers of [
        [{ a: Buffer.from('1') }, { b: Buffer.from('2') }],
        [{ a: Buffer.from('1') }, { a: Buffer.from('1') }, { a: Buffer.from('1') }],
        // Text and bytes of the same value are the same value.
        [{ a: 'v' }, { a: Buffer.from('v') }],
        [],
        undefined,
      ]) {
        expect(Object.keys(consumed(headers))).not.toContain('repeatedHeaders');
      }
    });
  });

  it('maps a consumed message', () => {
    const message: Message = {
      topic: 't',
      partition: 2,
      offset: 41,
      key: Buffer.from('k'),
      value: null,
      size: 0,
      timestamp: 1_767_225_600_123,
      headers: [{ h: Buffer.from('v') }],
    };
    const record = fromRdKafkaMessage(message);
    expect(record).toMatchObject({ topic: 't', partition: 2, offset: 41, value: null, timestamp: 1_767_225_600_123 });
    expect(Array.from(record.key!)).toEqual([0x6b]);
    expect(Buffer.isBuffer(record.key)).toBe(false);
    expect(fromRdKafkaMessage({ ...message, key: null, headers: undefined as never }).key).toBeNull();
    expect(fromRdKafkaMessage({ ...message, key: undefined }).key).toBeNull();
    expect(fromRdKafkaMessage({ ...message, timestamp: undefined } as unknown as Message).timestamp).toBe(-1);
  });
});
