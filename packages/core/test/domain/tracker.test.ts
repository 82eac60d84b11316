import { describe, it, expect } from 'vitest';
import { DAY_MS, Tracker } from '@ksched/core';

// 2026-01-01T10:00:00Z
const STARTED = 1_767_261_600_000;
const TODAY = '2026-01-01';

// Reference §11, unit level: Tracker.
describe('Tracker', () => {
  it('starts with empty daily counts and state fresh', () => {
    const tracker = new Tracker(STARTED);
    const snapshot = tracker.snapshot();
    expect(snapshot.daily).toEqual({});
    expect(snapshot.state).toBe('fresh');
    expect(tracker.state).toBe('fresh');
  });

  it('setToday(n) sets the count of the day the load started', () => {
    const tracker = new Tracker(STARTED);
    tracker.setToday(7);
    expect(tracker.snapshot().daily).toEqual({ [TODAY]: 7 });
    tracker.setToday(3);
    expect(tracker.snapshot().daily).toEqual({ [TODAY]: 3 });
  });

  it('future() counts under the due date: today, a future day and a past day', () => {
    const tracker = new Tracker(STARTED);
    tracker.future(STARTED + 60_000);
    tracker.future(STARTED + 120_000);
    tracker.future(STARTED + DAY_MS);
    tracker.future(STARTED - DAY_MS);
    expect(tracker.snapshot().daily).toEqual({ '2025-12-31': 1, [TODAY]: 2, '2026-01-02': 1 });
  });

  it('offsets: the first record sets low and high', () => {
    const tracker = new Tracker(STARTED);
    tracker.offset(10);
    expect(tracker.offsets).toEqual({ low: 10, high: 10 });
  });

  it('offsets: increasing — low stays at the first, high follows', () => {
    const tracker = new Tracker(STARTED);
    for (const o of [3, 4, 9, 20]) tracker.offset(o);
    expect(tracker.offsets).toEqual({ low: 3, high: 20 });
  });

  it('offsets: out of order (a background read and the live path) — low is the smallest, high the largest', () => {
    const tracker = new Tracker(STARTED);
    for (const o of [20, 9, 4, 12]) tracker.offset(o);
    expect(tracker.offsets).toEqual({ low: 4, high: 20 });
  });

  it('setCount, count and dropBefore: today set exactly, ended days forgotten', () => {
    const tracker = new Tracker(STARTED);
    tracker.future(Date.UTC(2026, 0, 1, 5));
    tracker.future(Date.UTC(2026, 0, 2, 5));
    tracker.setCount('2026-01-02', 7);
    expect(tracker.count('2026-01-02')).toBe(7);
    tracker.dropBefore('2026-01-02');
    expect(tracker.snapshot().daily).toEqual({ '2026-01-02': 7 });
    expect(tracker.count('2026-01-01')).toBe(0);
  });

  it('snapshot() is frozen, with offsets −1/−1, started_at and reloads 0 at first', () => {
    const tracker = new Tracker(STARTED + 999);
    const snapshot = tracker.snapshot();
    expect(snapshot).toEqual({ state: 'fresh', offsets: { low: -1, high: -1 }, daily: {}, started_at: STARTED / 1000, reloads: 0 });
    expect(Object.isFrozen(snapshot)).toBe(true);
    expect(Object.isFrozen(snapshot.offsets)).toBe(true);
    expect(Object.isFrozen(snapshot.daily)).toBe(true);
    expect(tracker.startedAt).toBe(STARTED / 1000);
  });

  it('snapshot() keeps the v1.0.0 key order and sorts dates', () => {
    const tracker = new Tracker(STARTED);
    tracker.future(STARTED + 2 * DAY_MS);
    tracker.future(STARTED);
    tracker.state = 'loaded';
    tracker.reloads = 2;
    const snapshot = tracker.snapshot();
    expect(Object.keys(snapshot)).toEqual(['state', 'offsets', 'daily', 'started_at', 'reloads']);
    expect(Object.keys(snapshot.daily)).toEqual([TODAY, '2026-01-03']);
    expect(snapshot.state).toBe('loaded');
    expect(snapshot.reloads).toBe(2);
  });

  it('a snapshot does not change when the tracker does', () => {
    const tracker = new Tracker(STARTED);
    const before = tracker.snapshot();
    tracker.future(STARTED);
    tracker.offset(5);
    expect(before.daily).toEqual({});
    expect(before.offsets).toEqual({ low: -1, high: -1 });
  });
});
