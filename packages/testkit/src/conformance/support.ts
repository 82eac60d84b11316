/**
 * Small helpers of the conformance suite: real-time sleep, byte and text views, partition keys and
 * the wire-v1 partitioner vectors.
 *
 * @module
 */
import { SchedulerError } from '@ksched/core';
import type { HeaderValue, TopicPartition } from '@ksched/core';

// Real timers captured at load time: the suite waits in real time even if a test file fakes timers.
export const realSetTimeout = globalThis.setTimeout;
const encoder = new TextEncoder();

/** Wire vectors (`wire-v1.json`, "partitioner"): Java-compatible murmur2 partitioning. */
export const PARTITIONER_VECTORS: readonly { readonly key: string; readonly partitions: number; readonly partition: number }[] = [
  { key: '21', partitions: 5, partition: 0 },
  { key: '21', partitions: 12, partition: 0 },
  { key: 'foobar', partitions: 5, partition: 1 },
  { key: 'foobar', partitions: 12, partition: 6 },
  { key: 'abc', partitions: 5, partition: 2 },
  { key: 'abc', partitions: 12, partition: 3 },
  { key: 'order-42-reminder', partitions: 5, partition: 0 },
  { key: 'order-42-reminder', partitions: 12, partition: 0 },
  { key: 'customer-9', partitions: 5, partition: 0 },
  { key: 'customer-9', partitions: 12, partition: 11 },
  { key: '3', partitions: 5, partition: 3 },
  { key: '3', partitions: 12, partition: 11 },
  { key: 'orders-5b1c0f9e-2f5e-4c51-9d55-0f6f1a8c3b7e', partitions: 5, partition: 1 },
  { key: 'orders-5b1c0f9e-2f5e-4c51-9d55-0f6f1a8c3b7e', partitions: 12, partition: 9 },
];

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

export function bytes(value: HeaderValue | null | undefined): number[] | null | undefined {
  if (value === null || value === undefined) return value;
  return Array.from(typeof value === 'string' ? encoder.encode(value) : value);
}

export function text(value: Uint8Array | null): string | null {
  return value === null ? null : new TextDecoder().decode(value);
}

export function key(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}

export function isUnsupported(error: unknown): boolean {
  return SchedulerError.isInstance(error) && error.code === 'KSM_UNSUPPORTED';
}
