const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/** UTF-8 bytes of a string; bytes pass through. */
export function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/** Values up to this length are decoded by hand when they are ASCII (cheaper than a TextDecoder call). */
const SHORT_TEXT = 64;

/**
 * Text of a header or key value (UTF-8, invalid sequences replaced). Short ASCII values (every
 * header of the wire format: types, versions, epochs, topic names) skip the TextDecoder call,
 * which dominated decoding a schedules record.
 */
export function toText(value: string | Uint8Array): string {
  if (typeof value === 'string') return value;
  const n = value.length;
  if (n > SHORT_TEXT) return decoder.decode(value);
  for (let i = 0; i < n; i++) if (value[i]! > 0x7f) return decoder.decode(value);
  // One call, so V8 makes one flat string: appending a character at a time leaves a rope that
  // costs several times the memory when the string is kept (keys of buffered schedules are).
  return String.fromCharCode.apply(null, value as unknown as number[]);
}
