/**
 * Conformance cases about where a reader starts and ends: an empty partition, a `fromOffset`
 * outside the log, a log ending in an abort marker, and an open transaction.
 *
 * @module
 */
import { expect } from 'vitest';
import type { ConformanceContext } from '../context.js';
import { text } from '../support.js';

/** The ends of a reader's log. */
export function describeReaderEnds(ctx: ConformanceContext): void {
  const { name, h, unique, topic, transport, settledEnd, openReader, read, readUntil, abortedTransaction, test } = ctx;

  test('openReader: an empty partition reads an EOF notice at 0; a fromOffset below 0 starts at low, one beyond the end at the end', async () => {
    const t1 = await topic('reader-bounds', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    expect(await read(await openReader(t, tp, 0))).toMatchObject({ topic: t1, partition: 0, records: [], position: 0 });
    const metas = await t.produce([0, 1, 2].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
    const wm = await settledEnd(t, tp, metas[2]!.offset + 1);
    const below = await readUntil(await openReader(t, tp, -100), wm.high);
    expect(below.records.map((r) => text(r.value))).toEqual(['v0', 'v1', 'v2']);
    expect(await read(await openReader(t, tp, wm.high + 1000))).toMatchObject({ records: [], position: wm.high });
  });

  test('openReader: a log ending in an abort marker is read to its end (position === high), without the aborted records', async (ctx) => {
    const t1 = await topic('reader-abort-end', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    await t.produce([{ topic: t1, partition: 0, key: 'k', value: 'before' }]);
    await abortedTransaction(ctx, t, [{ topic: t1, partition: 0, key: 'x', value: 'aborted' }]);
    const [after] = await t.produce([{ topic: t1, partition: 0, key: 'k', value: 'after' }]);
    await abortedTransaction(ctx, t, [{ topic: t1, partition: 0, key: 'y', value: 'aborted-at-the-end' }]);
    // The second aborted record and its marker come after `after`.
    const wm = await settledEnd(t, tp, after!.offset + 3);
    const { records, batches } = await readUntil(await openReader(t, tp, 0), wm.high);
    expect(records.map((r) => text(r.value))).toEqual(['before', 'after']);
    expect(batches[batches.length - 1]!.position).toBe(wm.high);
  });

  test('openReader: while a transaction is open the reader stops at the last stable offset (EOF there); it reads on once the transaction commits', async (ctx) => {
    const open = h().openTransaction;
    if (open === undefined) return ctx.skip(`the ${name} harness has no openTransaction(): open-transaction reader case skipped`);
    const t1 = await topic('reader-open-txn', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const first = await t.produce([0, 1].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
    const txn = await open.call(h(), unique('txn'), [{ topic: t1, partition: 0, key: 'open', value: 'in-txn' }]);
    let settled = false;
    try {
      await t.produce([{ topic: t1, partition: 0, key: 'k', value: 'after' }]);
      const stable = first[1]!.offset + 1;
      const reader = await openReader(t, tp, 0);
      expect((await readUntil(reader, stable)).records.map((r) => text(r.value))).toEqual(['v0', 'v1']);
      expect(await read(reader)).toMatchObject({ records: [], position: stable });
      await txn.commit();
      settled = true;
      const wm = await settledEnd(t, tp, stable + 3); // in-txn, after, the commit marker
      expect((await readUntil(reader, wm.high)).records.map((r) => text(r.value))).toEqual(['in-txn', 'after']);
    } finally {
      if (!settled) await txn.abort().catch(() => {});
    }
  });
}
