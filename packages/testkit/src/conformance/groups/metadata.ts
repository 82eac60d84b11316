/**
 * Conformance cases about metadata: the specification version, partition counts, watermarks and offsets by time.
 *
 * @module
 */
import { expect } from 'vitest';
import { TransportError } from '@ksched/core';
import type { ConformanceContext } from '../context.js';

/** The specification version, partition counts and watermarks. */
export function describeMetadata(ctx: ConformanceContext): void {
  const { unique, topic, transport, test } = ctx;
  test('declares specificationVersion v1, counts partitions, and rejects an unknown topic with a TransportError', async () => {
    const t3 = await topic('count', 3);
    const t = await transport();
    expect(await t.partitionCount(t3)).toBe(3);
    const error = await t.partitionCount(unique('missing')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(TransportError.isInstance(error)).toBe(true);
  });

  test('watermarks: an empty partition has low === high; N records raise high by N with consecutive offsets', async () => {
    const t2 = await topic('watermarks', 2);
    const t = await transport();
    const p0 = { topic: t2, partition: 0 };
    const p1 = { topic: t2, partition: 1 };
    const before0 = await t.fetchWatermarks(p0);
    const before1 = await t.fetchWatermarks(p1);
    expect(before0.low).toBe(before0.high);
    expect(before1.low).toBe(before1.high);
    const metas = await t.produce(Array.from({ length: 5 }, (_, i) => ({ topic: t2, partition: 0, key: `k${i}`, value: `v${i}` })));
    expect(metas.map((m) => [m.topic, m.partition, m.offset])).toEqual(metas.map((_, i) => [t2, 0, before0.high + i]));
    const after0 = await t.fetchWatermarks(p0);
    expect(after0).toMatchObject({ low: before0.low, high: before0.high + 5 });
    expect(await t.fetchWatermarks(p1)).toMatchObject({ low: before1.low, high: before1.high });
  });

  test('offsetForTime: the first offset written at or after a time; the end offset when nothing is that recent', async () => {
    const name = await topic('times', 1);
    const t = await transport();
    const tp = { topic: name, partition: 0 };
    const pause = () => new Promise((resolve) => setTimeout(resolve, 50));
    expect(await t.offsetForTime(tp, 0)).toBe((await t.fetchWatermarks(tp)).high);
    const first = await t.produce(['a', 'b'].map((k) => ({ topic: name, partition: 0, key: k, value: k })));
    await pause();
    const between = Date.now();
    await pause();
    const second = await t.produce(['c', 'd'].map((k) => ({ topic: name, partition: 0, key: k, value: k })));
    expect(await t.offsetForTime(tp, 0)).toBe(first[0]!.offset);
    expect(await t.offsetForTime(tp, between)).toBe(second[0]!.offset);
    expect(await t.offsetForTime(tp, Date.now() + 3_600_000)).toBe((await t.fetchWatermarks(tp)).high);
  });
}
