import type { HeaderValue, RecordHeaders } from '../ports/transport.js';

const strict = new TextDecoder('utf-8', { fatal: true });
const MAX_INTERNED = 4096;
const interned = new Map<string, string>();

/**
 * The same string instance for equal strings (header names, topic names), so a buffer of a day
 * of schedules holds each distinct name once. Bounded: past the limit strings are kept as given.
 */
export function intern(value: string): string {
  const known = interned.get(value);
  if (known !== undefined) return known;
  if (interned.size < MAX_INTERNED) interned.set(value, value);
  return value;
}

/** `bytes` as text when they are valid UTF-8 (so they re-encode to the same bytes), else undefined. */
export function utf8(bytes: Uint8Array): string | undefined {
  try {
    return strict.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Header names and values whose text is shared across records (interned). */
const SHARED_VALUES: ReadonlySet<string> = new Set(['schedule_schema_version', 'schedule_source_type', 'schedule_target_topic']);

/**
 * Headers in the form the engine keeps for a buffered schedule: every value that is valid UTF-8
 * as a string (a JavaScript string costs a fraction of a byte buffer's object overhead, and
 * re-encodes to the same bytes when dispatched), other values as the bytes they are; names and
 * recurring values interned.
 */
export function compactHeaders(headers: RecordHeaders): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {};
  for (const name of Object.keys(headers)) {
    const value = headers[name]!;
    let compact: HeaderValue = typeof value === 'string' ? value : (utf8(value) ?? value);
    if (typeof compact === 'string' && SHARED_VALUES.has(name)) compact = intern(compact);
    out[intern(name)] = compact;
  }
  return out;
}
