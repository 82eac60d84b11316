/**
 * `openReader` and `seek` of the rdkafka transport on the real broker: the reader reads committed
 * records only, up to the read-committed end (past trailing transaction markers), outside the
 * consumer group; `seek` moves an active or just-assigned partition.
 */
import { describe, expect, it } from 'vitest';
import { TransportError } from '@ksched/core';
import type { PartitionBatch, PartitionReader, TopicPartition, Transport } from '@ksched/core';
import { waitForEndOffset } from '@ksched/testkit';
import { openTransaction, Recorder, text, unique, useResources, waitUntil } from './helpers.js';

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

const values = (batches: readonly PartitionBatch[]): (string | null)[] => batches.flatMap((b) => b.records.map((rec) => text(rec.value)));

describe('rdkafka transport: openReader', () => {
  it('reads from fromOffset to the end offset of a log ending in a commit marker, then reports EOF at that end', async () => {
    const topic = await r.topic('reader-commit');
    const tp: TopicPartition = { topic, partition: 0 };
    const t = await r.transport();
    await t.produce(Array.from({ length: 5 }, (_, i) => ({ ...tp, key: `k${i}`, value: `plain-${i}` })));
    const txn = await openTransaction(unique('txn'), [
      { ...tp, key: 'a', value: 'txn-a' },
      { ...tp, key: 'b', value: 'txn-b' },
    ]);
    await txn.commit();
    // 5 plain records (0–4), 2 transactional ones (5, 6), the commit marker (7): end offset 8.
    const wm = await waitForEndOffset(t, tp, 8);
    expect(wm).toEqual({ low: 0, high: 8 });

    const reader = await t.openReader(tp, { fromOffset: 2 });
    expect({ topic: reader.topic, partition: reader.partition }).toEqual(tp);
    const batches = await readTo(reader, wm.high);
    expect(values(batches)).toEqual(['plain-2', 'plain-3', 'plain-4', 'txn-a', 'txn-b']);
    expect(batches.flatMap((b) => b.records.map((rec) => rec.offset))).toEqual([2, 3, 4, 5, 6]);
    expect(batches.at(-1)!.position).toBe(8);
    const first = batches[0]!.records[0]!;
    expect({ topic: first.topic, partition: first.partition, key: text(first.key) }).toEqual({ ...tp, key: 'k2' });
    expect(first.timestamp).toBeGreaterThan(0);

    // At the end: an empty batch at the end offset, again and again, each within about a second.
    for (let i = 0; i < 2; i++) {
      const started = Date.now();
      const eof = await reader.read();
      expect(eof.records).toEqual([]);
      expect(eof.position).toBe(8);
      expect(Date.now() - started).toBeLessThan(2000);
    }
    // New records are read after the end.
    await t.produce([{ ...tp, key: 'late', value: 'late' }]);
    const late = await readTo(reader, 9);
    expect(values(late)).toEqual(['late']);

    await reader.close();
    await reader.close();
    await expect(reader.read()).rejects.toBeInstanceOf(TransportError);
  });

  it('skips the records of aborted transactions and reaches the end past the abort marker', async () => {
    const topic = await r.topic('reader-abort');
    const tp: TopicPartition = { topic, partition: 0 };
    const t = await r.transport();
    await t.produce([{ ...tp, key: 'before', value: 'before' }]);
    const aborted = await openTransaction(unique('txn'), [
      { ...tp, key: 'x', value: 'aborted-x' },
      { ...tp, key: 'y', value: 'aborted-y' },
    ]);
    await aborted.abort();
    await t.produce([{ ...tp, key: 'after', value: 'after' }]);
    const aborted2 = await openTransaction(unique('txn'), [{ ...tp, key: 'z', value: 'aborted-z' }]);
    await aborted2.abort();
    // before (0), x (1), y (2), abort marker (3), after (4), z (5), abort marker (6): end 7.
    const wm = await waitForEndOffset(t, tp, 7);
    const reader = await t.openReader(tp, { fromOffset: -5 });
    const batches = await readTo(reader, wm.high);
    expect(values(batches)).toEqual(['before', 'after']);
    expect(batches.at(-1)!.position).toBe(7);
  });

  it('starts at the low watermark when fromOffset is below it, and at the end when above it', async () => {
    const topic = await r.topic('reader-clamp');
    const tp: TopicPartition = { topic, partition: 0 };
    const t = await r.transport();
    await t.produce(Array.from({ length: 3 }, (_, i) => ({ ...tp, key: `k${i}`, value: `v${i}` })));
    const below = await t.openReader(tp, { fromOffset: -100 });
    expect(values(await readTo(below, 3))).toEqual(['v0', 'v1', 'v2']);
    const above = await t.openReader(tp, { fromOffset: 1000 });
    const eof = await above.read();
    expect(eof).toMatchObject({ records: [], position: 3 });
    await Promise.all([below.close(), above.close()]);
  });

  it('an empty partition: the first read is an EOF notice at offset 0', async () => {
    const topic = await r.topic('reader-empty');
    const t = await r.transport();
    const reader = await t.openReader({ topic, partition: 0 }, { fromOffset: 0 });
    expect(await reader.read()).toMatchObject({ topic, partition: 0, records: [], position: 0 });
    // close() rejects a pending read.
    const pending = expect(reader.read()).rejects.toBeInstanceOf(TransportError);
    await reader.close();
    await pending;
  });

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

  it('a group member sees no rebalance while readers of its partitions run; transport.close() closes open readers', async () => {
    const topic = await r.topic('reader-group', 2);
    const groupId = unique('group');
    const member = await r.transport();
    const recorder = new Recorder();
    await r.consume([topic], recorder, groupId, member);
    const eventsBefore = recorder.events.length;
    await member.produce([0, 1].map((partition) => ({ topic, partition, key: 'k', value: `v${partition}` })));
    // A reader from the member's own transport and one from another transport, on partitions the member owns.
    const other = await r.transport();
    const readers = [
      await member.openReader({ topic, partition: 0 }, { fromOffset: 0 }),
      await other.openReader({ topic, partition: 1 }, { fromOffset: 0 }),
    ];
    for (const [partition, reader] of readers.entries()) expect(values(await readTo(reader, 1))).toEqual([`v${partition}`]);
    // Keep reading at the end for a while, with records flowing to the member meanwhile.
    for (let i = 0; i < 3; i++) {
      await member.produce([0, 1].map((partition) => ({ topic, partition, key: 'k', value: `more-${i}` })));
      await Promise.all(readers.map((reader) => reader.read()));
    }
    await waitUntil(
      () => [0, 1].every((partition) => recorder.values({ topic, partition }).includes('more-2')),
      'the member receiving every record',
    );
    expect(recorder.events.length, 'no onRevoked/onAssigned while readers ran').toBe(eventsBefore);
    expect(recorder.owned.size).toBe(2);
    expect(recorder.violations).toEqual([]);
    await member.close();
    await expect(readers[0]!.read()).rejects.toBeInstanceOf(TransportError);
    await readers[1]!.close();
  });
});

