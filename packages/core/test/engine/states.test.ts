/**
 * States reports (reference §4.8, §5.4): throttled to one per `statesReportIntervalMs` while busy,
 * forced on `loaded` and on shutdown, refreshed by the idle tick, one key per state.
 */
import { describe, expect, it } from 'vitest';
import { createTestEnvironment } from '@ksched/testkit';
import { MINUTE, SECOND, rawSchedule, seconds, utcDate } from './helpers.js';

describe('states reports', () => {
  it('a load reports loading, then loaded at once (forced); keys are <state>_state on the same partition', async () => {
    await using env = await createTestEnvironment({ start: false, partitions: 2 });
    const nowS = seconds(env.clock.now());
    for (let i = 0; i < 3; i++) await env.produce([rawSchedule({ key: `s${i}`, epoch: nowS + 60, partition: 1 })]);
    await env.addMember();
    expect(env.states(0).map((s) => [s.key, s.state, s.partition])).toEqual([['loaded_state', 'loaded', 0]]);
    expect(env.states(1).map((s) => [s.key, s.state, s.partition])).toEqual([
      ['loading_state', 'loading', 1],
      ['loaded_state', 'loaded', 1],
    ]);
    expect(env.lastState(1)).toMatchObject({ daily: { [utcDate(env.clock.now())]: 3 }, offsets: { low: 0, high: 2 }, reloads: 1 });
  });

  it('while busy, at most one report per statesReportIntervalMs; loaded and stopped are forced', async () => {
    await using env = await createTestEnvironment({ scheduler: { statesReportIntervalMs: 5000 } });
    const start = env.clock.now();
    // A dispatch every 100 ms for 20 s, and new schedules arriving meanwhile.
    for (let i = 1; i <= 200; i++)
      await env.produce([rawSchedule({ key: `s${i}`, epoch: Math.ceil((start + i * 100) / 1000), epochMs: start + i * 100 })]);
    for (let t = 0; t < 20_000; t += 500) {
      await env.produce([rawSchedule({ key: `late-${t}`, epoch: seconds(start) + 3600 })]);
      await env.advance(500);
    }
    expect(env.dispatched('events')).toHaveLength(200);
    const reports = env.states(0);
    const throttled = reports.slice(1);
    const times = reports.map((r) => Math.round(r.dispatched_at * 1000));
    // Forced loaded report at t=0, then at most one per 5 s.
    expect(reports[0]).toMatchObject({ key: 'loaded_state' });
    expect(throttled.length).toBeGreaterThanOrEqual(3);
    expect(throttled.every((r) => r.state === 'loaded')).toBe(true);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(5000);
    expect(reports.length).toBeLessThanOrEqual(1 + 20_000 / 5000);

    // Shutdown forces a `stopped` report even within the throttle window.
    await env.advance(SECOND);
    await env.stopMember(env.members[0]!);
    const last = env.lastState()!;
    expect(last).toMatchObject({ key: 'stopped_state', state: 'stopped' });
    expect(Math.round(last.dispatched_at * 1000)).toBe(env.clock.now());
    expect(last.daily[utcDate(start)]).toBe(40); // the `late-*` ones still pending
  });

  it('an idle partition reports on the idle tick (intervalMs), with today’s exact pending count', async () => {
    await using env = await createTestEnvironment({ scheduler: { intervalMs: 15_000 } });
    const now = env.clock.now();
    await env.schedule({ message: { topic: 'events', payload: 'a' }, at: now + 10 * MINUTE });
    await env.schedule({ message: { topic: 'events', payload: 'b' }, at: now + 20 * MINUTE });
    const before = env.states(0).length;
    await env.advance(MINUTE);
    const reports = env.states(0).slice(before);
    expect(reports.length).toBe(4);
    expect(reports.every((r) => r.state === 'loaded' && r.daily[utcDate(now)] === 2)).toBe(true);
    await env.advance(10 * MINUTE);
    expect(env.lastState()!.daily[utcDate(now)]).toBe(1);
  });
});
