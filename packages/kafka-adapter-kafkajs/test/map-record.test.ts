import { describe, expect, it } from 'vitest';
import type { KafkaMessage } from 'kafkajs';
import { fromFetchedMessage, fromKafkaHeaders, fromKafkaMessage, toKafkaHeaders, toKafkaMessage } from '../src/map-record.js';

function message(fields: Partial<KafkaMessage> & { offset: string }): KafkaMessage {
  return {
    magicByte: 2,
    attributes: 0,
    timestamp: '1767225600123',
    key: null,
    value: null,
    headers: {},
    isControlRecord: false,
    batchContext: {} as never,
    size: 0,
    ...fields,
  } as unknown as KafkaMessage;
}

describe('fromKafkaMessage', () => {
  it('maps offsets and timestamps to numbers, and keys/values/header bytes to plain Uint8Array views of the fetched bytes (no copy)', () => {
    const pool = Buffer.from('xxkeyvalueheader');
    const key = pool.subarray(2, 5);
    const value = pool.subarray(5, 10);
    const header = pool.subarray(10, 16);
    const record = fromKafkaMessage('t', 3, message({ offset: '42', key, value, headers: { h: header, s: 'text' } }));
    expect(record).toMatchObject({ topic: 't', partition: 3, offset: 42, timestamp: 1_767_225_600_123 });
    expect(Buffer.isBuffer(record.key)).toBe(false);
    expect(record.key).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(record.key!)).toBe('key');
    expect(new TextDecoder().decode(record.value!)).toBe('value');
    expect(new TextDecoder().decode(record.headers['h'] as Uint8Array)).toBe('header');
    expect(record.headers['s']).toBe('text');
    // Views over the fetch buffer, not copies (kafkajs never reuses it).
    expect(record.key!.buffer).toBe(pool.buffer);
    expect(record.key!.byteOffset).toBe(pool.byteOffset + 2);
    expect((record.headers['h'] as Uint8Array).buffer).toBe(pool.buffer);
  });

  it('keeps null keys and values (tombstones)', () => {
    const record = fromKafkaMessage('t', 0, message({ offset: '0' }));
    expect(record.key).toBeNull();
    expect(record.value).toBeNull();
    expect(record.headers).toEqual({});
  });
});

describe('fromFetchedMessage (the reader: re-labels the fetched Buffers)', () => {
  it('maps like fromKafkaMessage, its bytes being the same memory as plain Uint8Arrays', () => {
    const pool = Buffer.from('xxkeyvalueheaderlast');
    const fetched = (): KafkaMessage =>
      message({
        offset: '42',
        key: pool.subarray(2, 5),
        value: pool.subarray(5, 10),
        headers: { h: pool.subarray(10, 16), s: 'text', dup: [pool.subarray(2, 5), pool.subarray(16, 20)], nothing: undefined },
      });
    const expected = fromKafkaMessage('t', 3, fetched());
    const record = fromFetchedMessage('t', 3, fetched());
    expect(record).toEqual(expected);
    expect(Object.keys(record)).toEqual(Object.keys(expected));
    for (const bytes of [record.key!, record.value!, record.headers['h'] as Uint8Array, record.headers['dup'] as Uint8Array]) {
      expect(Buffer.isBuffer(bytes)).toBe(false);
      expect(bytes).toBeInstanceOf(Uint8Array);
      expect(bytes.buffer).toBe(pool.buffer);
      // A plain Uint8Array's slice copies (a Buffer's would be a view of the fetch response).
      expect(bytes.slice(0, 1).buffer).not.toBe(pool.buffer);
    }
    expect(new TextDecoder().decode(record.headers['dup'] as Uint8Array)).toBe('last');
    expect(record.headers['s']).toBe('text');
    expect(record.headers['nothing']).toEqual(new Uint8Array(0));
    expect(fromFetchedMessage('t', 0, message({ offset: '0' }))).toEqual(fromKafkaMessage('t', 0, message({ offset: '0' })));
  });
});

describe('fromKafkaHeaders', () => {
  it('lets the last value of a repeated header win and turns a null value into empty bytes', () => {
    const headers = fromKafkaHeaders({ dup: [Buffer.from('first'), Buffer.from('second')], nothing: undefined });
    expect(new TextDecoder().decode(headers['dup'] as Uint8Array)).toBe('second');
    expect(headers['nothing']).toEqual(new Uint8Array(0));
    expect(fromKafkaHeaders(undefined)).toEqual({});
  });
});

describe('toKafkaMessage / toKafkaHeaders', () => {
  it('passes strings through, wraps bytes as Buffers over the same memory, and sets partition and timestamp', () => {
    const bytes = new Uint8Array([0, 1, 255]);
    const m = toKafkaMessage({ topic: 't', key: 'k', value: bytes, headers: { a: 'x', b: bytes }, timestamp: 1_767_225_600_123.9 }, 4);
    expect(m.key).toBe('k');
    expect(Buffer.isBuffer(m.value)).toBe(true);
    expect(Array.from(m.value as Buffer)).toEqual([0, 1, 255]);
    expect((m.value as Buffer).buffer).toBe(bytes.buffer);
    expect(m.headers).toEqual({ a: 'x', b: Buffer.from([0, 1, 255]) });
    expect(m.partition).toBe(4);
    expect(m.timestamp).toBe('1767225600123');
  });

  it('keeps null key and value, and leaves out what is not given', () => {
    const m = toKafkaMessage({ topic: 't', key: null, value: null });
    expect(m).toEqual({ key: null, value: null });
    expect(toKafkaHeaders(undefined)).toBeUndefined();
    const buffer = Buffer.from('b');
    expect(toKafkaHeaders({ x: buffer })!['x']).toBe(buffer);
  });
});
