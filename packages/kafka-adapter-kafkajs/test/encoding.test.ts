/**
 * The adapter's kafkajs copy encodes produce requests with a linear grouping by partition and a
 * lighter encoder (`src/internal/encoding.ts`). These tests hold it to kafkajs as installed: the
 * same bytes for any produce request, the same groups and partitioner calls for any messages.
 */
import { createRequire } from 'node:module';
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadKafkaJs } from '../src/internal/kafkajs.js';
import {
  groupMessagesPerPartition,
  lighterEncoder,
  lighterRecord,
  lighterRecordDecoder,
  type KafkaJsDecoder,
  type KafkaJsEncoderClass,
  type RecordArgs,
  type RecordContext,
  type RecordDecoder,
  type RecordEncoder,
} from '../src/internal/encoding.js';

const require = createRequire(import.meta.url);
const kafkajsRoot = require.resolve('kafkajs/package.json').replace(/package\.json$/, '');
/** A module of kafkajs as installed (Node's own module cache: not the adapter's copy). */
const installed = (path: string): unknown => require(`${kafkajsRoot}${path}`);

const copy = loadKafkaJs();

type ProduceRequest = (args: Record<string, unknown>) => { encode(): Promise<{ buffer: Buffer }> };
const PRODUCE_V3 = 'src/protocol/requests/produce/v3/request.js';
const stockProduce = installed(PRODUCE_V3) as ProduceRequest;
const copyProduce = copy.module(PRODUCE_V3) as ProduceRequest;

interface Message {
  key?: string | Buffer | null;
  value: string | Buffer | null;
  headers?: Record<string, string | Buffer | (string | Buffer)[]>;
  timestamp?: string;
}

const bytesArb = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  // Any code units, lone surrogates included (UTF-8 writes them as U+FFFD: the sizes must agree).
  fc.string({ unit: fc.constantFrom('\ud800', '\udfff', 'a', 'é', '😀'), maxLength: 8 }),
  fc.uint8Array({ maxLength: 700 }).map((a) => Buffer.from(a)),
);
const messageArb: fc.Arbitrary<Message> = fc.record(
  {
    key: fc.option(bytesArb, { nil: null }),
    value: fc.option(
      fc.oneof(
        bytesArb,
        fc.uint8Array({ minLength: 500, maxLength: 5000 }).map((a) => Buffer.from(a)),
      ),
      { nil: null },
    ),
    headers: fc.dictionary(
      fc.string({ minLength: 1, maxLength: 12 }),
      fc.oneof(bytesArb, fc.array(bytesArb, { minLength: 1, maxLength: 3 })),
      {
        maxKeys: 12,
      },
    ),
    // Timestamps ms apart or ~2^31 ms apart: small and large deltas (the copy writes small ones without a Long).
    timestamp: fc
      .oneof(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 2 ** 30 - 3, max: 2 ** 31 + 3 }))
      .map((d) => String(1_767_225_600_000 + d)),
  },
  { requiredKeys: ['value'] },
);

async function encodeBoth(args: Record<string, unknown>): Promise<[Buffer, Buffer]> {
  const stock = await stockProduce(args).encode();
  const lighter = await copyProduce(args).encode();
  return [stock.buffer, lighter.buffer];
}

describe("the copy's produce request encoding", () => {
  // kafkajs takes Date.now() for messages without a timestamp: the same for both encodings.
  beforeEach(() => void vi.spyOn(Date, 'now').mockReturnValue(1_767_225_600_123));
  afterEach(() => vi.restoreAllMocks());

  it('is byte for byte kafkajs’s own, for any messages, headers and timestamps', { timeout: 60_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ partition: fc.nat(5), messages: fc.array(messageArb, { minLength: 1, maxLength: 25 }) }), {
          minLength: 1,
          maxLength: 3,
        }),
        fc.boolean(),
        async (partitions, transactional) => {
          const args = {
            acks: -1,
            timeout: 30_000,
            ...(transactional ? { transactionalId: 'tx-1', producerId: 4242, producerEpoch: 3 } : {}),
            topicData: [{ topic: 'target', partitions: partitions.map((p, i) => ({ ...p, firstSequence: i * 7 })) }],
          };
          const [stock, lighter] = await encodeBoth(args);
          expect(lighter.equals(stock)).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('is byte for byte kafkajs’s own for messages without a timestamp (the deltas are 0)', async () => {
    const messages = Array.from({ length: 600 }, (_, i) => ({
      key: `key-${i}`,
      value: i % 3 === 0 ? null : Buffer.alloc(200 + i, i),
      headers: { schedule_source_offset: String(i), schedule_source_key: `key-${i}`, bin: Buffer.from([i & 0xff, 0, 255]) },
    }));
    const [stock, lighter] = await encodeBoth({
      acks: 1,
      timeout: 5000,
      topicData: [{ topic: 't', partitions: [{ partition: 0, messages }] }],
    });
    expect(lighter.length).toBeGreaterThan(600 * 200);
    expect(lighter.equals(stock)).toBe(true);
  });
});

