/**
 * Engine scenarios about restarts and group membership.
 *
 * @module
 */
import { UnsupportedError } from '@ksched/core';
import type { SchedulerOptionsInput } from '@ksched/core';
import { expect } from 'vitest';
import type { ScenarioContext } from '../context.js';
import { sleep, text, counts, realDateNow } from '../support.js';
import type { RunningScheduler, Scenario } from '../types.js';

/**
 * The modes each membership scenario runs in: at least once, transactional fenced by partition
 * (the original titles, `transactional: true`), and fenced by the group (KIP-447; skipped where
 * the adapter cannot).
 */
const MODES = [
  { title: 'transactional: false', options: { transactional: false } },
  { title: 'transactional: true', options: { transactional: true } },
  { title: 'transactional, fenced by the group', options: { transactional: true, transactionalFencing: 'group' as const } },
] as const;

/** Starts a scheduler, or skips the scenario when the adapter cannot run `options` (an `UnsupportedError`). */
async function startOrSkip(
  s: Scenario,
  ctx: { skip(note?: string): void },
  options: Partial<SchedulerOptionsInput>,
): Promise<RunningScheduler | undefined> {
  try {
    return await s.start(options);
  } catch (error) {
    if (!UnsupportedError.isInstance(error)) throw error;
    ctx.skip(`the adapter cannot: ${error.message}`);
    return undefined;
  }
}