describe('rdkafka transport: seek', () => {
  async function setUp(label: string): Promise<{ topic: string; tp: TopicPartition; producer: Transport }> {
    const topic = await r.topic(label);
    const tp: TopicPartition = { topic, partition: 0 };
    const producer = await r.transport();
    await producer.produce(Array.from({ length: 10 }, (_, i) => ({ ...tp, key: `k${i}`, value: `v${i}` })));
    return { topic, tp, producer };
  }

  it('in onAssigned: delivery starts at the sought offset; beyond the end it starts at the end (an EOF notice)', async () => {
    const { topic, tp } = await setUp('seek-assigned');
    const t = await r.transport();
    const recorder = new Recorder();
    let sought: unknown;
    recorder.onAssignedHook = async (tps) => {
      for (const p of tps) sought = await t.seek(p, 6);
    };
    await r.consume([topic], recorder, unique('group'), t);
    expect(sought).toEqual({ low: 0, high: 10 });
    await recorder.waitForEof(tp, 10);
    expect(recorder.offsets(tp)).toEqual([6, 7, 8, 9]);

    const from = recorder.batches.length;
    expect(await t.seek(tp, 50)).toEqual({ low: 0, high: 10 });
    const eof = await recorder.waitForEof(tp, 10, from);
    expect(recorder.of(tp, from)[0]).toBe(eof);
    expect(recorder.violations).toEqual([]);
  });

  it('on an active partition: nothing fetched before is delivered afterwards; the next batch starts at the sought offset', async () => {
    const { topic, tp, producer } = await setUp('seek-active');
    const t = await r.transport({ consumeBatchSize: 2 });
    const recorder = new Recorder();
    let sought = false;
    let from = -1;
    recorder.onBatchHook = async (batch) => {
      // While delivering offsets 2–3: go back to 1.
      if (!sought && batch.records.some((rec) => rec.offset === 3)) {
        sought = true;
        expect(await t.seek(tp, 1)).toEqual({ low: 0, high: 10 });
        from = recorder.batches.length;
      }
    };
    recorder.onAssignedHook = async (tps) => {
      for (const p of tps) await t.seekToBeginning(p);
    };
    await r.consume([topic], recorder, unique('group'), t);
    await waitUntil(() => from >= 0, 'the seek');
    await recorder.waitForEof(tp, 10, from);
    // Everything delivered after the seek starts at offset 1, in order, nothing fetched before it.
    expect(recorder.offsets(tp, from)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // below low → low
    const from2 = recorder.batches.length;
    expect(await t.seek(tp, -3)).toEqual({ low: 0, high: 10 });
    await recorder.waitForEof(tp, 10, from2);
    expect(recorder.offsets(tp, from2)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await producer.produce([{ ...tp, key: 'new', value: 'new' }]);
    await waitUntil(() => recorder.values(tp).includes('new'), 'a new record after the seeks');
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });

  it('rejects with TransportError for a partition the member does not own', async () => {
    const { topic } = await setUp('seek-not-owned');
    const t = await r.transport();
    await expect(t.seek({ topic, partition: 0 }, 0)).rejects.toBeInstanceOf(TransportError);
    await r.consume([topic], new Recorder(), unique('group'), t);
    await expect(t.seek({ topic, partition: 7 }, 0)).rejects.toBeInstanceOf(TransportError);
  });
});
