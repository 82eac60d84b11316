import { Header } from '../../contracts/headers.js';
import { toText } from '../../internal/bytes.js';
import type { ConsumedRecord, HeaderValue } from '../../ports/transport.js';
import type { TargetRouting } from './decode.js';

const strict = new TextDecoder('utf-8', { fatal: true });
/** `bytes` as text when they are valid UTF-8 (so they re-encode to the same bytes), else undefined. */
export function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

// ---- packed schedules -------------------------------------------------------------------------
//
// A buffered schedule is kept as ONE string of bytes (one char per byte, code 0–255, which V8
// stores as a one-byte string: 1 byte per byte plus a small fixed header), instead of a record
// object with a byte buffer per value and header. Layout, integers as unsigned LEB128 varints:
//
//   flags (1 = raw key bytes follow,   timestamp (8 bytes, float64 LE)
//          2 = target partition follows)
//   [target partition]                 [raw key: length, bytes]
//   value: 0 = null | length + 1, bytes
//   header count                       per header: name (index + 1 in the name table, or 0 then
//                                      2 × length, UTF-8 bytes), value (2 × length + 1 if it was
//                                      a string or ASCII bytes, else 2 × length; then its bytes)
//
// Header values keep their exact bytes: strings are stored as their UTF-8 encoding and come back
// as strings, and so do byte values that are all ASCII (the usual header: every one of ksched's
// own), whose text is the same bytes on the wire; other bytes come back as bytes. So the record
// unpacked at dispatch time produces the same bytes as the one consumed.
//
// The packed form also carries the schedule's decoded routing, so dispatch never decodes the
// envelope again: ksched's own header names are the first entries of the name table, at fixed
// indexes, so the target topic, key and partition key are the values of the headers whose name
// index is that of `schedule_target_topic`, `schedule_target_key` and
// `schedule_target_partition_key` (no byte spent); the target partition, decoded, follows the flags
// (one byte for partitions below 128, and only for schedules that name one).

const MAX_NAMES = 4096;
/** ksched's header names, always at these indexes of the name table (see the layout above). */
const OWN_NAMES: readonly string[] = Object.values(Header);
const names: string[] = [...OWN_NAMES];
const nameIndex = new Map<string, number>(names.map((name, i) => [name, i]));
const TOPIC_ID = OWN_NAMES.indexOf(Header.targetTopic) + 1;
const KEY_ID = OWN_NAMES.indexOf(Header.targetKey) + 1;
const PARTITION_KEY_ID = OWN_NAMES.indexOf(Header.targetPartitionKey) + 1;
const RAW_KEY = 1;
const TARGET_PARTITION = 2;
const utf8Encoder = new TextEncoder();
const lenient = new TextDecoder('utf-8');

function nameId(name: string): number {
  const known = nameIndex.get(name);
  if (known !== undefined) return known;
  if (names.length >= MAX_NAMES) return -1;
  names.push(name);
  nameIndex.set(name, names.length - 1);
  return names.length - 1;
}

class ByteWriter {
  bytes: Uint8Array;
  length = 0;
  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }
  #room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(this.bytes.length * 2, this.length + n));
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }
  byte(b: number): void {
    this.#room(1);
    this.bytes[this.length++] = b;
  }
  varint(n: number): void {
    this.#room(8);
    while (n >= 0x80) {
      this.bytes[this.length++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.bytes[this.length++] = n;
  }
  raw(b: Uint8Array): void {
    this.#room(b.length);
    this.bytes.set(b, this.length);
    this.length += b.length;
  }
  chunk(b: Uint8Array): void {
    this.varint(b.length);
    this.raw(b);
  }
  float64(n: number): void {
    this.#room(8);
    float[0] = n;
    this.bytes.set(floatBytes, this.length);
    this.length += 8;
  }
  /** A string as its UTF-8 bytes, length first (times 2, plus `tag`). */
  text(value: string, tag = 0): void {
    // At most 3 bytes per UTF-16 unit; the length prefix is written once the size is known.
    this.#room(value.length * 3 + 8);
    const start = this.length + 5;
    const { written } = utf8Encoder.encodeInto(value, this.bytes.subarray(start));
    const lengthAt = this.length;
    this.varint(written * 2 + tag);
    const prefix = this.length - lengthAt;
    if (prefix !== 5) this.bytes.copyWithin(this.length, start, start + written);
    this.length += written;
  }
  reset(): void {
    this.length = 0;
  }
}

const float = new Float64Array(1);
const floatBytes = new Uint8Array(float.buffer);
const scratch = new ByteWriter(4096);

const CHUNK = 8192;

/** Whether every byte of `bytes` is below 0x80 (so its text is its bytes, one char each). */
function isAscii(bytes: Uint8Array): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i]! > 0x7f) return false;
  return true;
}