/** Restarts and group membership: a restart reloads without re-dispatching, two schedulers split a group, a partition returns to its member. */
export function describeMembership({ scenario }: ScenarioContext): void {
  for (const mode of MODES) {
    scenario(
      `a restarted scheduler reloads from the earliest offset: what was dispatched is not again, what is due is (${mode.title})`,
      {},
      async (s, ctx) => {
        const early = Array.from({ length: 5 }, (_, i) => s.built({ key: `early-${i}`, at: realDateNow() + 1500 }));
        await s.produce(early);
        const groupId = s.unique('group');
        const a = await startOrSkip(s, ctx, { groupId, ...mode.options });
        if (a === undefined) return;
        await s.waitUntil(() => a.dispatched.length >= 5, 'the first scheduler dispatching the early schedules');
        await a.stop();
        // Written while no scheduler runs: only the next one can dispatch them.
        const late = Array.from({ length: 3 }, (_, i) => s.built({ key: `late-${i}`, at: realDateNow() + 1500 }));
        await s.produce(late);
        const b = await s.start({ groupId, ...mode.options });
        expect(b.loaded).toEqual([expect.objectContaining({ buffered: 3, by: 'end_offset' })]);
        await s.waitUntil(() => b.dispatched.length >= 3, 'the restarted scheduler dispatching the late schedules');
        await sleep(1000);
        await s.caughtUp(s.target);
        const delivered = s.targets().map((r) => text(r.key));
        expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
        expect([...delivered].sort()).toEqual([...early, ...late].map((r) => r.key as string).sort());
        expect(a.dispatched.map((e) => e.key).sort()).toEqual(early.map((r) => r.key as string).sort());
        expect(b.dispatched.map((e) => e.key).sort()).toEqual(late.map((r) => r.key as string).sort());
        expect([...a.errors, ...b.errors]).toEqual([]);
      },
    );
  }

  for (const mode of MODES) {
    const transactional = mode.options.transactional;
    scenario(
      `two schedulers in one group split the partitions and together dispatch everything (${!transactional ? 'at least once' : 'transactionalFencing' in mode.options ? 'transactional, fenced by the group: exactly once' : 'transactional: exactly once'})`,
      { partitions: 4 },
      async (s, ctx) => {
        const groupId = s.unique('group');
        const before = Array.from({ length: 8 }, (_, i) => s.built({ key: `before-${i}`, at: realDateNow() + 3000, partition: i % 4 }));
        await s.produce(before);
        const a = await startOrSkip(s, ctx, { groupId, ...mode.options });
        if (a === undefined) return;
        const b = await s.start({ groupId, ...mode.options }, 'joined');
        const owned = (x: RunningScheduler): number => x.scheduler.partitions().length;
        await s.waitUntil(
          () => owned(a) > 0 && owned(b) > 0 && owned(a) + owned(b) === 4 && a.scheduler.isReady() && b.scheduler.isReady(),
          () =>
            `a split of the 4 partitions, all loaded (A: ${JSON.stringify(a.scheduler.partitions())}; B: ${JSON.stringify(b.scheduler.partitions())})`,
        );
        const after = Array.from({ length: 8 }, (_, i) => s.built({ key: `after-${i}`, at: realDateNow() + 1500, partition: i % 4 }));
        await s.produce(after);
        const keys = [...before, ...after].map((r) => r.key as string);
        await s.waitUntil(
          () => new Set(s.targets().map((r) => text(r.key))).size >= keys.length,
          () => `${keys.length} distinct deliveries (got ${new Set(s.targets().map((r) => text(r.key))).size})`,
        );
        await sleep(1000);
        await s.caughtUp(s.target);
        const c = counts(s.targets().map((r) => text(r.key)));
        for (const k of keys) expect(c.get(k) ?? 0, `deliveries of ${k}`).toBeGreaterThanOrEqual(1);
        expect([...c.keys()].sort()).toEqual([...keys].sort());
        const duplicates = [...c].filter(([, n]) => n > 1);
        // Transactional hand-over fences the previous owner: no duplicate in the read-committed output.
        if (transactional) expect(duplicates, 'duplicates in transactional mode').toEqual([]);
        else if (duplicates.length > 0) await ctx.annotate(`at-least-once duplicates: ${JSON.stringify(duplicates)}`);
        // Each member dispatched only from partitions it owned at the end, and both did some.
        const ownedBy = (x: RunningScheduler): Set<number> => new Set(x.scheduler.partitions().map((p) => p.partition));
        const afterKeys = new Set(after.map((r) => r.key as string));
        for (const [x, label] of [
          [a, 'A'],
          [b, 'B'],
        ] as const) {
          for (const e of x.dispatched.filter((d) => afterKeys.has(d.key)))
            expect(ownedBy(x).has(e.partition), `${label} dispatched ${e.key} of partition ${e.partition}`).toBe(true);
        }
        expect(a.dispatched.length).toBeGreaterThan(0);
        expect(b.dispatched.length).toBeGreaterThan(0);
        expect([...a.errors, ...b.errors]).toEqual([]);
      },
    );
  }

  for (const mode of MODES) {
    const transactional = mode.options.transactional;
    scenario(
      `a partition returning to its member resumes from its position instead of re-reading (${mode.title})`,
      { partitions: 4 },
      async (s, ctx) => {
        const groupId = s.unique('group');
        const start = realDateNow();
        const scheduled = Array.from({ length: 40 }, (_, i) => s.built({ key: `s-${i}`, at: start + 2000 + i * 250, partition: i % 4 }));
        await s.produce(scheduled);
        const a = await startOrSkip(s, ctx, { groupId, ...mode.options });
        if (a === undefined) return;
        const b = await s.start({ groupId, ...mode.options }, 'joined');
        const owned = (x: RunningScheduler): number => x.scheduler.partitions().length;
        await s.waitUntil(
          () => owned(a) > 0 && owned(b) > 0 && owned(a) + owned(b) === 4 && a.scheduler.isReady() && b.scheduler.isReady(),
          () => `a split of the 4 partitions (A: ${JSON.stringify(a.scheduler.partitions())})`,
        );
        await b.stop();
        await s.waitUntil(
          () => owned(a) === 4 && a.scheduler.isReady(),
          () => `A owning all 4 partitions again (${JSON.stringify(a.scheduler.partitions())})`,
        );
        // Each partition was read from its beginning once; every later assignment resumed.
        expect(a.reloads.filter((r) => r.reason === 'assigned')).toHaveLength(4);
        // At least the partitions B gave back (A owned them until B joined, well within 60 s).
        expect(a.reloads.filter((r) => r.reason === 'resumed').length).toBeGreaterThanOrEqual(2);
        const keys = scheduled.map((r) => text(r.key as string)!);
        await s.waitUntil(
          () => new Set(s.targets().map((r) => text(r.key))).size >= keys.length,
          () => `${keys.length} deliveries (got ${s.targets().length})`,
        );
        await sleep(1000);
        await s.caughtUp(s.target);
        const delivered = s.targets().map((r) => text(r.key));
        expect([...new Set(delivered)].sort()).toEqual([...keys].sort());
        if (transactional) expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
        expect([...a.errors, ...b.errors].filter((e) => e.phase !== 'flush')).toEqual([]);
      },
    );
  }
}
