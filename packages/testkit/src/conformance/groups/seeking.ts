/**
 * Conformance cases about seekToBeginning and seek.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { TransportError } from '@ksched/core';
import type { ConformanceContext } from '../context.js';
import { text } from '../support.js';

/** seekToBeginning (also after the head of the log was removed), then the `seek` cases. */
export function describeSeeking(ctx: ConformanceContext): void {
  const { topic, transport, consume, expectNoViolations, test, waitForEof, withHeadRemoved } = ctx;
  test('seekToBeginning returns the watermarks and redelivers everything from low, then a new EOF notice', async () => {
    const t1 = await topic('seek', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    await t.produce([0, 1, 2, 3].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
    const consumer = await consume(t1);
    const wm = await consumer.transport.fetchWatermarks(tp);
    await waitForEof(consumer.collector, tp, wm.high);
    const firstPass = consumer.collector.records(tp).map((r) => r.offset);
    const mark = consumer.collector.batches.length;
    const seek = await consumer.transport.seekToBeginning(tp);
    expect({ low: seek.low, high: seek.high }).toEqual({ low: wm.low, high: wm.high });
    await waitForEof(consumer.collector, tp, seek.high, mark);
    expect(consumer.collector.records(tp, mark).map((r) => r.offset)).toEqual(firstPass);
    expect(consumer.collector.values(tp, mark)).toEqual(['v0', 'v1', 'v2', 'v3']);
    await consumer.transport.commitOffsets([{ topic: t1, partition: 0, offset: seek.high }]);
    expectNoViolations(consumer.collector);
  });

  test('seekToBeginning after the head of the log was removed returns low > 0 and redelivers from low', async (ctx) => {
    // With compaction, the head (a=1) is superseded; with delete-records, the first 3 go.
    const setup = await withHeadRemoved(ctx, 'seek-low', ['a=1', 'a=2', 'b=1', 'c=1', 'b=2'], 3);
    if (setup === undefined) return;
    const { removal, tp, consumer } = setup;
    const mark = consumer.collector.batches.length;
    const seek = await consumer.transport.seekToBeginning(tp);
    expect(seek.low).toBeGreaterThan(0);
    const wm = await consumer.transport.fetchWatermarks(tp);
    expect({ low: seek.low, high: seek.high }).toEqual({ low: wm.low, high: wm.high });
    await waitForEof(consumer.collector, tp, seek.high, mark);
    const again = consumer.collector.records(tp, mark);
    expect(again.length).toBeGreaterThan(0);
    for (const record of again) expect(record.offset).toBeGreaterThanOrEqual(seek.low);
    if (removal === 'deleteRecords') {
      expect(again[0]!.offset).toBe(seek.low);
      expect(again.map((r) => text(r.value))).toEqual(['c=1', 'b=2']);
    } else {
      expect(again.map((r) => text(r.value))).toEqual(['a=2', 'c=1', 'b=2']);
    }
    expectNoViolations(consumer.collector);
  });

  describe('seek', () => describeSeek(ctx));
}

/** seek to a middle offset, below low, beyond high, and of an unowned partition. */
export function describeSeek(ctx: ConformanceContext): void {
  const { topic, transport, consume, settledEnd, expectNoViolations, test, waitForEof, waitForRecord, withHeadRemoved } = ctx;
  test('seek to a middle offset returns the watermarks and redelivers from that offset, then an EOF notice at high', async () => {
    const t1 = await topic('seek-middle', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const metas = await t.produce([0, 1, 2, 3, 4, 5].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
    const consumer = await consume(t1);
    const wm = await settledEnd(t, tp, metas[5]!.offset + 1);
    await waitForEof(consumer.collector, tp, wm.high);
    const mark = consumer.collector.batches.length;
    const seek = await consumer.transport.seek(tp, metas[3]!.offset);
    expect({ low: seek.low, high: seek.high }).toEqual({ low: wm.low, high: wm.high });
    const last = await waitForRecord(consumer.collector, tp, metas[5]!.offset, mark);
    const again = consumer.collector.records(tp, mark);
    expect(again.map((r) => r.offset)).toEqual(metas.slice(3).map((m) => m.offset));
    expect(again.map((r) => text(r.value))).toEqual(['v3', 'v4', 'v5']);
    const eof = await waitForEof(consumer.collector, tp, wm.high, last + 1);
    expect(consumer.collector.batches[eof]!.position).toBe(wm.high);
    expectNoViolations(consumer.collector);
  });

  test('seek below the low watermark starts at low and returns the watermarks', async (ctx) => {
    // With compaction, the head (a=1) is superseded; with delete-records, the first 2 go.
    const setup = await withHeadRemoved(ctx, 'seek-below-low', ['a=1', 'a=2', 'b=1', 'c=1'], 2);
    if (setup === undefined) return;
    const { removal, t, tp, metas, consumer } = setup;
    const wm = await t.fetchWatermarks(tp);
    expect(wm.low).toBeGreaterThan(metas[0]!.offset);
    const mark = consumer.collector.batches.length;
    const seek = await consumer.transport.seek(tp, metas[0]!.offset);
    expect({ low: seek.low, high: seek.high }).toEqual({ low: wm.low, high: wm.high });
    const last = await waitForRecord(consumer.collector, tp, metas[3]!.offset, mark);
    const again = consumer.collector.records(tp, mark);
    for (const record of again) expect(record.offset).toBeGreaterThanOrEqual(seek.low);
    expect(again.map((r) => text(r.value))).toEqual(removal === 'deleteRecords' ? ['b=1', 'c=1'] : ['a=2', 'b=1', 'c=1']);
    await waitForEof(consumer.collector, tp, seek.high, last + 1);
    expectNoViolations(consumer.collector);
  });

  test('seek beyond high starts at high: an EOF notice at high, then the records produced later (none skipped)', async () => {
    const t1 = await topic('seek-beyond', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const metas = await t.produce([0, 1, 2].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
    const consumer = await consume(t1);
    const wm = await settledEnd(t, tp, metas[2]!.offset + 1);
    await waitForEof(consumer.collector, tp, wm.high);
    const mark = consumer.collector.batches.length;
    const seek = await consumer.transport.seek(tp, wm.high + 100);
    expect({ low: seek.low, high: seek.high }).toEqual({ low: wm.low, high: wm.high });
    const eof = await waitForEof(consumer.collector, tp, wm.high, mark);
    expect(consumer.collector.batches[eof]!.position).toBe(wm.high);
    expect(consumer.collector.records(tp, mark)).toEqual([]);
    // The next record lands at high, below the sought offset: it must be delivered.
    const [late] = await t.produce([{ topic: t1, partition: 0, key: 'late', value: 'late' }]);
    expect(late!.offset).toBe(wm.high);
    await waitForRecord(consumer.collector, tp, late!.offset, mark);
    expect(consumer.collector.values(tp, mark)).toEqual(['late']);
    expectNoViolations(consumer.collector);
  });

  test('seek of a partition this member does not own rejects with a TransportError', async () => {
    const t1 = await topic('seek-unowned', 1);
    const t = await transport();
    const error = await t.seek({ topic: t1, partition: 0 }, 0).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(TransportError.isInstance(error), `expected a TransportError, got ${String(error)}`).toBe(true);
  });
}
