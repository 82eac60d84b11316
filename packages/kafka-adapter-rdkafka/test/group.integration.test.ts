import { describe, expect, it } from 'vitest';
import type { TopicPartition } from '@ksched/core';
import { Recorder, sleep, tpKey, unique, useResources, waitUntil } from './helpers.js';

const r = useResources();

describe('rdkafka transport: consumer group', () => {
  it('two members split the partitions: onRevoked settles before another member gets them; one leaves, the other gets all', async () => {
    const topic = await r.topic('group', 4);
    const groupId = unique('group');
    const all = [0, 1, 2, 3].map((partition) => tpKey({ topic, partition }));
    const producer = await r.transport();
    const a = new Recorder();
    const b = new Recorder();
    const ta = await r.transport();
    const tb = await r.transport();
    // A's onRevoked is slow: B must not get A's partitions before it settled.
    let revoking = false;
    const slowRevoke = a.onRevoked.bind(a);
    const revokedAt: number[] = [];
    a.onRevoked = (partitions: readonly TopicPartition[]) => {
      revoking = true;
      return sleep(300).then(() => {
        revokedAt.push(Date.now());
        slowRevoke(partitions);
        revoking = false;
      }) as unknown as void;
    };
    // Every assigned partition is read from its beginning, like the engine does.
    a.onAssignedHook = async (tps) => {
      for (const tp of tps) await ta.seekToBeginning(tp);
    };
    b.onAssignedHook = async (tps) => {
      expect(revoking, 'B assigned while A was still revoking').toBe(false);
      for (const tp of tps) await tb.seekToBeginning(tp);
      // Records arriving while onAssigned runs wait until it settled.
      await producer.produce(tps.map((tp) => ({ ...tp, key: 'k', value: `during-assign-${tp.partition}` })));
      await sleep(50);
    };
    await ta.subscribe({ groupId, topics: [topic], listener: a });
    await waitUntil(
      () => a.owned.size === 4,
      () => `A owning 4 partitions (owns ${[...a.owned].join(', ')})`,
    );
    const subB = await tb.subscribe({ groupId, topics: [topic], listener: b });
    const split = (): boolean => a.owned.size > 0 && b.owned.size > 0 && a.owned.size + b.owned.size === 4;
    await waitUntil(split, () => `a split (A ${[...a.owned].join(', ')}; B ${[...b.owned].join(', ')})`);
    for (const k of b.owned) expect(a.lastSeq('revoked', k)).toBeLessThan(b.lastSeq('assigned', k));

    await producer.produce([0, 1, 2, 3].map((partition) => ({ topic, partition, key: `k${partition}`, value: `split-${partition}` })));
    const owner = (partition: number): Recorder => (a.owned.has(tpKey({ topic, partition })) ? a : b);
    for (let partition = 0; partition < 4; partition++) {
      const tp = { topic, partition };
      await waitUntil(() => owner(partition).values(tp).includes(`split-${partition}`), `split-${partition} at its owner`);
      if (owner(partition) === b) expect(b.values(tp)).toContain(`during-assign-${partition}`);
    }

    await subB.close();
    expect(b.owned.size, 'close() revokes every partition before resolving').toBe(0);
    await waitUntil(
      () => a.owned.size === 4,
      () => `A owning all 4 again (owns ${[...a.owned].join(', ')})`,
    );
    for (const k of all) {
      const revokedByB = b.lastSeq('revoked', k);
      if (revokedByB >= 0) expect(revokedByB).toBeLessThan(a.lastSeq('assigned', k));
    }
    await producer.produce([0, 1, 2, 3].map((partition) => ({ topic, partition, key: `k${partition}`, value: `alone-${partition}` })));
    for (let partition = 0; partition < 4; partition++) {
      const tp = { topic, partition };
      await waitUntil(() => a.values(tp).includes(`alone-${partition}`), `alone-${partition} at A`);
      // A read every partition from its beginning after getting it back.
      expect(a.values(tp).filter((v) => v === `split-${partition}`).length).toBeGreaterThanOrEqual(1);
    }
    for (const rec of [a, b]) {
      expect(rec.violations).toEqual([]);
      expect(rec.errors).toEqual([]);
    }
  });

  it('a slow onBatch holds its partition only: other partitions keep flowing, and the slow one pauses under backpressure', async () => {
    const topic = await r.topic('backpressure', 2);
    const t = await r.transport();
    await t.produce(Array.from({ length: 300 }, (_, i) => ({ topic, partition: 0, key: `k${i}`, value: `slow-${i}` })));
    const recorder = new Recorder();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    recorder.onBatchHook = async (batch) => {
      if (batch.partition === 0 && batch.records.length > 0) await gate;
    };
    await r.consume([topic], recorder, unique('group'), await r.transport({ consumeBatchSize: 20, maxQueuedRecordsPerPartition: 40 }));
    await t.produce([{ topic, partition: 1, key: 'fast', value: 'fast' }]);
    await waitUntil(() => recorder.values({ topic, partition: 1 }).includes('fast'), 'partition 1 delivered while partition 0 is blocked');
    expect(recorder.values({ topic, partition: 0 }).length).toBeLessThanOrEqual(20);
    release();
    await recorder.waitForEof({ topic, partition: 0 }, 300);
    expect(recorder.offsets({ topic, partition: 0 })).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(recorder.violations).toEqual([]);
  });
});
