/**
 * Engine scenarios about the day boundary.
 *
 * @module
 */
import { expect } from 'vitest';
import { utcDateString, DAY_MS } from '@ksched/core';
import type { ScenarioContext } from '../context.js';
import { counts, HOUR, realDateNow, sleep, text } from '../support.js';

/** The day boundary: schedules due tomorrow wait (and are counted), and a clock crossing UTC midnight dispatches without a reload. */
export function describeDayChange({ scenario }: ScenarioContext): void {
  scenario('mostly future: schedules due tomorrow are not dispatched, today’s are; states count tomorrow', {}, async (s) => {
    const sched = await s.start();
    const now = realDateNow();
    const today = utcDateString(now);
    const tomorrowStart = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
    const tomorrow = utcDateString(tomorrowStart);
    const future = Array.from({ length: 5 }, (_, i) => s.built({ key: `future-${i}`, at: tomorrowStart + HOUR + i * 60_000 }));
    const due = now + 1500;
    const soon = Array.from({ length: 2 }, (_, i) => s.built({ key: `now-${i}`, at: due }));
    await s.produce([...future.slice(0, 3), soon[0]!, ...future.slice(3), soon[1]!]);
    await s.waitUntil(() => s.targets().length >= 2, 'the two schedules due now');
    await sleep(due + 1000 - realDateNow());
    await s.caughtUp(s.target);
    expect(
      s
        .targets()
        .map((r) => text(r.key))
        .sort(),
    ).toEqual(['now-0', 'now-1']);
    // A throttled report after the dispatches: loaded, today's pending 0, tomorrow's 5.
    await s.waitUntil(
      () => {
        const last = s.reports(0).at(-1)?.report;
        return last !== undefined && last.state === 'loaded' && last.daily[today] === 0 && last.daily[tomorrow] === 5;
      },
      () => `a states report with daily {${today}: 0, ${tomorrow}: 5} (last: ${JSON.stringify(s.reports(0).at(-1)?.report)})`,
    );
    expect(s.reports().some((r) => r.report.state === 'loading')).toBe(false);
    expect(sched.scheduler.partitions()[0]).toMatchObject({ buffered: 0, state: 'loaded' });
    expect(sched.errors).toEqual([]);
  });

  scenario(
    'the day change: a scheduler whose clock stands 4 s before UTC midnight dispatches across it without a reload, once each, never early',
    { laterToday: false },
    async (s) => {
      const now = realDateNow();
      const midnight = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
      // The scheduler's clock: 4 s before the next midnight (a few seconds more once loaded).
      const offset = midnight - 4000 - now;
      const filler = Array.from({ length: 2000 }, (_, i) => s.built({ key: `later-${i}`, at: midnight + 3 * DAY_MS + i }));
      for (let i = 0; i < filler.length; i += 500) await s.produce(filler.slice(i, i + 500));
      const before = Array.from({ length: 5 }, (_, i) => s.built({ key: `before-${i}`, at: midnight - 2500 + i * 100 }));
      const after = Array.from({ length: 20 }, (_, i) => s.built({ key: `after-${i}`, at: midnight + 500 + i * 100 }));
      await s.produce([...before, ...after]);
      const sched = await s.start({}, 'ready', offset);
      const keys = [...before, ...after].map((r) => text(r.key as string)!);
      await s.waitUntil(
        () => sched.dispatched.length >= keys.length,
        () => `${keys.length} dispatches across midnight (got ${sched.dispatched.length})`,
      );
      await sleep(500);
      await s.caughtUp(s.target);
      const delivered = s.targets().map((r) => text(r.key));
      expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
      expect([...delivered].sort()).toEqual([...keys].sort());
      for (const e of sched.dispatched) expect(e.dispatchedAtMs, e.key).toBeGreaterThanOrEqual(e.dueMs);
      expect(sched.dispatched.filter((e) => e.dueMs >= midnight)).toHaveLength(after.length);
      // No reload at the day change: the only read from the beginning is the first one.
      expect(sched.reloads.map((r) => r.reason)).toEqual(['assigned']);
      expect(sched.scheduler.partitions()[0]!.state).toBe('loaded');
      expect(sched.errors).toEqual([]);
    },
  );
}
