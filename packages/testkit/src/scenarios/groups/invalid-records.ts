/**
 * Engine scenarios about records the engine cannot use.
 *
 * @module
 */
import { expect } from 'vitest';
import { IncompatibleSchemaError } from '@ksched/core';
import type { ScenarioContext } from '../context.js';
import { sleep, text, seconds, realDateNow } from '../support.js';

/** Invalid records skipped and counted, and a newer schema halting one partition. */
export function describeInvalidRecords({ scenario }: ScenarioContext): void {
  scenario(
    'invalid records are skipped and counted (invalid event per reason); the valid schedules around them are delivered',
    {},
    async (s) => {
      const sched = await s.start();
      const nowS = seconds(realDateNow());
      const epoch = nowS + 2;
      const metas = await s.produce([
        s.raw({ key: 'valid-1', epoch }),
        s.raw({ key: 'no-type', epoch, type: null }),
        s.raw({ key: 'valid-2', epoch }),
        s.raw({ key: 'bad-epoch', epoch: 'soon' }),
        s.raw({ key: 'mismatch', epoch, epochMs: epoch * 1000 + 5000 }),
        s.raw({ key: 'no-target', epoch, target: null }),
        s.raw({ key: 'valid-3', epoch }),
      ]);
      await s.waitUntil(() => s.targets().length >= 3 && sched.dispatched.length >= 3, 'the three valid schedules');
      await s.waitUntil(
        () => sched.invalid.length >= 4,
        () => `four invalid events (got ${JSON.stringify(sched.invalid)})`,
      );
      await sleep(500);
      await s.caughtUp(s.target);
      expect(sched.invalid.map((e) => [e.offset, e.reason])).toEqual([
        [metas[1]!.offset, 'missing_source_type'],
        [metas[3]!.offset, 'bad_epoch'],
        [metas[4]!.offset, 'epoch_mismatch'],
        [metas[5]!.offset, 'missing_target_topic'],
      ]);
      expect(s.targets().map((r) => text(r.value))).toEqual(['payload-valid-1', 'payload-valid-2', 'payload-valid-3']);
      expect(sched.scheduler.partitions()[0]).toMatchObject({ invalid: 4, dispatched: 3, halted: false });
      expect(sched.errors).toEqual([]);
    },
  );

  scenario(
    'a newer schema (2.0.0) on one partition of two halts that partition only; the other keeps dispatching',
    { partitions: 2 },
    async (s) => {
      const sched = await s.start();
      const due = realDateNow() + 1500;
      await s.produce([
        s.built({ key: 'p1-before', at: due, partition: 1 }),
        s.raw({ key: 'p1-v2', epoch: seconds(due) + 1, version: '2.0.0', partition: 1 }),
        s.built({ key: 'p1-after', at: due, partition: 1 }),
        s.built({ key: 'p0-a', at: due, partition: 0 }),
      ]);
      await s.waitUntil(() => sched.errors.some((e) => e.phase === 'incompatible'), 'the halt');
      await s.waitUntil(() => s.targets().length >= 1, 'p0-a');
      const [error] = sched.errors;
      expect(sched.errors).toHaveLength(1);
      expect(error).toMatchObject({ partition: 1, phase: 'incompatible' });
      expect(IncompatibleSchemaError.isInstance(error!.error)).toBe(true);
      expect((error!.error as Error).message).toContain('2.0.0');
      const status = sched.scheduler.partitions();
      expect(status.find((p) => p.partition === 1)).toMatchObject({ state: 'stopped', halted: true });
      expect(status.find((p) => p.partition === 0)).toMatchObject({ state: 'loaded', halted: false });
      expect(sched.scheduler.isReady()).toBe(true);
      await s.waitUntil(() => s.reports(1).at(-1)?.report.state === 'stopped', 'the stopped report of partition 1');
      expect(text(s.reports(1).at(-1)!.record.key)).toBe('stopped_state');
      // The healthy partition goes on.
      await s.produce([s.built({ key: 'p0-b', at: realDateNow() + 1000, partition: 0 })]);
      await s.waitUntil(() => s.targets().length >= 2, 'p0-b');
      await sleep(due + 1500 - realDateNow());
      await s.caughtUp(s.target);
      expect(
        s
          .targets()
          .map((r) => text(r.key))
          .sort(),
      ).toEqual(['p0-a', 'p0-b']);
      expect(s.reports(0).at(-1)!.report.state).toBe('loaded');
    },
  );
}
