/**
 * Conformance cases about group delivery under pressure: seeks while batches flow (inside
 * `onBatch` and from outside), a seek inside `onAssigned`, a rejecting `onBatch` (bounded
 * redelivery, then stopped until a seek) and a slow `onRevoked`.
 *
 * @module
 */
import { expect } from 'vitest';
import { TransportError } from '@ksched/core';
import type { GroupListener, PartitionBatch, TopicPartition, Transport } from '@ksched/core';
import type { Collector } from '../collector.js';
import type { ConformanceContext } from '../context.js';
import { key, sleep } from '../support.js';

/** Hooks run after the collector saw the batch (a rejection is the listener's) and before it sees a revocation. */
interface Hooks {
  afterBatch?(batch: PartitionBatch): Promise<void>;
  beforeRevoke?(partitions: readonly TopicPartition[]): Promise<void>;
}

function hooked(c: Collector, hooks: Hooks): GroupListener {
  return {
    onAssigned: (tps) => c.onAssigned(tps),
    onRevoked: async (tps) => {
      await hooks.beforeRevoke?.(tps);
      await c.onRevoked(tps);
    },
    onBatch: async (batch) => {
      await c.onBatch(batch);
      await hooks.afterBatch?.(batch);
    },
    onError: (error) => c.onError(error),
  };
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** A member of a fresh group on `topicName` with `hooks`, once it owns all `partitions`. */
async function member(
  ctx: ConformanceContext,
  topicName: string,
  partitions: number,
  hooks: Hooks,
): Promise<{ t: Transport; c: Collector }> {
  const t = await ctx.transport();
  const c = ctx.collector(t);
  await t.subscribe({ groupId: ctx.unique('group'), topics: [topicName], listener: hooked(c, hooks) });
  await ctx.waitUntil(() => c.owned.size === partitions, `assignment of ${partitions} partitions`);
  return { t, c };
}

/** Seeks while batches flow and a seek inside onAssigned. */
export function describeDelivery(ctx: ConformanceContext): void {
  const { unique, waitUntil, topic, transport, collector, settledEnd, waitForEof, expectNoViolations, test } = ctx;

  test('seek and seekToBeginning while batches flow (inside onBatch and from outside): nothing fetched before the seek is delivered after it', async () => {
    const t1 = await topic('seek-flowing', 1);
    const producer = await transport();
    const tp = { topic: t1, partition: 0 };
    const total = 2000;
    for (let i = 0; i < total; i += 500) {
      await producer.produce(range(i, i + 500).map((n) => ({ topic: t1, partition: 0, key: `k${n % 7}`, value: `v${n}` })));
    }
    const end = (await settledEnd(producer, tp, total)).high;
    let inside: ((batch: PartitionBatch) => Promise<void>) | undefined;
    const { t, c } = await member(ctx, t1, 1, {
      afterBatch: async (batch) => {
        const run = inside;
        if (run && batch.records.length > 0) {
          inside = undefined;
          await run(batch);
        }
      },
    });
    await waitForEof(c, tp, end);
    expect(c.records(tp).map((r) => r.offset)).toEqual(range(0, total));
    // From outside, while the pass a seekToBeginning started is under way.
    await t.seekToBeginning(tp);
    expect(await t.seek(tp, 100)).toMatchObject({ high: end });
    let mark = c.batches.length;
    await waitForEof(c, tp, end, mark);
    expect(c.records(tp, mark).map((r) => r.offset)).toEqual(range(100, total));
    // Inside onBatch: seekToBeginning, then a seek near the end.
    for (const [seek, from] of [
      [(x: TopicPartition) => t.seekToBeginning(x), 0],
      [(x: TopicPartition) => t.seek(x, total - 10), total - 10],
    ] as const) {
      mark = -1;
      inside = async () => {
        await seek(tp);
        mark = c.batches.length;
      };
      await t.seekToBeginning(tp);
      await waitUntil(() => mark >= 0, 'the seek inside onBatch');
      await waitForEof(c, tp, end, mark);
      expect(c.records(tp, mark).map((r) => r.offset)).toEqual(range(from, total));
    }
    expectNoViolations(c);
  });

  test('a seek inside onAssigned decides where delivery starts (a middle offset, below low → low, beyond high → an EOF notice at high)', async () => {
    const t3 = await topic('seek-assigned', 3);
    const producer = await transport();
    for (const partition of [0, 1, 2]) {
      await producer.produce(range(0, 5).map((i) => ({ topic: t3, partition, key: `k${i}`, value: `p${partition}-${i}` })));
    }
    const ends = await Promise.all([0, 1, 2].map(async (partition) => (await settledEnd(producer, { topic: t3, partition }, 5)).high));
    const sought: Record<number, { low: number; high: number }> = {};
    const t = await transport();
    const c = collector(t);
    c.duringAssign = async (tps) => {
      for (const x of tps) sought[x.partition] = await t.seek(x, x.partition === 0 ? 3 : x.partition === 1 ? -5 : 99);
    };
    await t.subscribe({ groupId: unique('group'), topics: [t3], listener: c });
    await waitUntil(() => c.owned.size === 3, 'assignment of 3 partitions');
    for (const partition of [0, 1, 2]) await waitForEof(c, { topic: t3, partition }, ends[partition]!);
    expect(c.records({ topic: t3, partition: 0 }).map((r) => r.offset)).toEqual([3, 4]);
    expect(c.records({ topic: t3, partition: 1 }).map((r) => r.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(c.records({ topic: t3, partition: 2 })).toEqual([]);
    expect(Object.values(sought).map((wm) => wm.high)).toEqual(ends);
    expectNoViolations(c);
  });
}

/** A rejecting onBatch (bounded redelivery, then stopped until a seek) and a slow onRevoked. */
export function describeListenerFailures(ctx: ConformanceContext): void {
  const { unique, waitUntil, topic, transport, collector, waitForEof, expectNoViolations, test } = ctx;

  test('a rejected batch is redelivered (the rejection goes to onError) a bounded number of times, then the partition stops until its next seek', async () => {
    const t2 = await topic('failing', 2);
    const producer = await transport();
    await producer.produce([0, 1].flatMap((p) => ['a', 'b', 'c'].map((v) => ({ topic: t2, partition: p, key: v, value: `${p}${v}` }))));
    const attempts = [0, 0];
    let failP1 = true;
    const { t, c } = await member(ctx, t2, 2, {
      afterBatch: async (batch) => {
        if (batch.records.length === 0) return;
        const n = ++attempts[batch.partition]!;
        // Partition 0 fails once, then succeeds; partition 1 fails until told otherwise.
        if ((batch.partition === 0 && n === 1) || (batch.partition === 1 && failP1)) throw new Error(`p${batch.partition} attempt ${n}`);
      },
    });
    const p0 = { topic: t2, partition: 0 };
    const p1 = { topic: t2, partition: 1 };
    await waitForEof(c, p0, 3);
    // The rejected batch again, from its first record.
    const p0Batches = c.batches.filter((b) => key(b) === key(p0) && b.records.length > 0);
    expect(p0Batches.slice(0, 2).map((b) => b.records.map((r) => r.offset))).toEqual([
      p0Batches[0]!.records.map((r) => r.offset),
      p0Batches[0]!.records.map((r) => r.offset),
    ]);
    expect(p0Batches[0]!.records[0]!.offset).toBe(0);
    await waitUntil(() => c.errors.some((e) => TransportError.isInstance(e)), 'the report that partition 1 stopped');
    const stoppedAt = attempts[1]!;
    expect(stoppedAt).toBeGreaterThan(1);
    const rejections = c.errors.filter((e) => !TransportError.isInstance(e)).map((e) => (e as Error).message);
    expect(rejections.filter((m) => m.startsWith('p1'))).toEqual(range(1, stoppedAt + 1).map((n) => `p1 attempt ${n}`));
    // Stopped: new records of partition 1 are not delivered while partition 0 goes on.
    const mark = c.batches.length;
    await producer.produce([
      { topic: t2, partition: 1, key: 'd', value: '1d' },
      { topic: t2, partition: 0, key: 'd', value: '0d' },
    ]);
    await waitForEof(c, p0, 4, mark);
    expect(attempts[1]).toBe(stoppedAt);
    expect(c.records(p1, mark)).toEqual([]);
    // A seek restarts it.
    failP1 = false;
    const restart = c.batches.length;
    await t.seekToBeginning(p1);
    await waitForEof(c, p1, 4, restart);
    expect(c.values(p1, restart)).toEqual(['1a', '1b', '1c', '1d']);
    expect(c.violations).toEqual([]);
  });

  test('a slow onRevoked settles before another member gets the partitions', async () => {
    const t4 = await topic('slow-revoke', 4);
    const groupId = unique('group');
    const a = await transport();
    const b = await transport();
    const ca = collector(a);
    const cb = collector(b);
    let revoking = false;
    const overlaps: string[] = [];
    const listenerA = hooked(ca, {
      beforeRevoke: async () => {
        revoking = true;
        await sleep(300);
        revoking = false;
      },
    });
    cb.duringAssign = async (tps) => {
      if (revoking) overlaps.push(`B got ${tps.map(key).join(', ')} while A was still revoking`);
    };
    await a.subscribe({ groupId, topics: [t4], listener: listenerA });
    await waitUntil(() => ca.owned.size === 4, 'A owning all 4 partitions');
    await b.subscribe({ groupId, topics: [t4], listener: cb });
    await waitUntil(
      () => ca.owned.size > 0 && cb.owned.size > 0 && ca.owned.size + cb.owned.size === 4,
      () => `a split (A owns ${[...ca.owned].join(', ')}; B owns ${[...cb.owned].join(', ')})`,
    );
    expect(overlaps).toEqual([]);
    for (const k of cb.owned) expect(ca.lastSeq('revoked', k), `A revoked ${k} before B got it`).toBeLessThan(cb.lastSeq('assigned', k));
    // Committing is informational, but works for the partitions a member owns.
    await b.commitOffsets([...cb.owned].map((k) => ({ topic: t4, partition: Number(k.split('/').pop()), offset: 0 })));
    expectNoViolations(ca, cb);
  });
}
