/**
 * Two corrections to kafkajs's produce path, for the adapter's private copy (see `kafkajs.ts`).
 * Same bytes on the wire, same calls to the partitioner, less work per record:
 *
 * 1. **Grouping by partition.** kafkajs's `groupMessagesPerPartition` copies a partition's whole
 *    message list for every message it adds (a spread in a `reduce`): quadratic in the messages
 *    of one partition. A produce call of 1,000 records to two single-partition topics copies
 *    about 250,000 array slots; over 100,000 dispatched schedules that is about 1 GB allocated
 *    and 0.3–0.45 s of one core. {@link groupMessagesPerPartition} appends instead.
 * 2. **The encoder's allocations.** kafkajs encodes each record, and each of its headers, with an
 *    `Encoder` of its own, which starts with a zero-filled 512-byte `Buffer.alloc` (an
 *    `ArrayBuffer` of its own each time), and writes every varint through a JavaScript array and
 *    a `Buffer.from` of it. {@link lighterEncoder} returns kafkajs's `Encoder` with its buffers
 *    taken from Node's pool without zero-filling (`Buffer.allocUnsafe`: an encoder only ever hands
 *    out the bytes it wrote, `buf.slice(0, offset)`), varints written into the buffer in place,
 *    and varlongs that fit in 30 bits written without a 64-bit `Long`.
 * 3. **One buffer per record.** kafkajs's record encoder makes an `Encoder` for the record and one
 *    for each of its headers, then copies the headers' bytes into the record's. A ksched target
 *    carries about nine headers and its tombstone eight. {@link lighterRecord} sizes the record
 *    first and writes it, headers included, into one buffer of exactly that size; records it
 *    does not expect (a key, value or header value that is neither a string nor a Buffer, a
 *    timestamp delta beyond 30 bits) go to kafkajs's own encoder.
 * 4. **Reading a record.** kafkajs's record decoder computes each record's timestamp and offset
 *    with 64-bit `Long`s (a BigInt per step, a `Long` per varlong byte) and builds its headers
 *    with an object spread per header (quadratic in the headers). {@link lighterRecordDecoder}
 *    returns the same record, computed with numbers while they are exact (safe integers), and the
 *    headers built in one object; anything else goes to kafkajs's own decoder. This is the path
 *    of every record a scheduler reads: the schedules it loads and its own tombstones.
 *
 * `encoding.test.ts` checks each against kafkajs as installed, byte for byte, call for call and
 * record for record.
 *
 * @module
 */

/** What kafkajs's producer passes to `groupMessagesPerPartition` (see `src/producer/sendMessages.js`). */
export interface GroupArgs<M> {
  readonly topic: string;
  readonly partitionMetadata: readonly unknown[];
  readonly messages: readonly M[];
  readonly partitioner: (args: { topic: string; partitionMetadata: readonly unknown[]; message: M }) => number;
}

/**
 * The messages of one topic by partition, each partition's in input order; the partitioner is
 * called once per message, in input order. What kafkajs's module returns, in linear time.
 */
export function groupMessagesPerPartition<M>({ topic, partitionMetadata, messages, partitioner }: GroupArgs<M>): Record<number, M[]> {
  const result: Record<number, M[]> = {};
  if (partitionMetadata.length === 0) return result;
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message });
    const list = result[partition];
    if (list === undefined) result[partition] = [message];
    else list.push(message);
  }
  return result;
}

/** The parts of kafkajs's `Encoder` (`src/protocol/encoder.js`) the lighter one relies on. */
interface KafkaJsEncoder {
  buf: Buffer;
  offset: number;
  ensureAvailable(length: number): void;
  writeVarLong(value: unknown): this;
}
/** kafkajs's `Encoder` class: `new Encoder(initialSize?)` and its static helpers. */
export interface KafkaJsEncoderClass {
  new (initialSize?: number): KafkaJsEncoder;
  nextPowerOfTwo(value: number): number;
  sizeOfVarLong(value: unknown): number;
}

