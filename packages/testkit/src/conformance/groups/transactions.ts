/**
 * Conformance cases about transactions: read committed and fencing.
 *
 * @module
 */
import { expect } from 'vitest';
import { FencedError } from '@ksched/core';
import type { ConformanceContext } from '../context.js';

/** Read committed (aborted and open transactions) and fencing. */
export function describeTransactions(ctx: ConformanceContext): void {
  const {
    name,
    h,
    unique,
    topic,
    transport,
    transactional,
    consume,
    settledEnd,
    expectNoViolations,
    test,
    waitForEof,
    committedAroundAborted,
  } = ctx;
  test('read committed: records of an aborted transaction are never delivered, committed ones are', async (ctx) => {
    const { tp, wm } = await committedAroundAborted(ctx, 'aborted');
    const { collector } = await consume(tp.topic);
    await waitForEof(collector, tp, wm.high);
    expect(collector.values(tp)).toEqual(['c1', 'c2', 'c3']);
    expectNoViolations(collector);
  });

  test('read committed: the end offset stops before an open transaction, whose records arrive once it commits', async (ctx) => {
    const open = h().openTransaction;
    if (open === undefined) return ctx.skip(`the ${name} harness has no openTransaction(): open-transaction case skipped`);
    const t1 = await topic('open-txn', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const [before] = await t.produce([{ topic: t1, partition: 0, key: 'k', value: 'before' }]);
    const txn = await open.call(h(), unique('txn'), [{ topic: t1, partition: 0, key: 'k', value: 'in-txn' }]);
    let settled = false;
    try {
      await t.produce([{ topic: t1, partition: 0, key: 'k', value: 'after' }]);
      const wm = await t.fetchWatermarks(tp);
      expect(wm.high).toBe(before!.offset + 1);
      const { collector } = await consume(t1);
      const eof = await waitForEof(collector, tp, wm.high);
      expect(collector.batches[eof]!.position).toBe(wm.high);
      expect(collector.values(tp)).toEqual(['before']);
      const mark = collector.batches.length;
      await txn.commit();
      settled = true;
      const wm2 = await settledEnd(t, tp, before!.offset + 4); // in-txn, marker, after
      await waitForEof(collector, tp, wm2.high, mark);
      expect(collector.values(tp)).toEqual(['before', 'in-txn', 'after']);
      expectNoViolations(collector);
    } finally {
      if (!settled) await txn.abort().catch(() => {});
    }
  });

  test('fencing: init() of a second producer with the same transactional id makes the first one fail', async (ctx) => {
    const t1 = await topic('fencing', 1);
    const first = await transport();
    const second = await transport();
    const tp = { topic: t1, partition: 0 };
    const transactionalId = unique('txn');
    const zombie = await transactional(ctx, first, transactionalId);
    await zombie.init();
    await zombie.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'first' }]);
    const successor = await transactional(ctx, second, transactionalId);
    await successor.init();
    const error = await zombie.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'zombie' }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error, 'the fenced producer must reject').toBeDefined();
    expect(FencedError.isInstance(error), 'a fenced send rejects with FencedError (KSM_FENCED)').toBe(true);
    const [secondMeta] = await successor.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'second' }]);
    const wm = await settledEnd(first, tp, secondMeta!.offset + 2);
    const { collector } = await consume(t1);
    await waitForEof(collector, tp, wm.high);
    expect(collector.values(tp)).toEqual(['first', 'second']);
    expectNoViolations(collector);
  });
}
