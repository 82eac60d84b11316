import type { HeaderValue, ProduceRecord } from '@ksched/core';

const encoder = new TextEncoder();

/**
 * A produce record as the bytes a transport sends (topic, partition, partition key, key, value,
 * then each header name and value in order; strings as UTF-8), as hex text, for byte-for-byte
 * comparisons of records.
 */
export function wireBytes(record: ProduceRecord): string {
  const hex = (value: HeaderValue | null | undefined): string =>
    value === null || value === undefined ? '-' : Buffer.from(typeof value === 'string' ? encoder.encode(value) : value).toString('hex');
  const parts = [hex(record.topic), String(record.partition ?? '-'), hex(record.partitionKey), hex(record.key), hex(record.value)];
  for (const [name, value] of Object.entries(record.headers ?? {})) parts.push(`${hex(name)}=${hex(value)}`);
  return parts.join(' ');
}
