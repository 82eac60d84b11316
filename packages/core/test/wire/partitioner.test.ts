import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { InvalidArgumentError, murmur2, partitionForKey } from '@ksched/core';
import { bytes } from '../helpers.js';

// The wire vectors (vectors.test.ts) pin the values; these pin the edges.
describe('murmur2 / partitionForKey', () => {
  it('hashes the empty key and every tail length (0–3 leftover bytes)', () => {
    // Kafka Java: Utils.murmur2(new byte[0]) = 275646681.
    expect(murmur2('')).toBe(275646681);
    const seen = new Set(['a', 'ab', 'abc', 'abcd', 'abcde'].map((k) => murmur2(k)));
    expect(seen.size).toBe(5);
  });

  it('hashes the UTF-8 bytes of a string', () => {
    for (const key of ['é', 'ключ', '🙂', 'orders-42']) expect(murmur2(key)).toBe(murmur2(bytes(key)));
  });

  it('is a signed 32-bit integer and partitions stay in range', () => {
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: 1, max: 1000 }), (key, partitions) => {
        const h = murmur2(key);
        expect(Number.isInteger(h) && h >= -(2 ** 31) && h < 2 ** 31).toBe(true);
        const p = partitionForKey(key, partitions);
        expect(p).toBe((h & 0x7fffffff) % partitions);
        expect(p >= 0 && p < partitions).toBe(true);
      }),
    );
  });

  it.each([0, -1, 1.5, Number.NaN])('rejects %d partitions with InvalidArgumentError', (partitions) => {
    expect(() => partitionForKey('k', partitions)).toThrow(InvalidArgumentError);
  });
});
