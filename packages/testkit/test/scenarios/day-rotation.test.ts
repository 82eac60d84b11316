/**
 * Day rotation (reference §4.11, integration spec day_rotation): tomorrow's schedules are counted
 * but not held; the partition reloads at 00:00 UTC and then dispatches them, without dispatching
 * today's twice.
 */
import { describe, expect, it } from 'vitest';
import { createTestEnvironment } from '@ksched/testkit';
import { SECOND, MINUTE, deliveryCounts, utcDate } from './helpers.js';

// Not aligned with the 15 s idle tick, so the midnight reload must come from its own timer.
const LATE = Date.UTC(2026, 0, 1, 23, 59, 7, 300);
const MIDNIGHT = Date.UTC(2026, 0, 2);

describe('day rotation', () => {
  it('holds only today, reloads at midnight, then dispatches tomorrow’s schedules once, today’s not again', async () => {
    await using env = await createTestEnvironment({ startAt: LATE });
    const reloadsAt: number[] = [];
    env.scheduler.on('reload', () => reloadsAt.push(env.clock.now()));
    const today = await env.schedule({ message: { topic: 'events', payload: 'today' }, at: LATE + 30 * SECOND });
    const atMidnight = await env.schedule({ message: { topic: 'events', payload: 'midnight' }, at: MIDNIGHT });
    const tomorrow = await env.schedule({ message: { topic: 'events', payload: 'tomorrow' }, at: MIDNIGHT + 30 * SECOND });
    // Updated from today to tomorrow: the buffered today-version is dropped (reference quirk fixed).
    const moved = await env.schedule({ message: { topic: 'events', payload: 'moved-v1' }, at: LATE + 45 * SECOND });
    await env.schedule({ message: { topic: 'events', payload: 'moved-v2' }, at: MIDNIGHT + MINUTE, envelope: { key: moved.key } });

    expect(env.scheduler.partitions()[0]!.buffered).toBe(1);
    await env.advanceTo(MIDNIGHT - SECOND);
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['today']);
    const before = env.lastState()!;
    expect(before.daily[utcDate(LATE)]).toBe(0);
    expect(before.daily[utcDate(MIDNIGHT)]).toBe(3); // midnight, tomorrow, moved-v2

    await env.advance(999);
    expect(env.clock.now()).toBe(MIDNIGHT - 1);
    expect(env.events.reloads).toHaveLength(1);
    await env.advance(1);
    expect(reloadsAt).toEqual([MIDNIGHT]);
    expect(env.events.reloads.at(-1)).toMatchObject({ reason: 'day_rollover', reloads: 2 });
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['today', 'midnight']);
    expect(env.dispatched('events')[1]!.timestamp).toBe(MIDNIGHT);

    await env.advance(2 * MINUTE);
    const delivered = env.dispatched('events');
    expect(delivered.map((m) => m.value)).toEqual(['today', 'midnight', 'tomorrow', 'moved-v2']);
    expect([...deliveryCounts(delivered).values()].every((n) => n === 1)).toBe(true);
    expect(delivered.map((m) => m.scheduleKey)).toEqual([today.key, atMidnight.key, tomorrow.key, moved.key]);
    const after = env.lastState()!;
    expect(after.reloads).toBe(2);
    expect(after.started_at).toBe(MIDNIGHT / 1000);
  });

  it('an idle partition reloads at every midnight (reloads count in states), and nothing is dispatched early or twice', async () => {
    await using env = await createTestEnvironment({ startAt: LATE });
    await env.schedule({ message: { topic: 'events', payload: 'day-2' }, at: MIDNIGHT + 10 * MINUTE });
    await env.advance(2 * MINUTE);
    expect(env.events.reloads.map((r) => r.reason)).toEqual(['assigned', 'day_rollover']);
    expect(env.dispatched('events')).toHaveLength(0);
    await env.advance(9 * MINUTE);
    expect(env.dispatched('events').map((m) => [m.value, m.timestamp])).toEqual([['day-2', MIDNIGHT + 10 * MINUTE]]);
    // The next midnight reloads again and does not dispatch it again.
    env.clock.setSystemTime(MIDNIGHT + 24 * 3600 * SECOND - MINUTE);
    await env.advance(2 * MINUTE);
    expect(env.events.reloads.map((r) => r.reason)).toEqual(['assigned', 'day_rollover', 'day_rollover']);
    expect(env.lastState()!.reloads).toBe(3);
    expect(env.dispatched('events')).toHaveLength(1);
  });

  it('a record arriving after midnight on a loaded partition triggers the reload before it is applied', async () => {
    await using env = await createTestEnvironment({ startAt: LATE, scheduler: { intervalMs: 60_000 } });
    await env.schedule({ message: { topic: 'events', payload: 'x' }, at: MIDNIGHT + 5 * SECOND });
    // Jump over midnight without firing timers: the first thing the engine sees is a batch.
    env.clock.setSystemTime(MIDNIGHT + SECOND);
    await env.schedule({ message: { topic: 'events', payload: 'y' }, at: MIDNIGHT + 6 * SECOND });
    expect(env.events.reloads.map((r) => r.reason)).toEqual(['assigned', 'day_rollover']);
    await env.advance(10 * SECOND);
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['x', 'y']);
  });
});
