import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { IHeaders, KafkaMessage } from 'kafkajs';
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

/**
 * The headers kafkajs 2.2.4 itself decodes from a record carrying `headers` (an array value is
 * written as the name repeated): its record encoder and decoder, as its consumer runs them.
 */
function throughKafkajs(headers: IHeaders): IHeaders {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('kafkajs/package.json'));
  const encodeRecord = require(`${root}/src/protocol/recordBatch/record/v0`) as (record: object) => { buffer: Buffer };
  const decodeRecord = require(`${root}/src/protocol/recordBatch/record/v0/decoder`) as (decoder: unknown, context: object) => KafkaMessage;
  const Decoder = require(`${root}/src/protocol/decoder`) as new (buffer: Buffer) => {
    readVarInt(): number;
    readBytes(length: number): Buffer;
  };
  const framed = new Decoder(encodeRecord({ key: Buffer.from('k'), value: null, headers }).buffer);
  const body = framed.readBytes(framed.readVarInt());
  return decodeRecord(new Decoder(body), { firstOffset: '0', firstTimestamp: '0', magicByte: 2 }).headers!;
}

describe('repeated header names (repeatedHeaders)', () => {
  it('kafkajs 2.2.4 gives a repeated name as an array of its values, in record order', () => {
    const decoded = throughKafkajs({ schedule_source_type: ['schedule', 'cancel'], one: 'y' });
    expect(Array.isArray(decoded['schedule_source_type'])).toBe(true);
    expect((decoded['schedule_source_type'] as Buffer[]).map(String)).toEqual(['schedule', 'cancel']);
    expect(Array.isArray(decoded['one'])).toBe(false);
  });

  it('lists a name repeated with different values (the last value wins in headers), never one repeated with the same value', () => {
    const headers = throughKafkajs({
      schedule_source_type: ['schedule', 'cancel'],
      same: ['x', 'x', 'x'],
      trace: ['a', 'b', 'a'],
      empty: ['', ''],
      one: 'y',
    });
    for (const map of [fromKafkaMessage, fromFetchedMessage]) {
      const record = map('t', 0, message({ offset: '7', headers }));
      const texts = Object.fromEntries(
        Object.entries(record.headers).map(([name, value]) => [name, new TextDecoder().decode(value as Uint8Array)]),
      );
      expect({ repeatedHeaders: record.repeatedHeaders, texts }).toEqual({
        repeatedHeaders: ['schedule_source_type', 'trace'],
        texts: { schedule_source_type: 'cancel', same: 'x', trace: 'a', empty: '', one: 'y' },
      });
    }
    // Text and bytes of the same value, and a null value and empty bytes, are the same value.
    const mixed = message({ offset: '0', headers: { a: ['v', Buffer.from('v')], b: [null as unknown as Buffer, Buffer.alloc(0)] } });
    expect('repeatedHeaders' in fromKafkaMessage('t', 0, mixed)).toBe(false);
  });

  it('leaves the field out when no name repeats, or the record has no headers', () => {
    for (const map of [fromKafkaMessage, fromFetchedMessage]) {
      expect('repeatedHeaders' in map('t', 0, message({ offset: '0', headers: { a: Buffer.from('1'), b: 'text' } }))).toBe(false);
      expect('repeatedHeaders' in map('t', 0, message({ offset: '0', headers: {} }))).toBe(false);
      expect('repeatedHeaders' in map('t', 0, message({ offset: '0', headers: undefined as never }))).toBe(false);
    }
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

  it('passes headers that need no change as they are, and copies the others without touching the input', () => {
    const ready = { a: 'x', b: Buffer.from('y') };
    expect(toKafkaHeaders(ready)).toBe(ready);
    const bytes = new Uint8Array([1, 2]);
    const mixed = { a: 'x', b: bytes };
    const out = toKafkaHeaders(mixed)!;
    expect(out).not.toBe(mixed);
    expect(Buffer.isBuffer(out['b'])).toBe(true);
    expect(mixed.b).toBe(bytes);
    expect(Buffer.isBuffer(mixed.b)).toBe(false);
  });
});
