/**
 * Record mapping rules every adapter applies the same way to what its client consumed: bytes
 * become plain `Uint8Array`s over the client's memory (no copy), and a header value is its text,
 * its bytes, or empty bytes when the client has none.
 *
 * @module
 */
import type { ConsumedRecord, HeaderValue } from '../ports/transport.js';

/**
 * `bytes` as a plain `Uint8Array` over the same memory (no copy): a client's Buffer is not handed
 * out as such (`Buffer.isBuffer` is false, `slice` copies as for any `Uint8Array`).
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** A consumed header value: text stays text, bytes become {@link plainBytes}, none (`null`) empty bytes. */
export function consumedHeaderValue(value: string | Uint8Array | null | undefined): HeaderValue {
  if (typeof value === 'string') return value;
  return value === null || value === undefined ? new Uint8Array(0) : plainBytes(value);
}

/**
 * Whether two consumed header values (as a client gives them) are the same bytes: text compares
 * as its UTF-8 bytes, and no value (`null`) as empty bytes, as {@link consumedHeaderValue} maps
 * them. Adapters use it to fill `ConsumedRecord.repeatedHeaders` (names given more than once with
 * different values); it only runs for a name that repeats.
 */
export function sameHeaderValue(a: string | Uint8Array | null | undefined, b: string | Uint8Array | null | undefined): boolean {
  if (a === b) return true;
  const x = headerBytes(a);
  const y = headerBytes(b);
  if (x.byteLength !== y.byteLength) return false;
  for (let i = 0; i < x.byteLength; i++) if (x[i] !== y[i]) return false;
  return true;
}

const encoder = new TextEncoder();
const NO_BYTES = new Uint8Array(0);

function headerBytes(value: string | Uint8Array | null | undefined): Uint8Array {
  if (typeof value === 'string') return encoder.encode(value);
  return value ?? NO_BYTES;
}

/**
 * `record`, with `repeatedHeaders` when `repeated` (the header names a client gave more than once
 * with different values) is set: the same object otherwise, so a record without repeats keeps one
 * shape and costs nothing more.
 */
export function withRepeatedHeaders(record: ConsumedRecord, repeated: readonly string[] | undefined): ConsumedRecord {
  return repeated === undefined ? record : { ...record, repeatedHeaders: repeated };
}
