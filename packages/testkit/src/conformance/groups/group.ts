/**
 * Conformance cases about group membership.
 *
 * @module
 */
import { expect } from 'vitest';
import type { Collector } from '../collector.js';
import type { ConformanceContext } from '../context.js';
import { key } from '../support.js';

/** Two members split the partitions; one leaves, the other gets all. */
export function describeGroupMembership(ctx: ConformanceContext): void {
  const { unique, waitUntil, topic, transport, expectNoViolations, test, collector } = ctx;
  test('group: two members split the partitions (revoke before reassign, batches only for owned partitions); one leaves, the other gets all', async () => {
    const t4 = await topic('group', 4);
    const groupId = unique('group');
    const all = [0, 1, 2, 3].map((p) => key({ topic: t4, partition: p }));
    const producer = await transport();
    const a = await transport();
    const b = await transport();
    const ca = collector(a);
    const cb = collector(b);
    await a.subscribe({ groupId, topics: [t4], listener: ca });
    await waitUntil(
      () => ca.owned.size === 4,
      () => `member A owning all 4 partitions (owns ${[...ca.owned].join(', ')})`,
    );
    // Records arriving while B's onAssigned runs must wait until it settled.
    cb.duringAssign = async (tps) => {
      await producer.produce(
        tps.map((tp) => ({ topic: tp.topic, partition: tp.partition, key: 'k', value: `during-assign-${tp.partition}` })),
      );
    };
    const subB = await b.subscribe({ groupId, topics: [t4], listener: cb });
    const split = (): boolean =>
      ca.owned.size > 0 && cb.owned.size > 0 && ca.owned.size + cb.owned.size === 4 && all.every((k) => ca.owned.has(k) || cb.owned.has(k));
    await waitUntil(split, () => `a split (A owns ${[...ca.owned].join(', ')}; B owns ${[...cb.owned].join(', ')})`);
    for (const k of cb.owned) expect(ca.lastSeq('revoked', k), `A revoked ${k} before B got it`).toBeLessThan(cb.lastSeq('assigned', k));

    const owner = (p: number): Collector => (ca.owned.has(key({ topic: t4, partition: p })) ? ca : cb);
    await producer.produce([0, 1, 2, 3].map((p) => ({ topic: t4, partition: p, key: `k${p}`, value: `split-${p}` })));
    for (let p = 0; p < 4; p++) {
      const tp = { topic: t4, partition: p };
      await waitUntil(() => owner(p).values(tp).includes(`split-${p}`), `split-${p} delivered to its owner`);
      if (owner(p) === cb) expect(cb.values(tp)).toContain(`during-assign-${p}`);
    }

    await subB.close();
    expect(cb.owned.size, 'close() revokes every partition before resolving').toBe(0);
    await waitUntil(
      () => ca.owned.size === 4,
      () => `A owning all 4 partitions after B left (owns ${[...ca.owned].join(', ')})`,
    );
    for (const k of all) {
      const revokedByB = cb.lastSeq('revoked', k);
      if (revokedByB >= 0) expect(revokedByB, `B revoked ${k} before A got it back`).toBeLessThan(ca.lastSeq('assigned', k));
    }
    await producer.produce([0, 1, 2, 3].map((p) => ({ topic: t4, partition: p, key: `k${p}`, value: `alone-${p}` })));
    for (let p = 0; p < 4; p++) {
      const tp = { topic: t4, partition: p };
      await waitUntil(() => ca.values(tp).includes(`alone-${p}`), `alone-${p} delivered to A`);
    }
    expectNoViolations(ca, cb);
  });

  test('group: onJoined tells each member its whole assignment after a join, empty for a standby (1 partition, 2 members); the standby takes over when the owner leaves', async () => {
    const t1 = await topic('joined', 1);
    const groupId = unique('group');
    const only = key({ topic: t1, partition: 0 });
    const a = await transport();
    const b = await transport();
    const ca = collector(a);
    const cb = collector(b);
    const subA = await a.subscribe({ groupId, topics: [t1], listener: ca });
    await waitUntil(
      () => ca.lastJoin()?.join() === only,
      () => `A joined with [${only}] (joins: ${JSON.stringify(ca.joins)})`,
    );
    const aJoinsBefore = ca.joins.length;
    const subB = await b.subscribe({ groupId, topics: [t1], listener: cb });
    // Both rejoin; one of them (the assignor's choice) gets the partition, the other none.
    const settled = (): boolean => {
      const ja = ca.lastJoin();
      const jb = cb.lastJoin();
      return ca.joins.length > aJoinsBefore && ja !== undefined && jb !== undefined && [...ja, ...jb].join() === only;
    };
    await waitUntil(
      settled,
      () => `a join of both members splitting [${only}] (A: ${JSON.stringify(ca.joins)}; B: ${JSON.stringify(cb.joins)})`,
    );
    const [owner, standby, ownerSub] = ca.lastJoin()!.length === 1 ? [ca, cb, subA] : [cb, ca, subB];
    expect(standby.lastJoin(), 'the standby is told it joined with no partitions').toEqual([]);
    expect(standby.owned.size).toBe(0);
    expect(owner.lastJoin()).toEqual([only]);
    expect([...owner.owned]).toEqual([only]);

    await ownerSub.close();
    await waitUntil(
      () => standby.lastJoin()?.join() === only,
      () => `the standby joined with [${only}] after the owner left (joins: ${JSON.stringify(standby.joins)})`,
    );
    expect([...standby.owned]).toEqual([only]);
    expectNoViolations(ca, cb);
  });
}
