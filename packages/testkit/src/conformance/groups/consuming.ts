/**
 * Conformance cases about group delivery: offset order, EOF notices and compaction.
 *
 * @module
 */
import { expect } from 'vitest';
import type { RecordMetadata } from '@ksched/core';
import type { ConformanceContext } from '../context.js';
import { text, key } from '../support.js';

/** Delivery in offset order, EOF notices (also after a commit marker) and compacted topics. */
export function describeConsuming(ctx: ConformanceContext): void {
  const { name, h, unique, waitUntil, topic, transport, transactional, consume, settledEnd, expectNoViolations, test, waitForEof } = ctx;
  test('delivers every partition in offset order, as produced, at the offsets produce reported', async () => {
    const t3 = await topic('order', 3);
    const t = await transport();
    const produced: { meta: RecordMetadata; value: string }[] = [];
    for (let round = 0; round < 4; round++) {
      const records = Array.from({ length: 10 }, (_, i) => ({ topic: t3, key: `key-${i}`, value: `r${round}-k${i}` }));
      const metas = await t.produce(records);
      metas.forEach((meta, i) => produced.push({ meta, value: records[i]!.value }));
    }
    const { collector } = await consume(t3);
    for (let p = 0; p < 3; p++) {
      const tp = { topic: t3, partition: p };
      const expected = produced.filter((x) => x.meta.partition === p);
      await waitUntil(() => collector.records(tp).length >= expected.length, `${expected.length} records of ${key(tp)}`);
      const records = collector.records(tp);
      expect(records.map((r) => r.offset)).toEqual(expected.map((x) => x.meta.offset));
      expect(records.map((r) => text(r.value))).toEqual(expected.map((x) => x.value));
      for (const batch of collector.batches.filter((b) => key(b) === key(tp) && b.records.length > 0)) {
        expect(batch.position).toBeGreaterThan(batch.records[batch.records.length - 1]!.offset);
      }
    }
    expectNoViolations(collector);
  });

  test('delivers an EOF notice (no records, position === high): for an empty partition, after the records, and again after new records', async () => {
    const t2 = await topic('eof', 2);
    const t = await transport();
    const p0 = { topic: t2, partition: 0 };
    const p1 = { topic: t2, partition: 1 };
    await t.produce([0, 1, 2].map((i) => ({ topic: t2, partition: 0, key: `k${i}`, value: `v${i}` })));
    const wm0 = await t.fetchWatermarks(p0);
    const wm1 = await t.fetchWatermarks(p1);
    const { collector } = await consume(t2);
    const eof0 = await waitForEof(collector, p0, wm0.high);
    const eof1 = await waitForEof(collector, p1, wm1.high);
    expect(collector.batches[eof0]!.position).toBe(wm0.high);
    expect(collector.batches[eof1]!.position).toBe(wm1.high);
    expect(wm1.low).toBe(wm1.high);
    // Every record came before the EOF notice.
    expect(collector.records(p0).length).toBe(3);
    expect(collector.batches.slice(eof0 + 1).some((b) => key(b) === key(p0) && b.records.length > 0)).toBe(false);
    // Records produced after EOF are delivered (delivery wakes up), then a new EOF notice.
    const mark = collector.batches.length;
    const [late] = await t.produce([{ topic: t2, partition: 0, key: 'late', value: 'late' }]);
    await waitForEof(collector, p0, late!.offset + 1, mark);
    expect(collector.values(p0, mark)).toEqual(['late']);
    expectNoViolations(collector);
  });

  test('reaches the end of a log ending in a transaction commit marker: EOF position >= high > last record offset + 1', async (ctx) => {
    const t1 = await topic('eof-marker', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const producer = await transactional(ctx, t, unique('txn'));
    await producer.init();
    const metas = await producer.sendInTransaction([
      { topic: t1, partition: 0, key: 'a', value: '1' },
      { topic: t1, partition: 0, key: 'b', value: '2' },
    ]);
    const lastOffset = metas[metas.length - 1]!.offset;
    const wm = await settledEnd(t, tp, lastOffset + 2); // the commit marker takes an offset
    expect(wm.high).toBeGreaterThan(lastOffset + 1);
    const { collector } = await consume(t1);
    const eof = await waitForEof(collector, tp, wm.high);
    expect(collector.batches[eof]!.position).toBeGreaterThanOrEqual(wm.high);
    expect(collector.values(tp)).toEqual(['1', '2']);
    expectNoViolations(collector);
  });

  test('compaction keeps the latest record per key at its original offset; offsets have gaps', async (ctx) => {
    const compact = h().compact;
    if (compact === undefined) return ctx.skip(`the ${name} harness has no compact(): compaction case skipped`);
    const t1 = await topic('compaction', 1, true);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const sequence: [string, string | null][] = [
      ['a', 'a1'],
      ['b', 'b1'],
      ['a', 'a2'],
      ['c', 'c1'],
      ['b', null],
      ['a', 'a3'],
    ];
    const metas = await t.produce(sequence.map(([k, v]) => ({ topic: t1, partition: 0, key: k, value: v })));
    await compact.call(h(), t1);
    const { collector } = await consume(t1);
    const wm = await t.fetchWatermarks(tp);
    await waitForEof(collector, tp, wm.high);
    const records = collector.records(tp);
    const byOffset = new Map(records.map((r) => [r.offset, r]));
    const offsets = records.map((r) => r.offset);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    // Superseded records are gone; survivors keep their offsets.
    for (const i of [0, 1, 2]) expect(byOffset.has(metas[i]!.offset)).toBe(false);
    expect(text(byOffset.get(metas[3]!.offset)?.value ?? null)).toBe('c1');
    expect(text(byOffset.get(metas[5]!.offset)?.value ?? null)).toBe('a3');
    // The tombstone of b may have been removed already (retention), but nothing else of b is left.
    const b = records.filter((r) => text(r.key) === 'b');
    expect(b.every((r) => r.offset === metas[4]!.offset && r.value === null)).toBe(true);
    expect(wm.low).toBeLessThanOrEqual(offsets[0]!);
    expectNoViolations(collector);
  });
}
