/**
 * Day rotation, ksched's way (ksched.md §2a): the reference re-reads every partition at 00:00 UTC
 * and dispatches nothing meanwhile; ksched holds a window (`now + bufferHorizonMs`) and moves it
 * with background reads while dispatch goes on, so midnight is a minute like any other. The
 * reference's day-rotation scenarios (§4.11, integration spec day_rotation) are kept as far as
 * they still apply: tomorrow's schedules are counted, dispatched once at their time, and today's
 * are not dispatched again. The FakeBroker's `readSpeed` makes a read take fake time, so a stall
 * shows as lateness.
 */
import { describe, expect, it } from 'vitest';
import { createTestEnvironment } from '@ksched/testkit';
import { HOUR, MINUTE, SECOND, deliveryCounts, rawSchedule, seconds, utcDate } from './helpers.js';

// Not aligned with the 15 s idle tick.
const LATE = Date.UTC(2026, 0, 1, 23, 59, 7, 300);
const MIDNIGHT = Date.UTC(2026, 0, 2);

describe('day rotation', () => {
  it('dispatch goes on across midnight without a reload: tomorrow’s schedules once at their millisecond, today’s not again', async () => {
    await using env = await createTestEnvironment({ startAt: LATE });
    const today = await env.schedule({ message: { topic: 'events', payload: 'today' }, at: LATE + 30 * SECOND });
    const atMidnight = await env.schedule({ message: { topic: 'events', payload: 'midnight' }, at: MIDNIGHT });
    const tomorrow = await env.schedule({ message: { topic: 'events', payload: 'tomorrow' }, at: MIDNIGHT + 30 * SECOND });
    // Updated from today to tomorrow: the buffered today-version is replaced, never dispatched.
    const moved = await env.schedule({ message: { topic: 'events', payload: 'moved-v1' }, at: LATE + 45 * SECOND });
    await env.schedule({ message: { topic: 'events', payload: 'moved-v2' }, at: MIDNIGHT + MINUTE, envelope: { key: moved.key } });

    // All four are within the 1 h window already.
    expect(env.scheduler.partitions()[0]!.buffered).toBe(4);
    await env.advanceTo(MIDNIGHT - SECOND);
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['today']);
    const before = env.lastState()!;
    expect(before.daily[utcDate(LATE)]).toBe(0);
    expect(before.daily[utcDate(MIDNIGHT)]).toBe(3); // midnight, tomorrow, moved-v2

    await env.advance(SECOND);
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['today', 'midnight']);
    expect(env.dispatched('events')[1]!.timestamp).toBe(MIDNIGHT);

    await env.advance(2 * MINUTE);
    const delivered = env.dispatched('events');
    expect(delivered.map((m) => m.value)).toEqual(['today', 'midnight', 'tomorrow', 'moved-v2']);
    expect(delivered.map((m) => m.timestamp)).toEqual([LATE + 30 * SECOND, MIDNIGHT, MIDNIGHT + 30 * SECOND, MIDNIGHT + MINUTE]);
    expect([...deliveryCounts(delivered).values()].every((n) => n === 1)).toBe(true);
    expect(delivered.map((m) => m.scheduleKey)).toEqual([today.key, atMidnight.key, tomorrow.key, moved.key]);
    expect(env.events.reloads.map((r) => r.reason)).toEqual(['assigned']);
    const after = env.lastState()!;
    expect(after.state).toBe('loaded');
    // The ended day is no longer reported; the new one is, exactly.
    expect(after.daily[utcDate(LATE)]).toBeUndefined();
    expect(after.daily[utcDate(MIDNIGHT)]).toBe(0);
  });

  it('schedules beyond the horizon come in with background reads before they are due: on time, once, over several days', async () => {
    await using env = await createTestEnvironment({ startAt: LATE, scheduler: { bufferHorizonMs: HOUR } });
    const refills: string[] = [];
    env.scheduler.on('refill', (e) => refills.push(e.phase));
    const dues = [MIDNIGHT + 3 * HOUR + 17, MIDNIGHT + 20 * HOUR, MIDNIGHT + 24 * HOUR, MIDNIGHT + 47 * HOUR + 59 * MINUTE];
    for (const [i, at] of dues.entries()) await env.schedule({ message: { topic: 'events', payload: `d-${i}` }, at });
    expect(env.scheduler.partitions()[0]!.buffered).toBe(0);
    await env.advance(20 * SECOND);
    expect(env.lastState()!.daily[utcDate(MIDNIGHT)]).toBe(2);

    await env.advanceTo(MIDNIGHT + 49 * HOUR);
    const delivered = env.dispatched('events');
    expect(delivered.map((m) => m.timestamp)).toEqual(dues);
    expect([...deliveryCounts(delivered).values()].every((n) => n === 1)).toBe(true);
    expect(env.events.reloads.map((r) => r.reason)).toEqual(['assigned']);
    // A read every half horizon: about 2 per hour over 49 h, each counted in the states' `reloads`.
    const completed = refills.filter((p) => p === 'completed').length;
    expect(completed).toBeGreaterThanOrEqual(90);
    expect(refills.filter((p) => p === 'failed')).toEqual([]);
    expect(env.lastState()!.reloads).toBe(completed + 1);
    // The window never held more than the next hour.
    const status = env.scheduler.partitions()[0]!;
    expect(status.windowEndMs).toBeLessThanOrEqual(env.clock.now() + HOUR);
  });

  it('a slow partition: midnight costs no lateness (the read that once stalled the day change now runs ahead of it)', async () => {
    // 20,000 records due on later days; reading takes 1 s of fake time per 1,000 records (20 s a
    // full read). The old engine re-read everything at 00:00 and dispatched the first minute's
    // schedules ~20 s late; the window reads in the background instead.
    await using env = await createTestEnvironment({
      startAt: MIDNIGHT - 50 * MINUTE,
      start: false,
      brokerOptions: { readSpeed: { recordsPerSecond: 1000 } },
    });
    const laterS = seconds(MIDNIGHT) + 3 * 86_400;
    const filler = Array.from({ length: 20_000 }, (_, i) => rawSchedule({ key: `later-${i}`, epoch: laterS + i }));
    for (let i = 0; i < filler.length; i += 1000) await env.produce(filler.slice(i, i + 1000));
    await env.addMember();
    await env.advanceTo(MIDNIGHT - 10 * MINUTE);
    expect(env.scheduler.partitions()[0]!.state).toBe('loaded');
    const dues = Array.from({ length: 20 }, (_, i) => MIDNIGHT + i * SECOND + 7);
    for (const [i, at] of dues.entries()) await env.schedule({ message: { topic: 'events', payload: `m-${i}` }, at });
    const lateness: number[] = [];
    env.scheduler.on('dispatched', (e) => lateness.push(e.lateMs));
    await env.advanceTo(MIDNIGHT + MINUTE);
    expect(env.dispatched('events').map((m) => m.timestamp)).toEqual(dues);
    expect(Math.max(...lateness)).toBe(0);
    expect(env.events.reloads.map((r) => r.reason)).toEqual(['assigned']);
  });

  it('a record arriving after midnight on a loaded partition is applied at once', async () => {
    await using env = await createTestEnvironment({ startAt: LATE, scheduler: { intervalMs: 60_000 } });
    await env.schedule({ message: { topic: 'events', payload: 'x' }, at: MIDNIGHT + 5 * SECOND });
    // Jump over midnight without firing timers: the first thing the engine sees is a batch.
    env.clock.setSystemTime(MIDNIGHT + SECOND);
    await env.schedule({ message: { topic: 'events', payload: 'y' }, at: MIDNIGHT + 6 * SECOND });
    expect(env.scheduler.partitions()[0]!.buffered).toBe(2);
    await env.advance(10 * SECOND);
    expect(env.dispatched('events').map((m) => [m.value, m.timestamp])).toEqual([
      ['x', MIDNIGHT + 5 * SECOND],
      ['y', MIDNIGHT + 6 * SECOND],
    ]);
    expect(env.events.reloads.map((r) => r.reason)).toEqual(['assigned']);
  });
});
