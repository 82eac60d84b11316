/**
 * ksched records ⇄ kafkajs messages.
 *
 * @module
 */
import type { ConsumedRecord, HeaderValue, ProduceRecord, RecordHeaders } from '@ksched/core';
import { consumedHeaderValue, plainBytes, sameHeaderValue, withRepeatedHeaders } from '@ksched/core/adapter';
import type { IHeaders, KafkaMessage, Message } from 'kafkajs';

/*
 * kafkajs bytes become plain `Uint8Array`s over the same memory (the kit's `plainBytes`, no copy).
 * kafkajs hands out Buffer views into the whole fetch response and never reuses it; a view keeps
 * that response alive for as long as it is kept, so long-lived holders copy (the engine packs what
 * it buffers into its own compact form). Copying here cost about 1 µs per record on a reload, plus
 * the garbage.
 */

/** A Buffer over the same memory (kafkajs wants Buffers; a Buffer is passed through). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Consumed kafkajs headers → ksched headers. Values stay bytes (the engine decodes what it needs).
 * A name given more than once arrives from kafkajs as an array: the last value wins (see
 * {@link fromKafkaMessage} for the names repeated with different values). A header with a null
 * value becomes empty bytes.
 */
export function fromKafkaHeaders(headers: IHeaders | undefined): RecordHeaders {
  const out: Record<string, HeaderValue> = {};
  mapHeaders(headers, out);
  return out;
}

/**
 * Fills `out` from kafkajs's headers (the last value of an array wins) and returns the names whose
 * array holds different values, or `undefined` (nothing allocated) when none does.
 */
function mapHeaders(headers: IHeaders | undefined, out: Record<string, HeaderValue>): string[] | undefined {
  if (headers === undefined) return undefined;
  let repeated: string[] | undefined;
  // for-in over kafkajs's plain object: no entries array per record (a reload maps millions).
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const value = headers[name];
    if (Array.isArray(value)) {
      if (differentValues(value)) (repeated ??= []).push(name);
      out[name] = consumedHeaderValue(value[value.length - 1]);
    } else out[name] = consumedHeaderValue(value);
  }
  return repeated;
}

/**
 * Whether the values kafkajs gathered in an array for a header name the record repeats differ
 * (kafkajs 2.2.4 makes the array only then, in record order).
 */
function differentValues(values: readonly (Buffer | string | null | undefined)[]): boolean {
  const last = values[values.length - 1];
  for (let i = 0; i < values.length - 1; i++) if (!sameHeaderValue(values[i], last)) return true;
  return false;
}

/**
 * ksched headers → kafkajs headers (strings stay strings, bytes become Buffer views). Headers whose
 * values are all strings or Buffers already (a dispatched schedule's usually are) are passed as
 * they are: kafkajs only reads them.
 */
export function toKafkaHeaders(headers: RecordHeaders | undefined): IHeaders | undefined {
  if (headers === undefined) return undefined;
  let ready = true;
  for (const name in headers) {
    const value = headers[name]!;
    if (typeof value !== 'string' && !Buffer.isBuffer(value)) {
      ready = false;
      break;
    }
  }
  if (ready) return headers as IHeaders;
  const out: IHeaders = {};
  // for-in, not Object.entries: no pair arrays for each record produced.
  for (const name in headers) {
    if (!Object.hasOwn(headers, name)) continue;
    const value = headers[name]!;
    out[name] = typeof value === 'string' ? value : asBuffer(value);
  }
  return out;
}

function toKafkaBytes(value: string | Uint8Array | null): Buffer | string | null {
  if (value === null) return null;
  return typeof value === 'string' ? value : asBuffer(value);
}

/**
 * A kafkajs message for `record`. `partition` is the partition already chosen for it (explicit,
 * or by the adapter's partitioner), if any; `timestamp` is CreateTime, epoch ms.
 */
export function toKafkaMessage(record: ProduceRecord, partition?: number): Message {
  const headers = toKafkaHeaders(record.headers);
  // Built by assignment, not spreads: this runs for every record produced.
  const message: Message = { key: toKafkaBytes(record.key ?? null), value: toKafkaBytes(record.value ?? null) };
  if (headers !== undefined) message.headers = headers;
  if (partition !== undefined) message.partition = partition;
  if (record.timestamp !== undefined) message.timestamp = String(Math.trunc(record.timestamp));
  return message;
}

/**
 * A consumed kafkajs message → a ksched record of `topic`/`partition`. A header name given more
 * than once keeps its last value; when its values differ, the record's `repeatedHeaders` names it.
 */
export function fromKafkaMessage(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  const headers: Record<string, HeaderValue> = {};
  // The record holds `headers` before mapHeaders fills it: same object.
  return withRepeatedHeaders(
    {
      topic,
      partition,
      offset: Number(message.offset),
      key: message.key === null || message.key === undefined ? null : plainBytes(message.key),
      value: message.value === null || message.value === undefined ? null : plainBytes(message.value),
      headers,
      timestamp: Number(message.timestamp),
    },
    mapHeaders(message.headers, headers),
  );
}

/**
 * Bytes the adapter's own consumer just decoded, re-labelled as a plain `Uint8Array`: the same
 * object, given `Uint8Array`'s prototype (so `slice` copies, as for any `Uint8Array`, and
 * `Buffer.isBuffer` is false), instead of a new view. kafkajs decodes each key, value and header
 * value into a Buffer of its own and never touches it again once the batch is handed out; the
 * re-label costs about half of a new view, which matters when a reader maps millions of records.
 */
function relabel(bytes: Buffer | Uint8Array): Uint8Array {
  return Object.setPrototypeOf(bytes, Uint8Array.prototype) as Uint8Array;
}

/**
 * {@link fromKafkaMessage} for messages of a fetch the adapter's own consumer made (not exported
 * from the package): the same record, but kafkajs's Buffers become its bytes by re-labelling
 * them, which mutates `message`. Used by the partition reader and by the group member's batches.
 */
export function fromFetchedMessage(topic: string, partition: number, message: KafkaMessage): ConsumedRecord {
  const headers: Record<string, HeaderValue> = {};
  let repeated: string[] | undefined;
  const source = message.headers;
  if (source !== undefined) {
    for (const name in source) {
      if (!Object.hasOwn(source, name)) continue;
      const value = source[name];
      let last: Buffer | string | null | undefined;
      if (Array.isArray(value)) {
        if (differentValues(value)) (repeated ??= []).push(name);
        last = value[value.length - 1];
      } else last = value;
      headers[name] = last === undefined || last === null ? new Uint8Array(0) : typeof last === 'string' ? last : relabel(last);
    }
  }
  return withRepeatedHeaders(
    {
      topic,
      partition,
      offset: Number(message.offset),
      key: message.key === null || message.key === undefined ? null : relabel(message.key),
      value: message.value === null || message.value === undefined ? null : relabel(message.value),
      headers,
      timestamp: Number(message.timestamp),
    },
    repeated,
  );
}
