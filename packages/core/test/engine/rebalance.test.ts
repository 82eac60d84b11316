/**
 * Rebalances and shutdown are normal (design note 8): partitions move between members with nothing
 * lost, and, because revocation waits for the flush in progress, nothing duplicated either.
 */
import { describe, expect, it } from 'vitest';
import type { ProduceRecord, RecordMetadata } from '@ksched/core';
import { createTestEnvironment, type TestEnvironment } from '@ksched/testkit';
import { SECOND, expectExactlyOnce, interceptTransport, prng } from './helpers.js';

async function scheduleSpread(env: TestEnvironment, count: number, windowMs: number, seed: number): Promise<string[]> {
  const random = prng(seed);
  const now = env.clock.now();
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const s = await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at: now + 1 + Math.floor(random() * windowMs) });
    keys.push(s.key);
  }
  return keys;
}

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('rebalance hand-over', () => {
  for (const transactional of [false, true]) {
    it(`${transactional ? 'transactional' : 'at-least-once'}: a member joins and the first leaves while schedules are due; nothing lost, nothing twice`, async () => {
      await using env = await createTestEnvironment({ partitions: 4, scheduler: { transactional } });
      const a = env.members[0]!;
      const keys = await scheduleSpread(env, 120, 60 * SECOND, transactional ? 7 : 8);
      await env.advance(20 * SECOND);
      const b = await env.addMember();
      expect(env.broker.assignment('ksched_scheduled_messages').map((m) => m.partitions.map((p) => p.partition))).toEqual([
        [0, 1],
        [2, 3],
      ]);
      // Partitions that stayed with A were not reloaded.
      expect(a.events.reloads).toHaveLength(4);
      expect(b.events.reloads).toHaveLength(2);
      await env.advance(20 * SECOND);
      await env.stopMember(a);
      expect(b.scheduler.partitions()).toHaveLength(4);
      await env.advance(25 * SECOND);
      expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
      expect(a.events.dispatched.length + b.events.dispatched.length).toBe(keys.length);
      // A reported `stopped` for the partitions it still had when it stopped.
      for (const p of [0, 1]) expect(env.states(p).some((s) => s.key === 'stopped_state')).toBe(true);
    });
  }

  for (const how of ['revoked by a rebalance', 'stopped by shutdown'] as const) {
    it(`${how}: the flush in progress finishes first, so the next owner loads its tombstones (no duplicate)`, async () => {
      await using env = await createTestEnvironment({ start: false, partitions: 2 });
      let gate: Promise<void> | undefined;
      let open: () => void = () => {};
      let blocked = false;
      const a = await env.addMember(
        {},
        {
          wrapTransport: (t) => ({
            ...interceptTransport(t, {}),
            // While the gate is closed, a flush's tombstones are slow to be acknowledged.
            async produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
              if (gate && records.every((r) => r.topic === 'scheduled_messages' && r.value === null)) {
                blocked = true;
                await gate;
              }
              return t.produce(records);
            },
          }),
        },
      );
      // With B in the group from the start, range assignment gives A partition 0 and B partition 1.
      const b = how === 'stopped by shutdown' ? await env.addMember() : undefined;
      const partition = b ? 0 : 1;
      const now = env.clock.now();
      const keys: string[] = [];
      for (let i = 0; i < 5; i++)
        keys.push((await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at: now + 10, envelope: { partition } })).key);
      gate = new Promise<void>((resolve) => (open = resolve));
      await env.advance(10);
      expect(blocked).toBe(true);
      expect(env.dispatched('events')).toHaveLength(5); // targets written, tombstones pending

      // The partition leaves A while A's flush is stuck.
      const leaving = how === 'stopped by shutdown' ? a.scheduler.stop() : env.addMember();
      await turns(50);
      expect(
        env.broker.assignment('ksched_scheduled_messages').find((m) => m.clientId !== a.transport.clientId)?.partitions ?? [],
      ).not.toContainEqual({
        topic: 'scheduled_messages',
        partition,
      });
      open();
      await leaving;
      await env.settle();
      await env.advance(SECOND);
      const owner = b ?? env.members[1]!;
      expect(owner.scheduler.partitions().map((p) => p.partition)).toContain(partition);
      expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
    });
  }
});
