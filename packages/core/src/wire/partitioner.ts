/**
 * Kafka's Java-compatible key partitioner (murmur2, seed 0x9747b28c), the one kafkajs's default
 * partitioner and librdkafka's `murmur2_random` use. Every adapter partitions envelopes, cancels
 * and updates with it so that one key lands on one partition whichever client wrote it.
 *
 * @module
 */

import { InvalidArgumentError } from '../errors.js';

const SEED = 0x9747b28c;
const M = 0x5bd1e995;
const encoder = new TextEncoder();

/**
 * Kafka's murmur2 hash of `data` as a signed 32-bit integer.
 *
 * @example
 * ```ts
 * murmur2('21'); // -973932308
 * ```
 */
export function murmur2(data: string | Uint8Array): number {
  const bytes = typeof data === 'string' ? encoder.encode(data) : data;
  const length = bytes.length;
  let h = (SEED ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = (bytes[i]! & 0xff) | ((bytes[i + 1]! & 0xff) << 8) | ((bytes[i + 2]! & 0xff) << 16) | ((bytes[i + 3]! & 0xff) << 24);
    k = Math.imul(k, M);
    k ^= k >>> 24;
    k = Math.imul(k, M);
    h = Math.imul(h, M);
    h ^= k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (bytes[whole + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (bytes[whole + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= bytes[whole]! & 0xff;
    h = Math.imul(h, M);
  }
  h ^= h >>> 13;
  h = Math.imul(h, M);
  h ^= h >>> 15;
  return h | 0;
}

/**
 * The partition Kafka's Java client picks for a key: `(murmur2(key) & 0x7fffffff) % partitions`.
 *
 * @throws InvalidArgumentError (`KSM_INVALID_ARGUMENT`) when `partitions` is not a positive integer.
 */
export function partitionForKey(key: string | Uint8Array, partitions: number): number {
  if (!Number.isInteger(partitions) || partitions < 1) {
    throw new InvalidArgumentError([
      { field: 'partitions', rule: 'positive_integer', message: `must be a positive integer, got ${partitions}` },
    ]);
  }
  return (murmur2(key) & 0x7fffffff) % partitions;
}
