/**
 * What the rdkafka transport's `openReader` does beyond the Transport conformance suite: it reads
 * in large batches (a background read of a whole partition is as fast as a raw consumer).
 */
import { describe, expect, it } from 'vitest';
import type { PartitionBatch, PartitionReader, TopicPartition } from '@ksched/core';
import { text, useResources } from './helpers.js';

const r = useResources();

/** Reads with `reader` until its position reaches `end`; returns every batch. */
async function readTo(reader: PartitionReader, end: number, maxReads = 1000): Promise<PartitionBatch[]> {
  const batches: PartitionBatch[] = [];
  for (let i = 0; i < maxReads; i++) {
    const batch = await reader.read();
    batches.push(batch);
    if (batch.position >= end) return batches;
  }
  throw new Error(`reader did not reach ${end}: ${JSON.stringify(batches.map((b) => [b.records.length, b.position]))}`);
}

describe('rdkafka transport: openReader', () => {
  it('reads thousands of records in large batches, in order', async () => {
    const topic = await r.topic('reader-many');
    const tp: TopicPartition = { topic, partition: 0 };
    const t = await r.transport();
    const n = 20_000;
    for (let i = 0; i < n; i += 5000) {
      await t.produce(Array.from({ length: 5000 }, (_, j) => ({ ...tp, key: `k${i + j}`, value: `v${i + j}`, headers: { h: 'x' } })));
    }
    const reader = await t.openReader(tp, { fromOffset: 0 });
    const batches = await readTo(reader, n);
    const offsets = batches.flatMap((b) => b.records.map((rec) => rec.offset));
    expect(offsets.length).toBe(n);
    expect(offsets.every((o, i) => o === i)).toBe(true);
    expect(Math.max(...batches.map((b) => b.records.length))).toBeGreaterThan(100);
    expect(text(batches[0]!.records[0]!.headers['h'] as Uint8Array)).toBe('x');
    await reader.close();
  });
});