describe('the lighter encoder', () => {
  type AnyEncoder = Record<string, (...args: unknown[]) => unknown> & { readonly buffer: Buffer; readonly buf: Buffer };
  const Stock = installed('src/protocol/encoder.js') as KafkaJsEncoderClass;
  const Lighter = lighterEncoder(Stock);
  const make = (Encoder: KafkaJsEncoderClass, initial?: number) => new Encoder(initial) as unknown as AnyEncoder;
  const Long = installed('src/utils/long.js') as { fromString(s: string): unknown };

  type Op = readonly [method: string, value: unknown];
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    fc.tuple(fc.constant('writeVarInt'), fc.integer()),
    fc.tuple(fc.constant('writeUVarInt'), fc.nat()),
    fc.tuple(
      fc.constant('writeVarLong'),
      fc.oneof(fc.integer(), fc.maxSafeInteger(), fc.integer({ min: -(2 ** 30) - 2, max: 2 ** 30 + 2 })),
    ),
    fc.tuple(
      fc.constant('writeVarLong'),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((b) => Long.fromString(String(b))),
    ),
    fc.tuple(fc.constant('writeVarIntString'), fc.option(fc.string({ unit: 'grapheme', maxLength: 30 }), { nil: null })),
    fc.tuple(fc.constant('writeVarIntBytes'), fc.option(bytesArb, { nil: null })),
    fc.tuple(
      fc.constant('writeBytes'),
      fc.option(
        fc.uint8Array({ maxLength: 3000 }).map((a) => Buffer.from(a)),
        { nil: null },
      ),
    ),
    fc.tuple(fc.constant('writeInt64'), fc.integer()),
    fc.tuple(fc.constant('writeInt8'), fc.integer({ min: -128, max: 127 })),
  );

  it('writes what kafkajs’s encoder writes, for any sequence of writes (buffers growing past their first size)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 60 }), fc.option(fc.integer({ min: 1, max: 4096 }), { nil: undefined }), (ops, initial) => {
        const stock = make(Stock, initial);
        const lighter = make(Lighter, initial);
        for (const [method, value] of ops) {
          stock[method]!(value);
          lighter[method]!(value);
        }
        expect(lighter.buffer.equals(stock.buffer)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('sizes a varlong as kafkajs does, around the 30-bit edge and beyond', () => {
    for (const v of [
      0,
      1,
      -1,
      63,
      64,
      -64,
      -65,
      2 ** 30 - 1,
      -(2 ** 30) + 1,
      2 ** 30,
      -(2 ** 30),
      2 ** 40,
      -(2 ** 52),
      Number.MAX_SAFE_INTEGER,
    ]) {
      expect([v, Lighter.sizeOfVarLong(v)]).toEqual([v, Stock.sizeOfVarLong(v)]);
    }
  });

  it('refuses a fractional varlong as kafkajs does (it cannot be a 64-bit integer)', () => {
    expect(() => make(Stock).writeVarLong!(1.5)).toThrow(RangeError);
    expect(() => make(Lighter).writeVarLong!(1.5)).toThrow(RangeError);
  });

  it('hands out only the bytes it wrote, though its buffers are not zero-filled', () => {
    const e = make(Lighter, 8);
    e.writeInt8!(7);
    expect([...e.buffer]).toEqual([7]);
    expect(e.buf.length).toBe(make(Stock, 8).buf.length);
  });
});

describe('groupMessagesPerPartition', () => {
  const stockGroup = installed('src/producer/groupMessagesPerPartition.js') as typeof groupMessagesPerPartition;

  it('groups as kafkajs does: same partitions, same order, the partitioner called once per message in order', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(7), { maxLength: 300 }), fc.nat(3), (partitions, metadataSize) => {
        const messages = partitions.map((partition, i) => ({ i, partition }));
        const calls: [string, number][] = [];
        const partitioner =
          (who: string) =>
          ({ message }: { message: { i: number; partition: number } }): number => {
            calls.push([who, message.i]);
            return message.partition;
          };
        const partitionMetadata = Array.from({ length: metadataSize }, (_, p) => ({ partitionId: p }));
        const ours = groupMessagesPerPartition({ topic: 't', partitionMetadata, messages, partitioner: partitioner('ours') });
        const theirs = stockGroup({ topic: 't', partitionMetadata, messages, partitioner: partitioner('theirs') });
        expect(ours).toEqual(theirs);
        const order = (who: string) => calls.filter(([w]) => w === who).map(([, i]) => i);
        expect(order('ours')).toEqual(order('theirs'));
        expect(order('ours')).toEqual(metadataSize === 0 ? [] : messages.map((m) => m.i));
      }),
      { numRuns: 300 },
    );
  });

  it('is the one the copy’s producer uses', () => {
    expect(copy.module('src/producer/groupMessagesPerPartition.js')).toBe(groupMessagesPerPartition);
    const CopyEncoder = copy.module('src/protocol/encoder.js') as { name: string };
    expect(CopyEncoder.name).toBe('LighterEncoder');
    expect((installed('src/protocol/encoder.js') as { name: string }).name).toBe('Encoder');
  });
});

