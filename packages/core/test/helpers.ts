import type { ConsumedRecord, HeaderValue, RecordHeaders } from '@ksched/core';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 bytes of a string. */
export function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Text of a key, value or header value; `null` and `undefined` pass through. */
export function text(value: HeaderValue | null | undefined): string | null | undefined {
  if (value === null || value === undefined) return value;
  return typeof value === 'string' ? value : decoder.decode(value);
}

/** Headers with every value as text, in the same order. */
export function headersText(headers: RecordHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) out[name] = text(value) as string;
  return out;
}

/** A clock stuck at `ms`. */
export function fixedClock(ms: number): { now(): number } {
  return { now: () => ms };
}

/** A consumed schedules-topic record; strings become bytes like a transport delivers them. */
export function consumed(fields: {
  topic?: string;
  partition?: number;
  offset?: number;
  key?: string | null;
  value?: string | null;
  headers?: Record<string, HeaderValue>;
  timestamp?: number;
}): ConsumedRecord {
  return {
    topic: fields.topic ?? 'scheduled_messages',
    partition: fields.partition ?? 0,
    offset: fields.offset ?? 0,
    key: fields.key === undefined ? bytes('k') : fields.key === null ? null : bytes(fields.key),
    value: fields.value === undefined || fields.value === null ? null : bytes(fields.value),
    headers: fields.headers ?? {},
    timestamp: fields.timestamp ?? 0,
  };
}
