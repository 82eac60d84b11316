import { describe, expect, it } from 'vitest';
import { FencedError, StateError } from '@ksched/core';
import { waitForEndOffset } from '@ksched/testkit';
import { openTransaction, unique, useResources } from './helpers.js';

const r = useResources();

describe('rdkafka transactional producer', () => {
  it('commits are visible to read-committed readers; aborted and failed transactions never are', async () => {
    const topic = await r.topic('txn');
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    const producer = r.producer(await t.createTransactionalProducer(unique('txn')));
    await expect(producer.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'early' }])).rejects.toSatisfy(StateError.isInstance);
    await producer.init();
    await expect(producer.init()).rejects.toSatisfy(StateError.isInstance);
    const metas = await producer.sendInTransaction([
      { topic, partition: 0, key: 'k', value: 'c1' },
      { topic, key: 'other', partitionKey: 'k', value: 'c2' },
    ]);
    expect(metas.map((m) => [m.partition, m.offset])).toEqual([
      [0, 0],
      [0, 1],
    ]);
    // The commit marker takes offset 2 (written just after the commit is acknowledged).
    expect((await waitForEndOffset(t, tp, 3)).high).toBe(3);

    const aborted = await openTransaction(unique('raw'), [{ topic, partition: 0, key: 'x', value: 'aborted' }]);
    await aborted.abort();

    // A send that fails mid-transaction (partition 7 does not exist) aborts the records already sent.
    await expect(
      producer.sendInTransaction([
        { topic, partition: 0, key: 'x', value: 'failed-1' },
        { topic, partition: 7, key: 'x', value: 'failed-2' },
      ]),
    ).rejects.toThrow();
    // …and the producer stays usable.
    const [c3] = await producer.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'c3' }]);
    const wm = await waitForEndOffset(t, tp, c3!.offset + 2);
    const { recorder } = await r.consume([topic]);
    await recorder.waitForEof(tp, wm.high);
    expect(recorder.values(tp)).toEqual(['c1', 'c2', 'c3']);
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });

  it('the end offset stops before an open transaction; its records arrive once it commits', async () => {
    const topic = await r.topic('open-txn');
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    const [before] = await t.produce([{ topic, partition: 0, key: 'k', value: 'before' }]);
    const txn = await openTransaction(unique('raw'), [{ topic, partition: 0, key: 'k', value: 'in-txn' }]);
    let settled = false;
    try {
      await t.produce([{ topic, partition: 0, key: 'k', value: 'after' }]);
      const wm = await t.fetchWatermarks(tp);
      expect(wm.high).toBe(before!.offset + 1);
      const { recorder } = await r.consume([topic]);
      const eof = await recorder.waitForEof(tp, wm.high);
      expect(eof.position).toBe(wm.high);
      expect(recorder.values(tp)).toEqual(['before']);
      const mark = recorder.batches.length;
      await txn.commit();
      settled = true;
      await recorder.waitForEof(tp, before!.offset + 4, mark);
      expect(recorder.values(tp)).toEqual(['before', 'in-txn', 'after']);
    } finally {
      if (!settled) await txn.abort().catch(() => {});
    }
  });

  it('init() of a second producer with the same id fences the first: its sends reject with FencedError, for good', async () => {
    const topic = await r.topic('fencing');
    const first = await r.transport();
    const second = await r.transport();
    const transactionalId = unique('txn');
    const zombie = r.producer(await first.createTransactionalProducer(transactionalId));
    await zombie.init();
    await zombie.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'first' }]);
    const successor = r.producer(await second.createTransactionalProducer(transactionalId));
    await successor.init();
    const error = await zombie.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'zombie' }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(FencedError.isInstance(error), String(error)).toBe(true);
    expect((error as FencedError).retriable).toBe(false);
    await expect(zombie.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'again' }])).rejects.toSatisfy(FencedError.isInstance);
    const [secondMeta] = await successor.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'second' }]);
    const wm = await waitForEndOffset(first, { topic, partition: 0 }, secondMeta!.offset + 2);
    const { recorder } = await r.consume([topic]);
    await recorder.waitForEof({ topic, partition: 0 }, wm.high);
    expect(recorder.values({ topic, partition: 0 })).toEqual(['first', 'second']);
  });

  it("a new owner's init() aborts the open transaction of the previous one", async () => {
    const topic = await r.topic('takeover');
    const t = await r.transport();
    const transactionalId = unique('txn');
    const open = await openTransaction(transactionalId, [{ topic, partition: 0, key: 'k', value: 'left open' }]);
    const successor = r.producer(await t.createTransactionalProducer(transactionalId));
    await successor.init();
    const [last] = await successor.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'successor' }]);
    await open.commit().catch(() => {}); // fenced: must not take effect
    const wm = await waitForEndOffset(t, { topic, partition: 0 }, last!.offset + 2);
    const { recorder } = await r.consume([topic]);
    await recorder.waitForEof({ topic, partition: 0 }, wm.high);
    expect(recorder.values({ topic, partition: 0 })).toEqual(['successor']);
  });
});