describe('the one-buffer record encoder', () => {
  const RECORD = 'src/protocol/recordBatch/record/v0/index.js';
  const stockRecord = installed(RECORD) as RecordEncoder;
  const calls: RecordArgs[] = [];
  const lighter = lighterRecord((args) => {
    calls.push(args);
    return stockRecord(args);
  });
  /** The record's bytes, or the error's class when it throws. */
  const outcome = (encode: RecordEncoder, args: RecordArgs): string => {
    try {
      return encode(args).buffer.toString('hex');
    } catch (error) {
      return `throws ${(error as Error).constructor.name}`;
    }
  };
  const oddArb = fc.oneof(fc.constant(undefined), fc.integer(), fc.uint8Array({ maxLength: 5 }), fc.constant(null), fc.constant({ x: 1 }));
  const argsArb: fc.Arbitrary<RecordArgs> = fc.record(
    {
      offsetDelta: fc.oneof(fc.nat(2000), fc.integer(), fc.constant(0.5)),
      timestampDelta: fc.oneof(fc.integer({ min: -(2 ** 31), max: 2 ** 31 }), fc.constant(0), fc.constant('12')),
      key: fc.oneof(fc.option(bytesArb, { nil: null }), oddArb),
      value: fc.oneof(fc.option(bytesArb, { nil: null }), oddArb),
      headers: fc.oneof(
        fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(bytesArb, fc.array(bytesArb, { maxLength: 3 })), { maxKeys: 12 }),
        fc.dictionary(fc.string({ maxLength: 4 }), fc.oneof(bytesArb, oddArb, fc.array(fc.oneof(bytesArb, oddArb), { maxLength: 2 })), {
          maxKeys: 3,
        }),
      ),
    },
    { requiredKeys: [] },
  );

  it('writes what kafkajs writes for any record (or fails as it does), taking kafkajs’s own path only for what it does not expect', () => {
    let own = 0;
    fc.assert(
      fc.property(argsArb, (args) => {
        const before = calls.length;
        expect(outcome(lighter, args)).toBe(outcome(stockRecord, args));
        if (calls.length === before) own++;
      }),
      { numRuns: 2000 },
    );
    // Both paths ran, many times each.
    expect(own).toBeGreaterThan(200);
    expect(calls.length).toBeGreaterThan(100);
  });

  it('takes its own path for what ksched produces: string or Buffer keys, values and headers', () => {
    const before = calls.length;
    const args = { offsetDelta: 7, key: 'k', value: Buffer.alloc(200, 1), headers: { a: 'x', b: Buffer.from([1, 2]), c: ['y', 'z'] } };
    expect(lighter(args).buffer.equals(stockRecord(args).buffer)).toBe(true);
    expect(calls.length).toBe(before);
  });

  it('is the one the copy’s produce request uses', () => {
    expect(copy.module(RECORD)).not.toBe(stockRecord);
    const args = { key: 'k', value: 'v', headers: { h: 'x' } };
    const encoded = (copy.module(RECORD) as RecordEncoder)(args);
    expect(encoded.constructor.name).toBe('ExactRecord');
    expect(encoded.buffer.equals(stockRecord(args).buffer)).toBe(true);
  });
});

