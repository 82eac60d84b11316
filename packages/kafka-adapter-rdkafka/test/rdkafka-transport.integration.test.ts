/**
 * What the rdkafka transport does beyond the Transport conformance suite (which it passes but for
 * binary headers, see tests/interop): text and UTF-8 byte headers round-trip, and header bytes
 * node-rdkafka would alter are refused; a slow onBatch holds its partition only, under
 * backpressure (its consumeBatchSize and maxQueuedRecordsPerPartition options); and readers read
 * in large batches (a background read of a whole partition is as fast as a raw consumer).
 */
import { describe, expect, it } from 'vitest';
import { RecordRefusedError, UnsupportedError } from '@ksched/core';
import type { PartitionBatch, PartitionReader, TopicPartition } from '@ksched/core';
import { RecordingListener, text, waitUntil } from '@ksched/testkit';
import { harness } from './helpers.js';

const r = harness.useResources();

describe('rdkafka transport: headers', () => {
  it('text headers and UTF-8 byte headers round-trip (as plain Uint8Arrays)', async () => {
    const topic = await r.topic('roundtrip');
    const t = await r.transport();
    const utf8Bytes = new TextEncoder().encode('bytes ✓');
    await t.produce([{ topic, partition: 0, key: 'k', value: 'v', headers: { text: 'héllo ✓', utf8: utf8Bytes } }]);
    const { recorder } = await r.consume([topic]);
    const tp = { topic, partition: 0 };
    await recorder.waitForEof(tp, 1);
    const [record] = recorder.of(tp).flatMap((b) => b.records);
    expect(text(record!.headers['text'])).toBe('héllo ✓');
    expect(Array.from(record!.headers['utf8'] as Uint8Array)).toEqual(Array.from(utf8Bytes));
    expect(Buffer.isBuffer(record!.headers['utf8'])).toBe(false);
    expect(recorder.violations).toEqual([]);
  });

  it('refuses header values node-rdkafka would alter (non-UTF-8 bytes, NUL) with RecordRefusedError naming the record, producing nothing', async () => {
    const topic = await r.topic('binary-headers');
    const t = await r.transport();
    const before = await t.fetchWatermarks({ topic, partition: 0 });
    for (const value of [new Uint8Array([0, 1, 127, 128, 254, 255]), 'a\u0000b', '\uD800']) {
      const error = await t
        .produce([
          { topic, partition: 0, key: 'ok', value: 'first' },
          { topic, partition: 0, key: 'bad', value: 'second', headers: { h: value } },
        ])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(RecordRefusedError.isInstance(error)).toBe(true);
      expect((error as RecordRefusedError).recordIndex).toBe(1);
      expect(UnsupportedError.isInstance((error as Error).cause)).toBe(true);
    }
    expect(await t.fetchWatermarks({ topic, partition: 0 })).toEqual(before);
  });
});

describe('rdkafka transport: consumer group', () => {
  it('a slow onBatch holds its partition only: other partitions keep flowing, and the slow one pauses under backpressure', async () => {
    const topic = await r.topic('backpressure', 2);
    const t = await r.transport();
    await t.produce(Array.from({ length: 300 }, (_, i) => ({ topic, partition: 0, key: `k${i}`, value: `slow-${i}` })));
    const recorder = new RecordingListener();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    recorder.onBatchHook = async (batch) => {
      if (batch.partition === 0 && batch.records.length > 0) await gate;
    };
    await r.consume(
      [topic],
      recorder,
      harness.unique('group'),
      await r.transport({ consumeBatchSize: 20, maxQueuedRecordsPerPartition: 40 }),
    );
    await t.produce([{ topic, partition: 1, key: 'fast', value: 'fast' }]);
    await waitUntil(() => recorder.values({ topic, partition: 1 }).includes('fast'), 'partition 1 delivered while partition 0 is blocked');
    expect(recorder.values({ topic, partition: 0 }).length).toBeLessThanOrEqual(20);
    release();
    await recorder.waitForEof({ topic, partition: 0 }, 300);
    expect(recorder.offsets({ topic, partition: 0 })).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(recorder.violations).toEqual([]);
  });
});

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