/** Bytes → a string with one char (code 0–255) per byte. */
function latin1(bytes: Uint8Array): string {
  if (bytes.length <= CHUNK) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let out = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK) as unknown as number[]);
  }
  return out;
}

/** A buffered schedule unpacked for dispatch: the record as consumed and its decoded routing. */
export interface UnpackedSchedule {
  readonly record: ConsumedRecord;
  readonly target: TargetRouting;
  /**
   * The key as text when its bytes are that text's UTF-8 encoding (always, unless the key was
   * packed as raw bytes), else undefined: {@link dispatchPair} can send it instead of the bytes.
   */
  readonly keyText: string | undefined;
}

/**
 * `record` (its timestamp, value and headers, and its key's bytes when `keepKeyBytes`) with its
 * decoded routing, as one packed string; see the layout above. The topic, partition, offset and
 * key text are not stored: the buffer entry has them.
 *
 * @param target - the routing {@link decodeRecord} read from `record`'s headers (its topic, key
 *   and partition key are those headers' values; only the partition is stored apart).
 */
export function packSchedule(
  record: Pick<ConsumedRecord, 'key' | 'value' | 'headers' | 'timestamp'>,
  target: Pick<TargetRouting, 'partition'>,
  keepKeyBytes: boolean,
): string {
  const w = scratch;
  w.reset();
  const rawKey = keepKeyBytes && record.key !== null;
  const partition = target.partition;
  w.byte((rawKey ? RAW_KEY : 0) | (partition !== undefined ? TARGET_PARTITION : 0));
  w.float64(record.timestamp);
  if (partition !== undefined) w.varint(partition);
  if (rawKey) w.chunk(record.key!);
  if (record.value === null) w.byte(0);
  else {
    w.varint(record.value.length + 1);
    w.raw(record.value);
  }
  const headerNames = Object.keys(record.headers);
  w.varint(headerNames.length);
  for (const name of headerNames) {
    const id = nameId(name);
    if (id >= 0) w.varint(id + 1);
    else {
      w.byte(0);
      w.text(name);
    }
    const value = record.headers[name]!;
    if (typeof value === 'string') w.text(value, 1);
    else {
      // ASCII bytes come back as their text: the same bytes on the wire, and no byte array (nor
      // a client's buffer view of it) for each dispatched copy of the header.
      w.varint(value.length * 2 + (isAscii(value) ? 1 : 0));
      w.raw(value);
    }
  }
  return latin1(w.bytes.subarray(0, w.length));
}

/**
 * The record {@link packSchedule} packed, with its topic, partition, offset and key text, and the
 * routing packed with it (read, not decoded: see the layout above).
 */