describe('the record decoder with numbers', () => {
  const DECODER = 'src/protocol/recordBatch/record/v0/decoder.js';
  const stockDecode = installed(DECODER) as RecordDecoder;
  const Decoder = installed('src/protocol/decoder.js') as new (buffer: Buffer) => KafkaJsDecoder;
  const stockRecord = installed('src/protocol/recordBatch/record/v0/index.js') as RecordEncoder;
  const fallbacks: unknown[] = [];
  const lighter = lighterRecordDecoder((decoder, context) => {
    fallbacks.push(context);
    return stockDecode(decoder, context);
  });

  /** A record's body (what the record decoder reads), encoded by kafkajs itself. */
  const body = (args: RecordArgs): Buffer => new Decoder(stockRecord(args).buffer).readVarIntBytes()!;
  const decodeWith = (decode: RecordDecoder, bytes: Buffer, context: RecordContext) => {
    const decoder = new Decoder(bytes);
    const record = decode(decoder, context);
    return { record, offset: decoder.offset };
  };

  const headerName = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'toString', 'constructor', 'a', 'a'));
  const recordArb: fc.Arbitrary<RecordArgs> = fc.record({
    offsetDelta: fc.oneof(fc.nat(5000), fc.constant(2 ** 31 - 1)),
    timestampDelta: fc.oneof(fc.integer({ min: -5000, max: 5000 }), fc.integer({ min: -(2 ** 30) + 1, max: 2 ** 30 - 1 })),
    key: fc.option(bytesArb, { nil: null }),
    value: fc.option(bytesArb, { nil: null }),
    headers: fc.dictionary(headerName, fc.oneof(bytesArb, fc.array(bytesArb, { minLength: 1, maxLength: 3 })), { maxKeys: 10 }),
  });
  const int64Text = fc.oneof(
    fc.integer({ min: 0, max: 2 ** 45 }).map(String),
    fc.constant('-1'),
    fc.bigInt({ min: 2n ** 53n - 10n, max: 2n ** 62n }).map(String),
  );
  const contextArb: fc.Arbitrary<RecordContext> = fc.record({
    firstOffset: int64Text,
    firstTimestamp: int64Text,
    magicByte: fc.constant(2),
    isControlBatch: fc.boolean(),
    timestampType: fc.constantFrom(0, 1, -1),
    maxTimestamp: fc.oneof(fc.constant('1767225600999'), fc.constant(undefined)),
  });

  it('returns what kafkajs returns for any record and batch context, and reads as far', () => {
    const before = fallbacks.length;
    let runs = 0;
    fc.assert(
      fc.property(recordArb, contextArb, (args, context) => {
        const bytes = body(args);
        const ours = decodeWith(lighter, bytes, context);
        const theirs = decodeWith(stockDecode, bytes, context);
        // Node's deep equality, not vitest's: a header may be named `constructor`, which vitest takes for the class.
        expect(isDeepStrictEqual(ours.record, theirs.record)).toBe(true);
        expect(Object.keys(ours.record as object)).toEqual(Object.keys(theirs.record as object));
        expect(Object.keys((ours.record as { headers: object }).headers)).toEqual(
          Object.keys((theirs.record as { headers: object }).headers),
        );
        expect(ours.offset).toBe(theirs.offset);
        runs++;
      }),
      { numRuns: 1500 },
    );
    // Both paths ran: large offsets and timestamps go to kafkajs's own decoder.
    expect(fallbacks.length - before).toBeGreaterThan(100);
    expect(runs - (fallbacks.length - before)).toBeGreaterThan(500);
  });

  it('decodes with numbers a record as the broker returns it to ksched (small deltas, millisecond timestamps)', () => {
    const before = fallbacks.length;
    const bytes = body({
      offsetDelta: 3,
      timestampDelta: 12,
      key: 'k',
      value: null,
      headers: { schedule_source_type: 'tombstone', x: ['1', '2'] },
    });
    const context = { firstOffset: '1000', firstTimestamp: '1767225600000', magicByte: 2, timestampType: 0 };
    const record = decodeWith(lighter, bytes, context).record as { offset: string; timestamp: string; headers: Record<string, unknown> };
    expect(fallbacks.length).toBe(before);
    expect([record.offset, record.timestamp]).toEqual(['1003', '1767225600012']);
    expect(record.headers).toEqual({ schedule_source_type: Buffer.from('tombstone'), x: [Buffer.from('1'), Buffer.from('2')] });
    expect(decodeWith(lighter, bytes, context).record).toStrictEqual(decodeWith(stockDecode, bytes, context).record);
  });

  it('is the one the copy’s fetch path uses', () => {
    expect(copy.module(DECODER)).not.toBe(stockDecode);
    const bytes = body({ key: 'k', value: 'v', headers: { h: 'x' } });
    const context = { firstOffset: '5', firstTimestamp: '10', magicByte: 2, timestampType: 0 };
    expect(decodeWith(copy.module(DECODER) as RecordDecoder, bytes, context).record).toStrictEqual(
      decodeWith(stockDecode, bytes, context).record,
    );
  });
});
