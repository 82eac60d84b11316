/**
 * Engine scenarios about schedules changed before they are due.
 *
 * @module
 */
import { expect } from 'vitest';
import { DAY_MS, Header } from '@ksched/core';
import type { ProduceRecord } from '@ksched/core';
import type { ScenarioContext } from '../context.js';
import { HOUR, sleep, text, headerTexts, seconds, realDateNow } from '../support.js';

/** Updates: schedules closed by tombstones, cancelled, moved later today or to tomorrow. */
export function describeUpdates({ scenario }: ScenarioContext): void {
  scenario(
    'dispatched except one: overdue schedules closed by hand-made tombstones stay closed; the open one is delivered intact',
    {},
    async (s) => {
      const nowS = seconds(realDateNow());
      const records: ProduceRecord[] = [];
      for (let i = 0; i < 5; i++) {
        records.push(s.raw({ key: `old-${i}`, epoch: nowS - 600, targetPartition: 0, targetKey: `t-old-${i}` }));
        records.push(s.tombstone(`old-${i}`));
      }
      await s.produce(records);
      const epoch = nowS + 3;
      const [meta] = await s.produce([
        s.built({ key: 'the-key', targetKey: 'target-key', targetPartition: 0, payload: 'the one', headers: { id: 'the-id' }, epoch }),
      ]);
      const sched = await s.start();
      expect(sched.loaded).toEqual([expect.objectContaining({ buffered: 1, by: 'end_offset' })]);
      await s.waitUntil(() => s.targets().length >= 1 && sched.dispatched.length >= 1, 'the open schedule');
      await sleep(500);
      await s.caughtUp(s.target);
      const delivered = s.targets();
      expect(delivered).toHaveLength(1);
      const [m] = delivered;
      expect(m!.timestamp).toBeGreaterThanOrEqual(epoch * 1000);
      expect([m!.partition, text(m!.key), text(m!.value)]).toEqual([0, 'target-key', 'the one']);
      expect(headerTexts(m!.headers)).toEqual({
        id: 'the-id',
        [Header.schemaVersion]: '1.0.0',
        [Header.sourceType]: 'schedule',
        [Header.targetEpoch]: String(epoch),
        [Header.targetTopic]: s.target,
        [Header.targetPartition]: '0',
        [Header.targetKey]: 'target-key',
        [Header.sourceTopic]: s.schedules,
        [Header.sourcePartition]: '0',
        [Header.sourceOffset]: String(meta!.offset),
        [Header.sourceKey]: 'the-key',
      });
      expect(sched.dispatched.map((e) => e.key)).toEqual(['the-key']);
      expect(sched.errors).toEqual([]);
    },
  );

  scenario(
    'cancel before due: the cancelled schedule is never delivered; a cancel on another partition does nothing',
    { partitions: 2 },
    async (s) => {
      const sched = await s.start();
      const due = realDateNow() + 2000;
      await s.produce([s.built({ key: 'cancelled', at: due, partition: 1 }), s.built({ key: 'kept', at: due, partition: 1 })]);
      await s.produce([s.cancel('cancelled', 1), s.cancel('kept', 0)]);
      await s.waitUntil(() => s.targets().length >= 1 && sched.dispatched.length >= 1, 'the kept schedule');
      await sleep(due + 1000 - realDateNow());
      await s.caughtUp(s.target);
      expect(s.targets().map((r) => text(r.key))).toEqual(['kept']);
      expect(sched.dispatched.map((e) => e.key)).toEqual(['kept']);
      expect(sched.scheduler.partitions().map((p) => p.buffered)).toEqual([0, 0]);
      expect(sched.errors).toEqual([]);
    },
  );

  scenario(
    'an update to a later time today is delivered once, at the new time, with the new payload (not at the old time)',
    {},
    async (s) => {
      const sched = await s.start();
      const oldDue = realDateNow() + 1500;
      const newDue = oldDue + 2000;
      await s.produce([s.built({ key: 'moved', payload: 'old', at: oldDue })]);
      await s.produce([s.built({ key: 'moved', payload: 'new', at: newDue })]);
      // Past the old due time: nothing yet.
      await sleep(oldDue + 1000 - realDateNow());
      await s.caughtUp(s.target);
      expect(s.targets()).toEqual([]);
      await s.waitUntil(() => s.targets().length >= 1 && sched.dispatched.length >= 1, 'the moved schedule');
      await sleep(500);
      await s.caughtUp(s.target);
      const delivered = s.targets();
      expect(delivered.map((r) => text(r.value))).toEqual(['new']);
      expect(delivered[0]!.timestamp).toBeGreaterThanOrEqual(newDue);
      expect(sched.dispatched).toEqual([expect.objectContaining({ key: 'moved', dueMs: newDue })]);
      expect(sched.errors).toEqual([]);
    },
  );

  scenario('an update to tomorrow is not delivered today', {}, async (s) => {
    const sched = await s.start();
    const now = realDateNow();
    const due = now + 1500;
    const tomorrowStart = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
    await s.produce([s.built({ key: 'postponed', at: due }), s.built({ key: 'control', at: due })]);
    await s.produce([s.built({ key: 'postponed', at: tomorrowStart + HOUR })]);
    await s.waitUntil(() => s.targets().length >= 1 && sched.dispatched.length >= 1, 'the control schedule');
    await sleep(due + 1000 - realDateNow());
    await s.caughtUp(s.target);
    expect(s.targets().map((r) => text(r.key))).toEqual(['control']);
    expect(sched.dispatched.map((e) => e.key)).toEqual(['control']);
    expect(sched.scheduler.partitions()[0]!.buffered).toBe(0);
    expect(sched.errors).toEqual([]);
  });
}
