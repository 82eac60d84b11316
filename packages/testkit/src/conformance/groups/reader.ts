/**
 * Conformance cases about openReader.
 *
 * @module
 */
import { describe, expect } from 'vitest';
import { TransportError } from '@ksched/core';
import type { TopicPartition } from '@ksched/core';
import type { ConformanceContext } from '../context.js';
import { text, key } from '../support.js';

/** The `openReader` cases. */
export function describeReader(ctx: ConformanceContext): void {
  describe('openReader', () => {
    describeReaderLog(ctx);
    describeReaderAlongside(ctx);
  });
}

/** What a reader reads: the whole log, past a commit marker, without aborted records, from a middle offset or below low. */
export function describeReaderLog(ctx: ConformanceContext): void {
  const { name, h, unique, topic, transport, transactional, settledEnd, test, openReader, readUntil, committedAroundAborted } = ctx;
  test('reads every record from low to the end in offset order, then EOF: no records, position === high', async () => {
    const t1 = await topic('reader-all', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const metas = await t.produce(Array.from({ length: 7 }, (_, i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
    const wm = await settledEnd(t, tp, metas[6]!.offset + 1);
    const reader = await openReader(t, tp, wm.low);
    expect({ topic: reader.topic, partition: reader.partition }).toEqual(tp);
    const { records } = await readUntil(reader, wm.high);
    expect(records.map((r) => r.offset)).toEqual(metas.map((m) => m.offset));
    expect(records.map((r) => text(r.value))).toEqual(metas.map((_, i) => `v${i}`));
    expect(records.map((r) => text(r.key))).toEqual(metas.map((_, i) => `k${i}`));
    const eof = await reader.read();
    expect(eof.records).toEqual([]);
    expect(eof.position).toBe(wm.high);
    await reader.close();
  });

  test('a log ending in a transaction commit marker: EOF position === the read-committed end > last record offset + 1', async (ctx) => {
    const t1 = await topic('reader-marker', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    await t.produce([{ topic: t1, partition: 0, key: 'p', value: 'plain' }]);
    const producer = await transactional(ctx, t, unique('txn'));
    await producer.init();
    const metas = await producer.sendInTransaction([
      { topic: t1, partition: 0, key: 'a', value: '1' },
      { topic: t1, partition: 0, key: 'b', value: '2' },
    ]);
    const lastOffset = metas[metas.length - 1]!.offset;
    const wm = await settledEnd(t, tp, lastOffset + 2); // the commit marker takes an offset
    expect(wm.high).toBeGreaterThan(lastOffset + 1);
    const reader = await openReader(t, tp, wm.low);
    const { records, batches } = await readUntil(reader, wm.high);
    expect(records.map((r) => text(r.value))).toEqual(['plain', '1', '2']);
    expect(batches[batches.length - 1]!.position).toBe(wm.high);
    const eof = await reader.read();
    expect(eof.records).toEqual([]);
    expect(eof.position).toBe(wm.high);
  });

  test('skips the records of an aborted transaction and its markers', async (ctx) => {
    const { t, tp, wm } = await committedAroundAborted(ctx, 'reader-aborted');
    const reader = await openReader(t, tp, wm.low);
    const { records } = await readUntil(reader, wm.high);
    expect(records.map((r) => text(r.value))).toEqual(['c1', 'c2', 'c3']);
    const eof = await reader.read();
    expect(eof.records).toEqual([]);
    expect(eof.position).toBe(wm.high);
  });

  test('starts at fromOffset: a middle offset reads from there', async () => {
    const t1 = await topic('reader-middle', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const metas = await t.produce(Array.from({ length: 6 }, (_, i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
    const wm = await settledEnd(t, tp, metas[5]!.offset + 1);
    const reader = await openReader(t, tp, metas[2]!.offset);
    const { records } = await readUntil(reader, wm.high);
    expect(records.map((r) => r.offset)).toEqual(metas.slice(2).map((m) => m.offset));
    expect(records.map((r) => text(r.value))).toEqual(['v2', 'v3', 'v4', 'v5']);
  });

  test('fromOffset below the low watermark starts at low', async (ctx) => {
    const deleteRecords = h().deleteRecords;
    if (deleteRecords === undefined) return ctx.skip(`the ${name} harness has no deleteRecords(): below-low reader case skipped`);
    const t1 = await topic('reader-below-low', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const metas = await t.produce(Array.from({ length: 5 }, (_, i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
    await settledEnd(t, tp, metas[4]!.offset + 1);
    await deleteRecords.call(h(), tp, metas[2]!.offset);
    const wm = await t.fetchWatermarks(tp);
    expect(wm.low).toBe(metas[2]!.offset);
    const reader = await openReader(t, tp, metas[0]!.offset);
    const { records } = await readUntil(reader, wm.high);
    expect(records.map((r) => text(r.value))).toEqual(['v2', 'v3', 'v4']);
  });
}

/** A reader alongside group members, of live records, its close(), and of a missing partition. */
export function describeReaderAlongside(ctx: ConformanceContext): void {
  const { topic, transport, consume, settledEnd, expectNoViolations, test, waitForEof, waitForRecord, openReader, readUntil, readers } =
    ctx;
  test('does not disturb group members (no rebalance, positions kept) and reads partitions owned by no one', async () => {
    const t2 = await topic('reader-group', 2);
    const other = await topic('reader-unowned', 1);
    const t = await transport();
    const p0 = { topic: t2, partition: 0 };
    const p1 = { topic: t2, partition: 1 };
    const unowned = { topic: other, partition: 0 };
    const produced = await t.produce([
      ...[0, 1, 2].map((i) => ({ topic: t2, partition: 0, key: `k${i}`, value: `p0-${i}` })),
      ...[0, 1].map((i) => ({ topic: t2, partition: 1, key: `k${i}`, value: `p1-${i}` })),
      ...[0, 1].map((i) => ({ topic: other, partition: 0, key: `k${i}`, value: `o-${i}` })),
    ]);
    const end = async (tp: TopicPartition): Promise<number> =>
      (await settledEnd(t, tp, Math.max(...produced.filter((m) => key(m) === key(tp)).map((m) => m.offset)) + 1)).high;
    const consumer = await consume(t2);
    const { collector } = consumer;
    await waitForEof(collector, p0, await end(p0));
    await waitForEof(collector, p1, await end(p1));
    const events = collector.events.length;
    const mark = collector.batches.length;
    // A reader through the member's own transport, of a partition it owns...
    const own = await openReader(consumer.transport, p0, 0);
    expect((await readUntil(own, await end(p0))).records.map((r) => text(r.value))).toEqual(['p0-0', 'p0-1', 'p0-2']);
    // ...and readers through another transport, of an owned partition and of one nobody owns.
    const foreign = await openReader(t, p1, 0);
    expect((await readUntil(foreign, await end(p1))).records.map((r) => text(r.value))).toEqual(['p1-0', 'p1-1']);
    const lonely = await openReader(t, unowned, 0);
    expect((await readUntil(lonely, await end(unowned))).records.map((r) => text(r.value))).toEqual(['o-0', 'o-1']);
    // The member keeps its partitions and positions: new records arrive once, nothing is redelivered.
    const [n0, n1] = await t.produce([
      { topic: t2, partition: 0, key: 'n', value: 'p0-new' },
      { topic: t2, partition: 1, key: 'n', value: 'p1-new' },
    ]);
    await waitForRecord(collector, p0, n0!.offset, mark);
    await waitForRecord(collector, p1, n1!.offset, mark);
    expect(collector.values(p0, mark)).toEqual(['p0-new']);
    expect(collector.values(p1, mark)).toEqual(['p1-new']);
    expect(collector.events.slice(events), 'no onRevoked / onAssigned because of the readers').toEqual([]);
    expect([...collector.owned].sort()).toEqual([key(p0), key(p1)].sort());
    expectNoViolations(collector);
  });

  test('sees records produced after it was opened (and after it reached the end)', async () => {
    const t1 = await topic('reader-live', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const first = await t.produce([0, 1].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `early-${i}` })));
    const wm = await settledEnd(t, tp, first[1]!.offset + 1);
    const reader = await openReader(t, tp, wm.low);
    const before = await readUntil(reader, wm.high);
    expect(before.records.map((r) => text(r.value))).toEqual(['early-0', 'early-1']);
    const eof = await reader.read();
    expect(eof).toMatchObject({ records: [], position: wm.high });
    const later = await t.produce([0, 1, 2].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `late-${i}` })));
    const wm2 = await settledEnd(t, tp, later[2]!.offset + 1);
    const after = await readUntil(reader, wm2.high);
    expect(after.records.map((r) => r.offset)).toEqual(later.map((m) => m.offset));
    expect(after.records.map((r) => text(r.value))).toEqual(['late-0', 'late-1', 'late-2']);
  });

  test('close() is idempotent; a read after close rejects with a TransportError; a pending read settles', async () => {
    const t1 = await topic('reader-close', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const [meta] = await t.produce([{ topic: t1, partition: 0, key: 'k', value: 'v' }]);
    const wm = await settledEnd(t, tp, meta!.offset + 1);
    const reader = await openReader(t, tp, wm.low);
    await readUntil(reader, wm.high);
    // At the end: the read waits for new records (or answers EOF at once); close settles it.
    const pending = reader.read().then(
      (batch) => ({ batch }),
      (error: unknown) => ({ error }),
    );
    await reader.close();
    const outcome = await pending;
    if ('error' in outcome) expect(TransportError.isInstance(outcome.error), `pending read: ${String(outcome.error)}`).toBe(true);
    else expect(outcome.batch.records).toEqual([]);
    await reader.close();
    const error = await reader.read().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(TransportError.isInstance(error), `read after close: expected a TransportError, got ${String(error)}`).toBe(true);
  });

  test('a reader of a partition that does not exist rejects with a TransportError (at open or first read)', async () => {
    const t1 = await topic('reader-missing', 1);
    const t = await transport();
    const error = await (async () => {
      const reader = await t.openReader({ topic: t1, partition: 7 }, { fromOffset: 0 });
      readers.push(reader);
      await reader.read();
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(TransportError.isInstance(error), `expected a TransportError, got ${String(error)}`).toBe(true);
  });
}
