/**
 * Engine scenarios about dispatching.
 *
 * @module
 */
import { expect } from 'vitest';
import { Header } from '@ksched/core';
import type { ProduceRecord } from '@ksched/core';
import type { ScenarioContext } from '../context.js';
import { counts, dueOf, realDateNow, seconds, sleep, text } from '../support.js';

/** Dispatch: ordered, fast close of past schedules, never early, exactly once in transactional mode. */
export function describeDispatch({ scenario }: ScenarioContext): void {
  scenario('ordered dispatches: 20 schedules due at the same millisecond are delivered in production order, once each', {}, async (s) => {
    const sched = await s.start();
    const at = realDateNow() + 2000;
    const records = Array.from({ length: 20 }, (_, i) => s.built({ key: `k${i}`, targetKey: String(i), payload: `p${i}`, at }));
    await s.produce(records);
    await s.waitUntil(
      () => s.targets().length >= 20,
      () => `20 deliveries (got ${s.targets().length})`,
    );
    await s.waitUntil(() => sched.dispatched.length >= 20, '20 dispatched events');
    await sleep(500);
    await s.caughtUp(s.target);
    const delivered = s.targets();
    expect(delivered.map((r) => text(r.key))).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
    expect(delivered.map((r) => text(r.value))).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`));
    for (const r of delivered) expect(r.timestamp).toBeGreaterThanOrEqual(at);
    expect(sched.dispatched.map((e) => e.key)).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`));
    expect(sched.errors).toEqual([]);
  });

  scenario('fast close past schedules: schedules due 5–9 s ago (loaded and live) are all delivered once', {}, async (s) => {
    const keys: string[] = [];
    const batch = (round: number): ProduceRecord[] => {
      const nowS = seconds(realDateNow());
      return Array.from({ length: 10 }, (_, j) => {
        const i = round * 10 + j;
        keys.push(`past-${i}`);
        return s.raw({ key: `past-${i}`, epoch: nowS - 5 - (i % 5), targetPartition: 0, targetKey: `past-${i}` });
      });
    };
    await s.produce(batch(0));
    const sched = await s.start();
    for (let round = 1; round < 4; round++) {
      await s.produce(batch(round));
      await sleep(150);
    }
    await s.waitUntil(
      () => s.targets().length >= keys.length,
      () => `${keys.length} deliveries (got ${s.targets().length})`,
    );
    await sleep(500);
    await s.caughtUp(s.target);
    const delivered = s.targets().map((r) => text(r.key));
    expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
    expect([...delivered].sort()).toEqual([...keys].sort());
    for (const e of sched.dispatched) expect(e.dispatchedAtMs).toBeGreaterThanOrEqual(e.dueMs);
    expect(sched.errors).toEqual([]);
  });

  scenario('never early: every delivered record was written and observed at or after its due millisecond', { partitions: 2 }, async (s) => {
    const sched = await s.start();
    const now = realDateNow();
    const records: ProduceRecord[] = [];
    for (let i = 0; i < 16; i++) records.push(s.built({ key: `ms-${i}`, at: now + 700 + i * 131, partition: i % 2 }));
    // Seconds-only schedules (no ms header, as the reference writes them): due at the start of their second.
    for (let i = 0; i < 4; i++) records.push(s.raw({ key: `s-${i}`, epoch: seconds(now) + 2 + (i % 2), partition: i % 2 }));
    await s.produce(records);
    await s.waitUntil(
      () => s.targets().length >= records.length,
      () => `${records.length} deliveries (got ${s.targets().length})`,
    );
    // A batch's `dispatched` events follow its tombstones, which follow its targets.
    await s.waitUntil(
      () => sched.dispatched.length >= records.length,
      () => `${records.length} dispatched events (got ${sched.dispatched.length})`,
    );
    let maxLate = 0;
    for (const r of s.targets()) {
      const due = dueOf(r.headers);
      expect(Number.isFinite(due)).toBe(true);
      expect(r.timestamp, `CreateTime of ${text(r.key)}`).toBeGreaterThanOrEqual(due);
      expect(r.observedAtMs, `observed time of ${text(r.key)}`).toBeGreaterThanOrEqual(due);
      maxLate = Math.max(maxLate, r.timestamp - due);
    }
    for (const e of sched.dispatched) expect(e.dispatchedAtMs).toBeGreaterThanOrEqual(e.dueMs);
    expect(sched.dispatched).toHaveLength(records.length);
    expect(maxLate, 'latest CreateTime after due').toBeLessThan(10_000);
    expect(sched.errors).toEqual([]);
  });

  scenario(
    'transactional: every schedule is delivered exactly once in the read-committed output, with one tombstone each',
    { partitions: 2 },
    async (s) => {
      const early = Array.from({ length: 6 }, (_, i) => s.built({ key: `early-${i}`, at: realDateNow() + 2500, partition: i % 2 }));
      await s.produce(early);
      const sched = await s.start({ transactional: true });
      const live = Array.from({ length: 6 }, (_, i) => s.built({ key: `live-${i}`, at: realDateNow() + 1500 + i * 100, partition: i % 2 }));
      await s.produce(live);
      const keys = [...early, ...live].map((r) => text(r.key as string)!);
      await s.waitUntil(
        () => s.targets().length >= keys.length,
        () => `${keys.length} deliveries (got ${s.targets().length})`,
      );
      await sleep(1000);
      await s.caughtUp(s.target);
      await s.caughtUp(s.schedules);
      const delivered = s.targets().map((r) => text(r.key));
      expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
      expect([...delivered].sort()).toEqual([...keys].sort());
      const tombstones = s.reader.of(s.schedules).filter((r) => r.value === null && text(r.headers[Header.sourceType]) === 'tombstone');
      expect(tombstones.map((r) => text(r.key)).sort()).toEqual([...keys].sort());
      expect(sched.flushes.length).toBeGreaterThan(0);
      expect(sched.flushes.every((f) => f.transactional)).toBe(true);
      expect(sched.dispatched.every((e) => !e.possibleDuplicate)).toBe(true);
      expect(sched.errors).toEqual([]);
    },
  );
}
