/**
 * Conformance cases about the transactional producer's own life: init once before sending, a
 * failed send aborting all of its transaction, fenced for good, a new owner's init ending the old
 * owner's open transaction, and close.
 *
 * @module
 */
import { expect } from 'vitest';
import { FencedError, SchedulerError, TransportError } from '@ksched/core';
import type { ConformanceContext } from '../context.js';

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (e: unknown) => e,
  );
}

/** init, failed sends, fencing for good, takeover of an open transaction, close. */
export function describeTransactionalProducer(ctx: ConformanceContext): void {
  const { name, h, unique, topic, transport, transactional, consume, settledEnd, waitForEof, expectNoViolations, test } = ctx;

  test('transactional producer: a send before init() is refused; a failed send aborts its whole transaction and the producer goes on', async (ctx) => {
    const t1 = await topic('txn-life', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const producer = await transactional(ctx, t, unique('txn'));
    const early = await rejection(producer.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'early' }]));
    expect(SchedulerError.isInstance(early), `a send before init(): ${String(early)}`).toBe(true);
    await producer.init();
    const first = await producer.sendInTransaction([
      { topic: t1, partition: 0, key: 'k', value: 'c1' },
      { topic: t1, key: 'other', partitionKey: 'k', value: 'c2' },
    ]);
    expect(first.map((m) => [m.partition, m.offset])).toEqual([
      [0, first[0]!.offset],
      [0, first[0]!.offset + 1],
    ]);
    const failed = await rejection(
      producer.sendInTransaction([
        { topic: t1, partition: 0, key: 'x', value: 'x1' },
        { topic: t1, partition: 42, key: 'x', value: 'no such partition' },
      ]),
    );
    expect(TransportError.isInstance(failed), `a send to a missing partition: ${String(failed)}`).toBe(true);
    const [c3] = await producer.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'c3' }]);
    const { collector } = await consume(t1);
    await waitForEof(collector, tp, (await settledEnd(t, tp, c3!.offset + 2)).high);
    expect(collector.values(tp)).toEqual(['c1', 'c2', 'c3']);
    expectNoViolations(collector);
  });

  test('fenced for good: every later send of a fenced producer rejects with a FencedError that is not retriable', async (ctx) => {
    const t1 = await topic('fenced-for-good', 1);
    const transactionalId = unique('txn');
    const zombie = await transactional(ctx, await transport(), transactionalId);
    await zombie.init();
    const successor = await transactional(ctx, await transport(), transactionalId);
    await successor.init();
    for (const value of ['zombie', 'again']) {
      const error = await rejection(zombie.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value }]));
      expect(FencedError.isInstance(error), `send ${value}: ${String(error)}`).toBe(true);
      expect((error as FencedError).retriable).toBe(false);
    }
  });

  test("a new owner's init() ends the open transaction of the previous owner: its records are never read, the new owner's are", async (ctx) => {
    const open = h().openTransaction;
    if (open === undefined) return ctx.skip(`the ${name} harness has no openTransaction(): takeover case skipped`);
    const t1 = await topic('takeover', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const transactionalId = unique('txn');
    const left = await open.call(h(), transactionalId, [
      { topic: t1, partition: 0, key: 'k', value: 'left open 1' },
      { topic: t1, partition: 0, key: 'k', value: 'left open 2' },
    ]);
    const successor = await transactional(ctx, t, transactionalId);
    await successor.init();
    const [last] = await successor.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'successor' }]);
    await left.commit().catch(() => {}); // fenced: must not take effect
    const { collector } = await consume(t1);
    await waitForEof(collector, tp, (await settledEnd(t, tp, last!.offset + 2)).high);
    expect(collector.values(tp)).toEqual(['successor']);
    expectNoViolations(collector);
  });

  test("a commit that did not wait to be readable (readableTopics: []) is readable once a new producer's init() with the same id returned", async (ctx) => {
    // The engine relies on this instead of waiting after every commit: it reads its partition
    // again only after an InitProducerId of the partition's transactional id, which the
    // coordinator answers once the markers of the last commit are written.
    const t1 = await topic('txn-readable', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const transactionalId = unique('txn');
    let producer = await transactional(ctx, t, transactionalId);
    await producer.init();
    for (let round = 0; round < 5; round++) {
      const metas = await producer.sendInTransaction(
        [
          { topic: t1, partition: 0, key: `k${round}`, value: 'target' },
          { topic: t1, partition: 0, key: `k${round}`, value: null },
        ],
        { readableTopics: [] },
      );
      // No close first: the successor fences the producer that just committed.
      const successor = await transactional(ctx, t, transactionalId);
      await successor.init();
      const { high } = await t.fetchWatermarks(tp);
      expect(high, `round ${round}: read-committed end after the successor's init`).toBeGreaterThan(metas[1]!.offset);
      producer = successor;
    }
  });

  test('transactional producer: close() is idempotent and refuses further sends', async (ctx) => {
    const t1 = await topic('txn-close', 1);
    const t = await transport();
    const producer = await transactional(ctx, t, unique('txn'));
    await producer.init();
    await producer.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'v' }]);
    await producer.close();
    await producer.close();
    const late = await rejection(producer.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'late' }]));
    expect(SchedulerError.isInstance(late), `a send after close(): ${String(late)}`).toBe(true);
  });
}