/** Largest magnitude written without a `Long`: its zigzag form fits in 31 bits, an unsigned varint's 32-bit loop. */
const SMALL = 2 ** 30;

function isSmallInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > -SMALL && value < SMALL;
}

/** Zigzag of a small integer (see {@link SMALL}): 0, -1, 1, -2, … → 0, 1, 2, 3, … */
function zigzag(value: number): number {
  return value >= 0 ? value * 2 : -value * 2 - 1;
}

/** kafkajs's 32-bit zigzag (`Encoder.encodeZigZag`): the same bit operations, so the same bytes for any number. */
function zigzag32(value: number): number {
  return (value << 1) ^ (value >> 31);
}

/** Bytes of the unsigned varint of a zigzagged value, as kafkajs counts them (`Encoder.sizeOfVarInt`). */
function uvarintSize(encoded: number): number {
  let bytes = 1;
  while ((encoded & 0xffffff80) !== 0) {
    bytes += 1;
    encoded >>>= 7;
  }
  return bytes;
}

function writeUVarInt(buf: Buffer, offset: number, value: number): number {
  while ((value & 0xffffff80) !== 0) {
    buf[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[offset++] = value & 0x7f;
  return offset;
}

/**
 * kafkajs's `Encoder` with fewer allocations (see the module comment), as a subclass: every
 * kafkajs module of the copy that requires the encoder gets it, and everything not listed here
 * is kafkajs's own.
 */
export function lighterEncoder(Encoder: KafkaJsEncoderClass): KafkaJsEncoderClass {
  class LighterEncoder extends Encoder {
    constructor(initialSize = 511) {
      // kafkajs's constructor allocates the buffer; 1 byte is the least it takes (on the V8 heap, no ArrayBuffer of its own).
      super(1);
      this.buf = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(initialSize));
    }

    override ensureAvailable(length: number): void {
      if (this.offset + length <= this.buf.length) return;
      const grown = Buffer.allocUnsafe(Encoder.nextPowerOfTwo(this.offset + length));
      this.buf.copy(grown, 0, 0, this.offset);
      this.buf = grown;
    }

    /** LEB128 of an unsigned 32-bit value, written in place (kafkajs: through an array and `Buffer.from`). */
    writeUVarInt(value: number): this {
      this.ensureAvailable(5);
      this.offset = writeUVarInt(this.buf, this.offset, value);
      return this;
    }

    override writeVarLong(value: unknown): this {
      if (!isSmallInteger(value)) return super.writeVarLong(value);
      return this.writeUVarInt(zigzag(value));
    }

    static override sizeOfVarLong(value: unknown): number {
      if (!isSmallInteger(value)) return Encoder.sizeOfVarLong(value);
      return uvarintSize(zigzag(value));
    }
  }
  return LighterEncoder;
}

/** What kafkajs's produce request passes to its record encoder (`src/protocol/recordBatch/record/v0/index.js`). */
export interface RecordArgs {
  readonly offsetDelta?: number;
  readonly timestampDelta?: unknown;
  readonly key?: unknown;
  readonly value?: unknown;
  readonly headers?: Readonly<Record<string, unknown>> | null;
}
/** What a record batch needs of an encoded record: `buf` is a Buffer, `buffer` its bytes. */
export interface EncodedRecord {
  readonly buf: Buffer;
  readonly buffer: Buffer;
}
export type RecordEncoder = (args: RecordArgs) => EncodedRecord;

/** An encoded record of exactly its size (a record batch copies `buffer`; see kafkajs's `writeEncoderArray`). */
class ExactRecord implements EncodedRecord {
  constructor(readonly buf: Buffer) {}
  get buffer(): Buffer {
    return this.buf;
  }
  size(): number {
    return this.buf.length;
  }
}

/** Bytes of a string or Buffer field (varint length + bytes; -1 for null): kafkajs's `sizeOfVarIntBytes`. */
function fieldSize(value: string | Buffer | null, length: number): number {
  return value === null ? 1 : uvarintSize(zigzag32(length)) + length;
}

function writeField(buf: Buffer, offset: number, value: string | Buffer | null, length: number): number {
  if (value === null) return writeUVarInt(buf, offset, zigzag32(-1));
  offset = writeUVarInt(buf, offset, zigzag32(length));
  if (typeof value === 'string') buf.write(value, offset, length, 'utf8');
  else value.copy(buf, offset);
  return offset + length;
}

function isField(value: unknown): value is string | Buffer {
  return typeof value === 'string' || Buffer.isBuffer(value);
}

/**
 * kafkajs's record encoder, writing each record into one buffer of its exact size (see the module
 * comment); what it does not expect goes to `original`, kafkajs's own.
 */
export function lighterRecord(original: RecordEncoder): RecordEncoder {
  return (args) => {
    const { offsetDelta = 0, timestampDelta = 0, headers = {} } = args;
    const key = args.key ?? null;
    const value = args.value ?? null;
    if (
      !Number.isInteger(offsetDelta) ||
      !isSmallInteger(timestampDelta) ||
      (key !== null && !isField(key)) ||
      (value !== null && !isField(value)) ||
      headers === null
    ) {
      return original(args);
    }
    // Header names and values in kafkajs's order: names in key order, an array's values in turn.
    const names: string[] = [];
    const values: (string | Buffer)[] = [];
    for (const name of Object.keys(headers)) {
      const v = headers[name];
      if (Array.isArray(v)) {
        for (const item of v) {
          if (!isField(item)) return original(args);
          names.push(name);
          values.push(item);
        }
      } else {
        if (!isField(v)) return original(args);
        names.push(name);
        values.push(v);
      }
    }
    const keyLength = key === null ? 0 : Buffer.byteLength(key);
    const valueLength = value === null ? 0 : Buffer.byteLength(value);
    const ts = zigzag(timestampDelta);
    let body = 1 + uvarintSize(ts) + uvarintSize(zigzag32(offsetDelta)) + fieldSize(key, keyLength) + fieldSize(value, valueLength);
    body += uvarintSize(zigzag32(names.length));
    const nameLengths = new Array<number>(names.length);
    const valueLengths = new Array<number>(names.length);
    for (let i = 0; i < names.length; i++) {
      nameLengths[i] = Buffer.byteLength(names[i]!);
      valueLengths[i] = Buffer.byteLength(values[i]!);
      body += fieldSize(names[i]!, nameLengths[i]!) + fieldSize(values[i]!, valueLengths[i]!);
    }
    const buf = Buffer.allocUnsafe(uvarintSize(zigzag32(body)) + body);
    let offset = writeUVarInt(buf, 0, zigzag32(body));
    buf[offset++] = 0; // attributes: none used
    offset = writeUVarInt(buf, offset, ts);
    offset = writeUVarInt(buf, offset, zigzag32(offsetDelta));
    offset = writeField(buf, offset, key, keyLength);
    offset = writeField(buf, offset, value, valueLength);
    offset = writeUVarInt(buf, offset, zigzag32(names.length));
    for (let i = 0; i < names.length; i++) {
      offset = writeField(buf, offset, names[i]!, nameLengths[i]!);
      offset = writeField(buf, offset, values[i]!, valueLengths[i]!);
    }
    return new ExactRecord(buf);
  };
}

/** What kafkajs's record decoder reads from (`src/protocol/decoder.js`): the parts used here. */
export interface KafkaJsDecoder {
  readonly buffer: Buffer;
  offset: number;
  readInt8(): number;
  readVarInt(): number;
  readVarIntBytes(): Buffer | null;
}
/** The record batch's context the record decoder is given (`src/protocol/recordBatch/v0/decoder.js`). */
export interface RecordContext {
  readonly firstOffset?: string;
  readonly firstTimestamp?: string;
  readonly magicByte?: number;
  readonly isControlBatch?: boolean;
  readonly timestampType?: number;
  readonly maxTimestamp?: string | undefined;
}
export type RecordDecoder = (decoder: KafkaJsDecoder, batchContext?: RecordContext) => unknown;

/** kafkajs's `TimestampTypes.LOG_APPEND_TIME`. */
const LOG_APPEND_TIME = 1;

/** A decimal string that is a safe integer, as that number; else undefined (kafkajs's BigInt path then). */
function safeInteger(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) && String(n) === text ? n : undefined;
}

