/**
 * Conformance cases about producing: visibility, the record round trip, partitioning and produceNoWait.
 *
 * @module
 */
import { expect } from 'vitest';
import { partitionForKey } from '@ksched/core';
import type { ConformanceContext } from '../context.js';
import { PARTITIONER_VECTORS, bytes } from '../support.js';

/** Produce visibility, the record round trip, partitioning like the Java client, and produceNoWait. */
export function describeProducing(ctx: ConformanceContext): void {
  const { waitUntil, topic, transport, consume, expectNoViolations, test, waitForEof } = ctx;
  test('produce resolves only once its records are readable (fetchWatermarks shows them at once)', async () => {
    const t2 = await topic('visible', 2);
    const t = await transport();
    for (let i = 0; i < 6; i++) {
      const [meta] = await t.produce([{ topic: t2, partition: i % 2, key: `k${i}`, value: `v${i}` }]);
      expect(meta).toBeDefined();
      expect(meta!.partition).toBe(i % 2);
      const wm = await t.fetchWatermarks({ topic: t2, partition: i % 2 });
      expect(wm.high).toBeGreaterThan(meta!.offset);
    }
  });

  test('round-trips string and binary headers, null keys, null values, byte keys and timestamps', async () => {
    const t1 = await topic('roundtrip', 1);
    const t = await transport();
    const binary = new Uint8Array([0, 1, 127, 128, 254, 255]);
    const timestamp = 1_767_225_600_123;
    await t.produce([
      { topic: t1, partition: 0, key: null, value: null, headers: { text: 'héllo wörld ✓', binary } },
      { topic: t1, partition: 0, key: 'k', value: new Uint8Array([0, 255, 10]), timestamp },
      { topic: t1, partition: 0, key: new Uint8Array([1, 2, 3]), value: 'v', headers: {} },
    ]);
    const { collector } = await consume(t1);
    const tp = { topic: t1, partition: 0 };
    await waitUntil(() => collector.records(tp).length >= 3, '3 records');
    const [r0, r1, r2] = collector.records(tp);
    expect(r0!.key).toBeNull();
    expect(r0!.value).toBeNull();
    expect(bytes(r0!.headers['text'])).toEqual(bytes('héllo wörld ✓'));
    expect(bytes(r0!.headers['binary'])).toEqual(Array.from(binary));
    expect(bytes(r1!.key)).toEqual(bytes('k'));
    expect(bytes(r1!.value)).toEqual([0, 255, 10]);
    expect(r1!.timestamp).toBe(timestamp);
    expect(bytes(r2!.key)).toEqual([1, 2, 3]);
    expect(bytes(r2!.value)).toEqual(bytes('v'));
    expect(Object.keys(r2!.headers)).toEqual([]);
    expectNoViolations(collector);
  });

  test('partitions like the Java client (wire-v1 murmur2 vectors): explicit partition > partitionKey > key', async () => {
    const t12 = await topic('partitioner12', 12);
    const t5 = await topic('partitioner5', 5);
    const t = await transport();
    for (const vector of PARTITIONER_VECTORS) {
      expect(partitionForKey(vector.key, vector.partitions)).toBe(vector.partition);
      const topicName = vector.partitions === 12 ? t12 : t5;
      const [byKey, byPartitionKey, keyless] = await t.produce([
        { topic: topicName, key: vector.key, value: 'by key' },
        { topic: topicName, key: 'unrelated-key', partitionKey: vector.key, value: 'partitionKey wins over key' },
        { topic: topicName, key: null, partitionKey: vector.key, value: 'partitionKey without key' },
      ]);
      expect([byKey!.partition, byPartitionKey!.partition, keyless!.partition], `key ${vector.key}`).toEqual([
        vector.partition,
        vector.partition,
        vector.partition,
      ]);
    }
    const [explicit] = await t.produce([{ topic: t12, key: 'foobar', partitionKey: 'foobar', partition: 2, value: 'explicit' }]);
    expect(explicit!.partition).toBe(2);
    // The records are where the metadata says.
    const wm = await t.fetchWatermarks({ topic: t12, partition: 2 });
    expect(wm.high).toBeGreaterThan(explicit!.offset);
  });

  test('produceNoWait never throws: its records become readable, and failures go to onError', async () => {
    const t1 = await topic('nowait', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const before = await t.fetchWatermarks(tp);
    const errors: unknown[] = [];
    expect(() =>
      t.produceNoWait(
        [
          { topic: t1, partition: 0, key: 'a', value: '1' },
          { topic: t1, partition: 0, key: 'b', value: '2' },
        ],
        (e) => errors.push(e),
      ),
    ).not.toThrow();
    await waitUntil(async () => (await t.fetchWatermarks(tp)).high >= before.high + 2, 'the produceNoWait records');
    expect(errors).toEqual([]);
    const failures: unknown[] = [];
    expect(() => t.produceNoWait([{ topic: 'not a valid topic name!', key: 'a', value: '1' }], (e) => failures.push(e))).not.toThrow();
    await waitUntil(() => failures.length > 0, 'onError for a record to an invalid topic');
    const { collector } = await consume(t1);
    await waitForEof(collector, tp, before.high + 2);
    expect(collector.values(tp)).toEqual(['1', '2']);
    expectNoViolations(collector);
  });
}
