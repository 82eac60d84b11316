import { describe, expect, it } from 'vitest';
import { StateError } from '@ksched/core';
import { Recorder, tpKey, unique, useResources, waitUntil } from './helpers.js';

const r = useResources();

describe('kafkajs transport: group membership', () => {
  it('two members split the partitions (revoke before reassign); one leaving moves its partitions to the other', async () => {
    const topic = await r.topic('group', 4);
    const groupId = unique('group');
    const all = [0, 1, 2, 3].map((partition) => tpKey({ topic, partition }));
    const producer = await r.transport();
    const a = await r.transport();
    const b = await r.transport();
    const ra = new Recorder();
    const rb = new Recorder();
    await a.subscribe({ groupId, topics: [topic], listener: ra });
    await waitUntil(() => ra.owned.size === 4, 'A owning all 4 partitions');
    const subB = await b.subscribe({ groupId, topics: [topic], listener: rb });
    const split = (): boolean => ra.owned.size > 0 && rb.owned.size > 0 && all.every((k) => ra.owned.has(k) !== rb.owned.has(k));
    await waitUntil(split, () => `a split (A: ${[...ra.owned].join(', ')}; B: ${[...rb.owned].join(', ')})`);
    expect(ra.owned.size + rb.owned.size).toBe(4);
    for (const k of rb.owned) expect(ra.lastSeq('revoked', k), `A revoked ${k} before B got it`).toBeLessThan(rb.lastSeq('assigned', k));

    const owner = (p: number): Recorder => (ra.owned.has(tpKey({ topic, partition: p })) ? ra : rb);
    await producer.produce([0, 1, 2, 3].map((p) => ({ topic, partition: p, key: `k${p}`, value: `split-${p}` })));
    for (let p = 0; p < 4; p++) {
      await waitUntil(() => owner(p).values({ topic, partition: p }).includes(`split-${p}`), `split-${p} delivered to its owner`);
    }
    // Committing is informational but must work for owned partitions.
    const bOwned = [...rb.owned].map((k) => Number(k.split('/').pop()));
    await b.commitOffsets(bOwned.map((partition) => ({ topic, partition, offset: 1 })));

    await subB.close();
    expect(rb.owned.size, 'close() revokes every partition before it resolves').toBe(0);
    await waitUntil(
      () => ra.owned.size === 4,
      () => `A owning all 4 after B left (A: ${[...ra.owned].join(', ')})`,
    );
    for (const k of all) {
      const revokedByB = rb.lastSeq('revoked', k);
      if (revokedByB >= 0) expect(revokedByB, `B revoked ${k} before A got it back`).toBeLessThan(ra.lastSeq('assigned', k));
    }
    await producer.produce([0, 1, 2, 3].map((p) => ({ topic, partition: p, key: `k${p}`, value: `alone-${p}` })));
    for (let p = 0; p < 4; p++) {
      await waitUntil(() => ra.values({ topic, partition: p }).includes(`alone-${p}`), `alone-${p} delivered to A`);
    }
    // B's commit (offset 1) is where a new member without a seek would start.
    expect(ra.violations).toEqual([]);
    expect(rb.violations).toEqual([]);
    expect(ra.errors).toEqual([]);
    expect(rb.errors).toEqual([]);
    expect(await b.commitOffsets([{ topic, partition: 0, offset: 1 }]).catch((e: unknown) => e)).toSatisfy(StateError.isInstance);
  });

  it('without a seek in onAssigned, a member starts at the committed offset and still gets its EOF notice', async () => {
    const topic = await r.topic('committed', 1);
    const groupId = unique('group');
    const t = await r.transport();
    await t.produce(['a', 'b', 'c', 'd'].map((v) => ({ topic, partition: 0, key: v, value: v })));
    const first = await r.consume([topic], new Recorder(), groupId);
    await first.recorder.waitForEof({ topic, partition: 0 }, 4);
    await first.transport.commitOffsets([{ topic, partition: 0, offset: 2 }]);
    await first.subscription.close();
    const second = await r.consume([topic], new Recorder(), groupId);
    await second.recorder.waitForEof({ topic, partition: 0 }, 4);
    expect(second.recorder.values({ topic, partition: 0 })).toEqual(['c', 'd']);
  });

  it('a long onBatch keeps the membership (heartbeats continue) and batches of a partition never overlap', async () => {
    const topic = await r.topic('slow', 2);
    const t = await r.transport();
    await t.produce([0, 1].flatMap((p) => [0, 1, 2].map((i) => ({ topic, partition: p, key: `k${i}`, value: `${p}-${i}` }))));
    const recorder = new Recorder();
    let slowOnce = true;
    recorder.onBatchHook = async (batch) => {
      if (slowOnce && batch.records.length > 0) {
        slowOnce = false;
        await new Promise((resolve) => setTimeout(resolve, 8000));
      }
    };
    const joins: string[] = [];
    const logger = {
      debug: () => {},
      info: (_fields: Record<string, unknown>, message: string) => {
        if (message === 'Consumer has joined the group') joins.push(message);
      },
      warn: () => {},
      error: () => {},
    };
    const transport = await r.transport({ sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, logLevel: 'info', logger });
    await r.consume([topic], recorder, unique('group'), transport);
    await recorder.waitForEof({ topic, partition: 0 }, 3, 0, 30_000);
    await recorder.waitForEof({ topic, partition: 1 }, 3, 0, 30_000);
    // The member was never expired: one join, no revocation.
    expect(joins).toHaveLength(1);
    expect(recorder.events.filter((e) => e.kind === 'revoked')).toEqual([]);
    expect(recorder.violations).toEqual([]);
  });
});