/**
 * The zigzag varlong at `decoder.offset` as a number, with where it ends, when it has at most 7
 * bytes (49 bits: exact as a number); else undefined, nothing consumed.
 */
function peekSmallVarLong(buffer: Buffer, offset: number): { value: number; end: number } | undefined {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++) {
    const byte = buffer[offset + i];
    if (byte === undefined) return undefined;
    result += (byte & 0x7f) * scale;
    if (byte < 0x80) return { value: result % 2 === 0 ? result / 2 : -(result + 1) / 2, end: offset + i + 1 };
    scale *= 128;
  }
  return undefined;
}

/**
 * kafkajs's record decoder with numbers instead of 64-bit Longs while they are exact, and the
 * headers built in one object (see the module comment); the record returned is the one kafkajs
 * returns, field for field. Records it cannot compute exactly go to `original`.
 */
export function lighterRecordDecoder(original: RecordDecoder): RecordDecoder {
  return (decoder, batchContext = {}) => {
    const { firstOffset, firstTimestamp, magicByte, isControlBatch = false, timestampType, maxTimestamp } = batchContext;
    const start = decoder.offset;
    const offsetBase = safeInteger(firstOffset);
    const logAppend = timestampType === LOG_APPEND_TIME && Boolean(maxTimestamp);
    const timestampBase = logAppend ? 0 : safeInteger(firstTimestamp);
    const delta = peekSmallVarLong(decoder.buffer, start + 1);
    if (offsetBase === undefined || timestampBase === undefined || delta === undefined) return original(decoder, batchContext);
    const timestampValue = timestampBase + delta.value;
    if (!logAppend && !Number.isSafeInteger(timestampValue)) return original(decoder, batchContext);

    const attributes = decoder.readInt8();
    decoder.offset = delta.end;
    const timestamp = logAppend ? maxTimestamp : String(timestampValue);
    const offsetDelta = decoder.readVarInt();
    const offsetValue = offsetBase + offsetDelta;
    if (!Number.isSafeInteger(offsetValue)) {
      decoder.offset = start;
      return original(decoder, batchContext);
    }
    const key = decoder.readVarIntBytes();
    const value = decoder.readVarIntBytes();
    const headers: Record<string, unknown> = {};
    const count = decoder.readVarInt();
    for (let i = 0; i < count; i++) {
      // kafkajs's header decoder: the name as UTF-8 text (null for length -1), the value as bytes.
      const nameLength = decoder.readVarInt();
      let name: string | null = null;
      if (nameLength !== -1) {
        name = decoder.buffer.toString('utf8', decoder.offset, decoder.offset + nameLength);
        decoder.offset += nameLength;
      }
      const headerValue = decoder.readVarIntBytes();
      // kafkajs's reduce: a repeated name collects its values in an array. Read through the
      // prototype as kafkajs does; written as an own property, as its object spread does.
      const slot = String(name);
      const earlier = headers[slot];
      const next = earlier === undefined ? headerValue : Array.isArray(earlier) ? earlier.concat([headerValue]) : [earlier, headerValue];
      if (slot === '__proto__') Object.defineProperty(headers, slot, { value: next, writable: true, enumerable: true, configurable: true });
      else headers[slot] = next;
    }
    return {
      magicByte,
      attributes,
      timestamp,
      offset: String(offsetValue),
      key,
      value,
      headers,
      isControlRecord: isControlBatch,
      batchContext,
    };
  };
}
