import { describe, expect, it } from 'vitest';
import { FencedError, StateError, TransportError } from '@ksched/core';
import { Kafka, logLevel } from 'kafkajs';
import { isFencedError } from '../src/index.js';
import { waitForEndOffset } from '@ksched/testkit';
import { brokers, unique, useResources } from './helpers.js';

const r = useResources();

function rawKafka(): Kafka {
  return new Kafka({ brokers, clientId: 'ksched-kafkajs-test-raw', logLevel: logLevel.NOTHING });
}

describe('kafkajs transport: transactions', () => {
  it('commit makes records visible; a failed send aborts the whole transaction (read committed never sees it)', async () => {
    const topic = await r.topic('txn', 1);
    const t = await r.transport();
    const tx = r.producer(await t.createTransactionalProducer(unique('txn')));
    expect(tx.transactionalId).toMatch(/^ksched-kjs-txn-/);
    // Before init(): refused.
    expect(await tx.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'early' }]).catch((e: unknown) => e)).toSatisfy(
      StateError.isInstance,
    );
    await tx.init();
    expect(await tx.init().catch((e: unknown) => e)).toSatisfy(StateError.isInstance);
    const first = await tx.sendInTransaction([
      { topic, partition: 0, key: 'k', value: 'c1' },
      { topic, partition: 0, key: 'k', value: 'c2' },
    ]);
    expect(first.map((m) => [m.partition, m.offset])).toEqual([
      [0, 0],
      [0, 1],
    ]);
    const failed = await tx
      .sendInTransaction([
        { topic, partition: 0, key: 'x', value: 'x1' },
        { topic, partition: 0, key: 'x', value: 'x2' },
        { topic, partition: 42, key: 'x', value: 'no such partition' },
      ])
      .catch((e: unknown) => e);
    expect(TransportError.isInstance(failed)).toBe(true);
    // The same producer goes on after an aborted transaction.
    const [c3] = await tx.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'c3' }]);
    const wm = await waitForEndOffset(t, { topic, partition: 0 }, c3!.offset + 2); // c3 and its commit marker
    const { recorder } = await r.consume([topic]);
    await recorder.waitForEof({ topic, partition: 0 }, wm.high);
    expect(recorder.values({ topic, partition: 0 })).toEqual(['c1', 'c2', 'c3']);
    expect(recorder.violations).toEqual([]);
  });

  it('an open transaction stops the read-committed end offset; its records arrive once it commits, with a new EOF', async () => {
    const topic = await r.topic('open-txn', 1);
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    const [before] = await t.produce([{ topic, partition: 0, key: 'k', value: 'before' }]);
    const raw = rawKafka().producer({ transactionalId: unique('raw-txn'), idempotent: true, maxInFlightRequests: 1 });
    await raw.connect();
    try {
      const open = await raw.transaction();
      await open.send({ topic, messages: [{ key: 'k', value: 'in-txn', partition: 0 }], acks: -1 });
      await t.produce([{ topic, partition: 0, key: 'k', value: 'after' }]);
      const wm = await t.fetchWatermarks(tp);
      expect(wm.high).toBe(before!.offset + 1);
      const { recorder } = await r.consume([topic]);
      expect((await recorder.waitForEof(tp, wm.high)).position).toBe(wm.high);
      expect(recorder.values(tp)).toEqual(['before']);
      const mark = recorder.batches.length;
      await open.commit();
      const wm2 = await waitForEndOffset(t, tp, before!.offset + 4);
      expect(wm2.high).toBe(before!.offset + 4); // in-txn, after, commit marker
      expect((await recorder.waitForEof(tp, wm2.high, mark)).position).toBe(wm2.high);
      expect(recorder.values(tp)).toEqual(['before', 'in-txn', 'after']);
      expect(recorder.violations).toEqual([]);
    } finally {
      await raw.disconnect();
    }
  });

  it('fencing: init() of a new producer with the same id fences the older one (its next transaction fails)', async () => {
    const topic = await r.topic('fencing', 1);
    const first = await r.transport();
    const second = await r.transport();
    const id = unique('txn');
    const zombie = r.producer(await first.createTransactionalProducer(id));
    await zombie.init();
    await zombie.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'first' }]);
    const successor = r.producer(await second.createTransactionalProducer(id));
    await successor.init();
    const error = await zombie.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'zombie' }]).catch((e: unknown) => e);
    expect(FencedError.isInstance(error)).toBe(true);
    expect((error as FencedError).retriable).toBe(false);
    expect((error as Error).message).toMatch(/fenced/);
    expect(isFencedError((error as Error).cause)).toBe(true);
    // Fenced for good.
    expect(await zombie.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'again' }]).catch((e: unknown) => e)).toSatisfy(
      FencedError.isInstance,
    );
    const [secondMeta] = await successor.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'second' }]);
    const wm = await waitForEndOffset(first, { topic, partition: 0 }, secondMeta!.offset + 2);
    const { recorder } = await r.consume([topic]);
    await recorder.waitForEof({ topic, partition: 0 }, wm.high);
    expect(recorder.values({ topic, partition: 0 })).toEqual(['first', 'second']);
  });

  it("fencing: init() waits until the older producer's open transaction is aborted (what the new owner loads is final)", async () => {
    const topic = await r.topic('fencing-open', 1);
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    const id = unique('txn');
    // The zombie: a transaction left open mid-flush.
    const raw = rawKafka().producer({ transactionalId: id, idempotent: true, maxInFlightRequests: 1 });
    await raw.connect();
    try {
      const open = await raw.transaction();
      await open.send({
        topic,
        messages: [
          { key: 'k', value: 'zombie-1', partition: 0 },
          { key: 'k', value: 'zombie-2', partition: 0 },
        ],
        acks: -1,
      });
      expect((await t.fetchWatermarks(tp)).high).toBe(0); // stuck before the open transaction
      const successor = r.producer(await t.createTransactionalProducer(id));
      const started = Date.now();
      await successor.init();
      const initMs = Date.now() - started;
      console.info(`init() with an open transaction of the fenced producer took ${initMs} ms`);
      // Right after init(), the zombie's transaction is aborted: the end offset passed its abort marker.
      const wm = await t.fetchWatermarks(tp);
      expect(wm.high).toBe(3);
      const commitError = await open.commit().catch((e: unknown) => e);
      expect(isFencedError(commitError)).toBe(true);
      const [last] = await successor.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'successor' }]);
      const { recorder } = await r.consume([topic]);
      await recorder.waitForEof(tp, (await waitForEndOffset(t, tp, last!.offset + 2)).high);
      expect(recorder.values(tp)).toEqual(['successor']);
      expect(initMs).toBeLessThan(30_000);
    } finally {
      await raw.disconnect();
    }
  });

  it('close() aborts an open transaction and refuses further use', async () => {
    const topic = await r.topic('txn-close', 1);
    const t = await r.transport();
    const tx = await t.createTransactionalProducer(unique('txn'));
    await tx.init();
    await tx.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'v' }]);
    await tx.close();
    await tx.close();
    expect(await tx.sendInTransaction([{ topic, partition: 0, key: 'k', value: 'late' }]).catch((e: unknown) => e)).toSatisfy(
      StateError.isInstance,
    );
  });
});
