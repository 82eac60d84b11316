/**
 * Record mapping rules every adapter applies the same way to what its client consumed: bytes
 * become plain `Uint8Array`s over the client's memory (no copy), and a header value is its text,
 * its bytes, or empty bytes when the client has none.
 *
 * @module
 */
import type { HeaderValue } from '../ports/transport.js';

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