export function unpackSchedule(packed: string, where: { topic: string; partition: number; offset: number; key: string }): UnpackedSchedule {
  // Read straight from the string (one char per byte): no copy of the whole, a substring for each
  // ASCII text value (the usual header) and bytes only for what must be bytes. This runs once per
  // dispatched schedule.
  at = 0;
  const flags = packed.charCodeAt(at++);
  for (let i = 0; i < 8; i++) floatBytes[i] = packed.charCodeAt(at + i);
  const timestamp = float[0]!;
  at += 8;
  const partition = (flags & TARGET_PARTITION) !== 0 ? readVarint(packed) : undefined;
  let key: Uint8Array;
  let keyText: string | undefined;
  if ((flags & RAW_KEY) !== 0) {
    const length = readVarint(packed);
    key = bytesOf(packed, at, at + length);
    at += length;
  } else {
    key = textBytes(where.key);
    keyText = where.key;
  }
  const valueLength = readVarint(packed);
  const value = valueLength === 0 ? null : bytesOf(packed, at, at + valueLength - 1);
  if (valueLength > 0) at += valueLength - 1;
  const count = readVarint(packed);
  const headers: Record<string, HeaderValue> = {};
  let topic: HeaderValue = '';
  let targetKey: HeaderValue | undefined;
  let partitionKey: HeaderValue | undefined;
  for (let i = 0; i < count; i++) {
    const id = readVarint(packed);
    let name: string;
    if (id > 0) name = names[id - 1]!;
    else {
      const length = readVarint(packed) / 2;
      name = lenient.decode(bytesOf(packed, at, at + length));
      at += length;
    }
    const tagged = readVarint(packed);
    const length = Math.floor(tagged / 2);
    const headerValue = tagged % 2 === 1 ? textOf(packed, at, at + length) : bytesOf(packed, at, at + length);
    at += length;
    headers[name] = headerValue;
    if (id === TOPIC_ID) topic = headerValue;
    else if (id === KEY_ID) targetKey = headerValue;
    else if (id === PARTITION_KEY_ID) partitionKey = headerValue;
  }
  // Built by assignment in decodeRecord's order, so both routings have the same shape.
  const target: { topic: string; partition?: number; key?: string; partitionKey?: string } = { topic: toText(topic) };
  if (partition !== undefined) target.partition = partition;
  if (targetKey !== undefined) target.key = toText(targetKey);
  if (partitionKey !== undefined) target.partitionKey = toText(partitionKey);
  return {
    record: { topic: where.topic, partition: where.partition, offset: where.offset, key, value, headers, timestamp },
    target,
    keyText,
  };
}

/** Where {@link unpackSchedule} is reading (one unpack at a time: it never yields). */
let at = 0;

/** The unsigned LEB128 varint of `packed` at {@link at}, which moves past it. */
function readVarint(packed: string): number {
  let n = 0;
  let scale = 1;
  for (;;) {
    const b = packed.charCodeAt(at++);
    n += (b & 0x7f) * scale;
    if (b < 0x80) return n;
    scale *= 128;
  }
}

/**
 * Small byte arrays are cut from a shared slab, as Node cuts small Buffers from its pool: a typed
 * array of its own with more than a few dozen bytes gets a separate backing store, which costs far
 * more to allocate and to collect than a view. A view keeps its slab alive while it is referenced;
 * unpacked records live for one dispatch.
 */
const SLAB_BYTES = 64 * 1024;
const SLAB_MAX = 4 * 1024;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

function allocBytes(n: number): Uint8Array {
  if (n > SLAB_MAX) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const out = slab.subarray(slabUsed, slabUsed + n);
  // Views start 8-byte aligned, as Node's pool does.
  slabUsed = (slabUsed + n + 7) & ~7;
  return out;
}

/** The bytes `packed[start, end)` stands for (one char per byte), copied into an array of their own (see {@link allocBytes}). */
function bytesOf(packed: string, start: number, end: number): Uint8Array {
  const out = allocBytes(end - start);
  for (let i = start; i < end; i++) out[i - start] = packed.charCodeAt(i);
  return out;
}

/** The text whose UTF-8 bytes are `packed[start, end)`: ASCII is the substring itself, anything else is decoded. */
function textOf(packed: string, start: number, end: number): string {
  for (let i = start; i < end; i++) if (packed.charCodeAt(i) > 0x7f) return lenient.decode(bytesOf(packed, start, end));
  return packed.slice(start, end);
}

/** `text` as UTF-8 bytes (ASCII filled in place, anything else encoded). */
function textBytes(text: string): Uint8Array {
  const out = allocBytes(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return utf8Encoder.encode(text);
    out[i] = c;
  }
  return out;
}
