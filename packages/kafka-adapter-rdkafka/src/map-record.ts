/**
 * ksched records ⇄ node-rdkafka messages.
 *
 * Gotcha (node-rdkafka 3.6.x): `Producer.produce` converts every header value to a JS string and
 * copies it up to the first NUL byte (Blizzard/node-rdkafka#1006, fix proposed in #968, not
 * merged), so a header value that is not NUL-free UTF-8 would reach Kafka altered. Such values are
 * rejected here with an `UnsupportedError` instead of being corrupted; UTF-8 bytes are sent as
 * their text, which is byte-for-byte the same on the wire. Consumed headers are binary-safe.
 *
 * @module
 */
import { UnsupportedError } from '@ksched/core';
import type { ConsumedRecord, HeaderValue, RecordHeaders } from '@ksched/core';
import { consumedHeaderValue, plainBytes, sameHeaderValue, withRepeatedHeaders } from '@ksched/core/adapter';
import type { Message, MessageHeader } from 'node-rdkafka';

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A Buffer over the same memory (node-rdkafka wants Buffers; a Buffer is passed through). */
function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Half of a surrogate pair: the text needs a closer look. */
const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * The text node-rdkafka can send for a header value unchanged, or `undefined` when it cannot
 * (bytes that are not UTF-8, or a NUL character).
 */
export function sendableHeaderText(value: HeaderValue): string | undefined {
  let text: string;
  if (typeof value === 'string') {
    if (!SURROGATE.test(value) && !value.includes('\u0000')) return value;
    text = value;
    // Lone surrogates would be replaced by U+FFFD when node-rdkafka encodes the string as UTF-8.
    if (LONE_SURROGATE.test(text)) return undefined;
  } else {
    try {
      text = strictUtf8.decode(value);
    } catch {
      return undefined;
    }
  }
  return text.includes('\u0000') ? undefined : text;
}

/**
 * ksched headers → node-rdkafka headers (a list of one-entry objects, string values).
 *
 * `reuse` (one per batch) remembers the last header object made for each name: a record whose
 * text value equals it gets the same object (node-rdkafka only reads them while producing), so a
 * batch whose records share most header values allocates far fewer objects.
 *
 * @throws UnsupportedError (`KSM_UNSUPPORTED`) for a value node-rdkafka would alter (see the module comment).
 */
export function toRdKafkaHeaders(headers: RecordHeaders | undefined, reuse?: Map<string, MessageHeader>): MessageHeader[] | undefined {
  if (headers === undefined) return undefined;
  const names = Object.keys(headers);
  if (names.length === 0) return undefined;
  const out: MessageHeader[] = [];
  for (const name of names) {
    const value = headers[name]!;
    if (reuse !== undefined && typeof value === 'string') {
      const last = reuse.get(name);
      // Only sendable text is remembered, so an equal value is sendable too.
      if (last !== undefined && last[name] === value) {
        out.push(last);
        continue;
      }
    }
    const text = sendableHeaderText(value);
    if (text === undefined) {
      throw new UnsupportedError(
        `header "${name}" has a value that is not NUL-free UTF-8; node-rdkafka 3.6 cannot produce it unchanged ` +
          '(Blizzard/node-rdkafka#1006): use the kafkajs adapter for binary header values',
      );
    }
    const header = { [name]: text };
    if (reuse !== undefined && typeof value === 'string') reuse.set(name, header);
    out.push(header);
  }
  return out;
}

/**
 * An empty key or value. node-rdkafka passes a Buffer's data pointer to librdkafka, which writes
 * a NULL pointer as a *null* key or value, and a zero-length Buffer of its own has a NULL data
 * pointer: an empty value would become a tombstone. A zero-length view into a one-byte buffer has
 * a real pointer, so it is written as empty bytes.
 */
const EMPTY = Buffer.alloc(1).subarray(0, 0);

/**
 * A key or value as node-rdkafka takes it: bytes (strings are UTF-8 encoded here, because
 * node-rdkafka copies string keys only up to the first NUL), or `null` (a null key, a tombstone).
 * Empty bytes stay empty, not null (see `EMPTY`).
 */
export function toRdKafkaBytes(value: string | Uint8Array | null | undefined): Buffer | null {
  if (value === null || value === undefined) return null;
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : asBuffer(value);
  return bytes.length === 0 ? EMPTY : bytes;
}

/**
 * Consumed node-rdkafka headers → ksched headers. Values stay bytes (plain `Uint8Array`s over
 * node-rdkafka's Buffers, which each message owns: no copy); when a name occurs more than once, the
 * last value wins (see {@link fromRdKafkaMessage} for the names repeated with different values).
 */
export function fromRdKafkaHeaders(headers: readonly MessageHeader[] | undefined): RecordHeaders {
  const out: Record<string, HeaderValue> = {};
  if (headers !== undefined) mapHeaders(headers, out);
  return out;
}

/**
 * Fills `out` from node-rdkafka's header list (one object per header, in record order; the last
 * value of a name wins). Returns whether a name came back, which is all this loop, run for every
 * consumed record, checks; {@link differingNames} then works out which names differ.
 */
function mapHeaders(headers: readonly MessageHeader[], out: Record<string, HeaderValue>): boolean {
  let repeats = false;
  // Indexed loops and `for…in` (node-rdkafka's header objects are plain): this runs for every consumed record.
  for (let i = 0; i < headers.length; i++) {
    const header = headers[i]!;
    for (const name in header) {
      // `out` inherits from Object.prototype: `hasOwn` tells a repeat from e.g. `toString`.
      if (out[name] !== undefined && Object.hasOwn(out, name)) repeats = true;
      out[name] = consumedHeaderValue(header[name]);
    }
  }
  return repeats;
}

/** The names of `headers` given more than once with different values, each once. */
function differingNames(headers: readonly MessageHeader[]): string[] | undefined {
  const first = new Map<string, string | Uint8Array | undefined>();
  const names = new Set<string>();
  for (const header of headers) {
    for (const name in header) {
      const value = header[name];
      if (!first.has(name)) first.set(name, value);
      else if (!sameHeaderValue(first.get(name), value)) names.add(name);
    }
  }
  return names.size === 0 ? undefined : [...names];
}

/**
 * A consumed node-rdkafka message → a ksched record. A header name given more than once keeps its
 * last value; when its values differ, the record's `repeatedHeaders` names it.
 */
export function fromRdKafkaMessage(message: Message): ConsumedRecord {
  const key = message.key;
  const list = message.headers;
  const headers: Record<string, HeaderValue> = {};
  const repeats = list !== undefined && mapHeaders(list, headers);
  const record: ConsumedRecord = {
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
    key: key === null || key === undefined ? null : typeof key === 'string' ? new TextEncoder().encode(key) : plainBytes(key),
    value: message.value === null || message.value === undefined ? null : plainBytes(message.value),
    headers,
    timestamp: typeof message.timestamp === 'number' ? message.timestamp : -1,
  };
  return repeats ? withRepeatedHeaders(record, differingNames(list)) : record;
}
