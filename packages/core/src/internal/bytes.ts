const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8');

/** UTF-8 bytes of a string; bytes pass through. */
export function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? encoder.encode(value) : value;
}

/** Text of a header or key value (UTF-8, invalid sequences replaced). */
export function toText(value: string | Uint8Array): string {
  return typeof value === 'string' ? value : decoder.decode(value);
}
