/**
 * `partitionAssignmentStrategy: 'cooperative-sticky'` on the real broker: librdkafka's incremental
 * rebalance protocol revokes only the partitions that move; a member keeps delivering the others
 * without an `onRevoked` / `onAssigned` for them; `onJoined` still tells each member its whole
 * assignment after every rebalance, not the increment.
 */
import { describe, expect, it } from 'vitest';
import type { TopicPartition, Transport } from '@ksched/core';
import { RecordingListener, sleep, tpKey, waitUntil } from '@ksched/testkit';
import { harness } from './helpers.js';

const r = harness.useResources();

const PARTITIONS = 6;

/** Offsets delivered of `tp` are strictly increasing and without repeats (no seek since the first one). */
function expectSteady(recorder: RecordingListener, tp: TopicPartition): void {
  const offsets = recorder.offsets(tp);
  expect(
    offsets.every((o, i) => i === 0 || o > offsets[i - 1]!),
    `${tpKey(tp)} delivered in order, once: ${offsets.join(',')}`,
  ).toBe(true);
}

describe('rdkafka transport: cooperative-sticky', () => {
  it('a second member takes only the partitions that move; the first keeps delivering the others without onRevoked', async () => {
    const topic = await r.topic('cooperative', PARTITIONS);
    const groupId = harness.unique('group');
    const tps = Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition }));
    const options = { partitionAssignmentStrategy: 'cooperative-sticky' as const, sessionTimeoutMs: 10_000 };
    const producer = await r.transport();
    const ta = await r.transport(options);
    const tb = await r.transport(options);
    const a = new RecordingListener();
    const b = new RecordingListener();
    // Every onJoined, as sorted partition keys.
    const joins = new Map<RecordingListener, string[][]>([
      [a, []],
      [b, []],
    ]);
    for (const [rec, list] of joins) {
      Object.assign(rec, { onJoined: (partitions: readonly TopicPartition[]) => void list.push(partitions.map(tpKey).sort()) });
    }
    const lastJoin = (rec: RecordingListener): string => (joins.get(rec)!.at(-1) ?? []).join();
    const seekFromBeginning = (t: Transport) => async (assigned: readonly TopicPartition[]) => {
      for (const tp of assigned) await t.seekToBeginning(tp);
    };
    a.onAssignedHook = seekFromBeginning(ta);
    b.onAssignedHook = seekFromBeginning(tb);
    // A's onRevoked is slow: B must not get the moving partitions before it settled.
    let revoking = false;
    const recordRevoke = a.onRevoked.bind(a);
    a.onRevoked = ((partitions: readonly TopicPartition[]) => {
      revoking = true;
      return sleep(300).then(() => {
        recordRevoke(partitions);
        revoking = false;
      });
    }) as unknown as typeof a.onRevoked;
    const bAssign = b.onAssignedHook;
    b.onAssignedHook = async (assigned) => {
      expect(revoking, 'B assigned while A was still revoking').toBe(false);
      await bAssign(assigned);
    };

    await ta.subscribe({ groupId, topics: [topic], listener: a });
    await waitUntil(
      () => a.owned.size === PARTITIONS,
      () => `A owning ${PARTITIONS} partitions (owns ${a.owned.size})`,
    );

    // Records keep flowing to every partition while B joins.
    let flowing = true;
    let round = 0;
    const flow = (async () => {
      while (flowing) {
        await producer.produce(tps.map((tp) => ({ ...tp, key: 'k', value: `r${round}` })));
        round++;
        await sleep(50);
      }
    })();
    await sleep(300);
    const eventsBeforeB = a.events.length;
    await tb.subscribe({ groupId, topics: [topic], listener: b });
    await waitUntil(
      () => b.owned.size > 0 && a.owned.size + b.owned.size === PARTITIONS,
      () => `a split (A ${[...a.owned].join(', ')}; B ${[...b.owned].join(', ')})`,
    );
    const moved = [...b.owned].sort();
    const kept = [...a.owned].sort();
    expect(kept.length).toBeGreaterThan(0);

    // A was told about the moved partitions only: one onRevoked each, nothing for the kept ones.
    const aEvents = a.events.slice(eventsBeforeB);
    expect(aEvents.filter((e) => e.kind === 'assigned')).toEqual([]);
    expect(aEvents.map((e) => e.tp).sort()).toEqual(moved);
    for (const k of moved) expect(a.lastSeq('revoked', k)).toBeLessThan(b.lastSeq('assigned', k));
    // onJoined: the whole assignment of each (A its kept partitions, though nothing was added to them).
    await waitUntil(
      () => lastJoin(a) === kept.join() && lastJoin(b) === moved.join(),
      () => `onJoined with the whole assignments (A ${JSON.stringify(joins.get(a))}; B ${JSON.stringify(joins.get(b))})`,
    );

    // The kept partitions keep delivering: records produced after the split arrive at A.
    const roundAfterSplit = round + 1;
    await waitUntil(
      () => tps.filter((tp) => kept.includes(tpKey(tp))).every((tp) => a.values(tp).includes(`r${roundAfterSplit}`)),
      `round ${roundAfterSplit} at A on the kept partitions`,
    );
    await waitUntil(
      () => tps.filter((tp) => moved.includes(tpKey(tp))).every((tp) => b.values(tp).includes(`r${roundAfterSplit}`)),
      `round ${roundAfterSplit} at B on the moved partitions`,
    );
    for (const tp of tps) if (kept.includes(tpKey(tp))) expectSteady(a, tp);

    // B leaves: A gets the moved partitions back (onAssigned for them only), the kept ones untouched.
    const eventsBeforeLeave = a.events.length;
    await tb.close();
    await waitUntil(
      () => a.owned.size === PARTITIONS,
      () => `A owning all partitions again (owns ${[...a.owned].join(', ')})`,
    );
    const back = a.events.slice(eventsBeforeLeave);
    expect(back.filter((e) => e.kind === 'revoked')).toEqual([]);
    expect(back.map((e) => e.tp).sort()).toEqual(moved);
    const all = tps.map(tpKey).sort().join();
    await waitUntil(
      () => lastJoin(a) === all,
      () => `A's onJoined with every partition (${JSON.stringify(joins.get(a))})`,
    );
    const roundAfterLeave = round + 1;
    await waitUntil(
      () => tps.every((tp) => a.values(tp).includes(`r${roundAfterLeave}`)),
      `round ${roundAfterLeave} at A on every partition`,
    );
    flowing = false;
    await flow;
    for (const tp of tps) if (kept.includes(tpKey(tp))) expectSteady(a, tp);
    for (const rec of [a, b]) {
      expect(rec.violations).toEqual([]);
      expect(rec.errors).toEqual([]);
    }
  });
});
