/**
 * ksched's millisecond extension (ksched.md §2) and "never early" (§4), plus updates and cancels
 * by key (reference §3, §4.6 with the quirk of §3.2 fixed).
 */
import { describe, expect, it } from 'vitest';
import { Header, MAX_TIMER_DELAY_MS, type ProduceRecord, type RecordMetadata } from '@ksched/core';
import { createTestEnvironment } from '@ksched/testkit';
import { HOUR, MINUTE, SECOND, deliveryCounts, interceptTransport, prng, rawSchedule, rawTombstone, seconds } from './helpers.js';

describe('millisecond precision and never early', () => {
  it('many schedules at random milliseconds, time moved in small random steps: each goes out exactly at its due ms, once', async () => {
    await using env = await createTestEnvironment({ partitions: 3 });
    const random = prng(42);
    const start = env.clock.now();
    const due = new Map<string, number>();
    for (let i = 0; i < 150; i++) {
      const at = start + 1 + Math.floor(random() * 20_000);
      const s = await env.schedule({ message: { topic: 'events', payload: String(i) }, at });
      due.set(s.key, at);
    }
    // A few share one millisecond.
    for (let i = 0; i < 5; i++) {
      const s = await env.schedule({ message: { topic: 'events', payload: `same-${i}` }, at: start + 7_777 });
      due.set(s.key, start + 7_777);
    }
    while (env.clock.now() < start + 21_000) {
      await env.advance(1 + Math.floor(random() * 400));
      // At every step: nothing that is not due yet has gone out.
      for (const m of env.dispatched('events')) expect(m.timestamp).toBeGreaterThanOrEqual(due.get(m.scheduleKey!)!);
    }
    const delivered = env.dispatched('events');
    expect(delivered).toHaveLength(due.size);
    expect([...deliveryCounts(delivered).values()].every((n) => n === 1)).toBe(true);
    for (const m of delivered) {
      expect(m.dueMs).toBe(due.get(m.scheduleKey!));
      expect(m.timestamp).toBe(m.dueMs); // lateness 0 on fake time
    }
    const events = env.events.dispatched;
    expect(events).toHaveLength(due.size);
    expect(events.every((e) => e.lateMs === 0 && e.dispatchedAtMs === e.dueMs && !e.possibleDuplicate)).toBe(true);
  });

  it('a seconds-only schedule (no ms header, e.g. from the reference) goes out at the start of its second, not before', async () => {
    await using env = await createTestEnvironment({ startAt: Date.UTC(2026, 0, 1, 12, 0, 0, 400) });
    const nowS = seconds(env.clock.now());
    await env.produce([rawSchedule({ key: 'sec', epoch: nowS + 2 })]);
    await env.advance(1599);
    expect(env.dispatched('events')).toHaveLength(0);
    await env.advance(1);
    expect(env.dispatched('events').map((m) => m.timestamp)).toEqual([(nowS + 2) * 1000]);
  });

  it('the ms header wins over the seconds header when they agree within a second', async () => {
    await using env = await createTestEnvironment();
    const now = env.clock.now();
    const nowS = seconds(now);
    await env.produce([rawSchedule({ key: 'ms', epoch: nowS + 3, epochMs: now + 2_345 })]);
    await env.advance(2_344);
    expect(env.dispatched('events')).toHaveLength(0);
    await env.advance(1);
    expect(env.dispatched('events').map((m) => m.timestamp)).toEqual([now + 2_345]);
  });

  it('a schedule days ahead is reached through timers of at most MAX_TIMER_DELAY_MS', async () => {
    await using env = await createTestEnvironment({ startAt: Date.UTC(2026, 0, 1, 0, 0, 0), scheduler: { intervalMs: 3_600_000 } });
    const at = env.clock.now() + 5 * HOUR + 123;
    await env.schedule({ message: { topic: 'events', payload: 'far' }, at });
    let maxDelay = 0;
    while (env.clock.now() < at + 1) {
      for (const t of env.clock.timers()) maxDelay = Math.max(maxDelay, t.delayMs);
      await env.advance(Math.min(10 * MINUTE, at + 1 - env.clock.now()));
    }
    expect(maxDelay).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
    expect(env.dispatched('events').map((m) => m.timestamp)).toEqual([at]);
  });
});

describe('updates and cancels by key', () => {
  it('an update that moves a schedule to a later day is not dispatched today (reference quirk fixed)', async () => {
    await using env = await createTestEnvironment();
    const now = env.clock.now();
    const s = await env.schedule({ message: { topic: 'events', payload: 'v1' }, at: now + MINUTE });
    await env.schedule({ message: { topic: 'events', payload: 'v2' }, at: now + 2 * 24 * HOUR, envelope: { key: s.key } });
    expect(env.scheduler.partitions()[0]!.buffered).toBe(0);
    await env.advance(HOUR);
    expect(env.dispatched('events')).toHaveLength(0);
    // And no tombstone was written for it, so the future version survives to its day.
    expect(env.broker.readCommitted('scheduled_messages').filter((r) => r.value === null)).toHaveLength(0);
  });

  it('an update that moves a schedule later within today dispatches once, at the new time, with the new payload', async () => {
    await using env = await createTestEnvironment();
    const now = env.clock.now();
    const s = await env.schedule({ message: { topic: 'events', payload: 'v1' }, at: now + MINUTE });
    await env.advance(30 * SECOND);
    await env.schedule({ message: { topic: 'events', payload: 'v2' }, at: now + 5 * MINUTE, envelope: { key: s.key } });
    await env.advance(MINUTE);
    expect(env.dispatched('events')).toHaveLength(0);
    await env.advance(4 * MINUTE);
    expect(env.dispatched('events').map((m) => [m.value, m.timestamp])).toEqual([['v2', now + 5 * MINUTE]]);
    await env.advance(HOUR);
    expect(env.dispatched('events')).toHaveLength(1);
  });

  it('an update that moves a schedule earlier dispatches at the earlier time, once', async () => {
    await using env = await createTestEnvironment();
    const now = env.clock.now();
    const s = await env.schedule({ message: { topic: 'events', payload: 'v1' }, at: now + 10 * MINUTE });
    await env.schedule({ message: { topic: 'events', payload: 'v2' }, at: now + MINUTE, envelope: { key: s.key } });
    await env.advance(HOUR);
    expect(env.dispatched('events').map((m) => [m.value, m.timestamp])).toEqual([['v2', now + MINUTE]]);
  });

  it('a cancel removes the schedule; a cancel to another partition does nothing', async () => {
    await using env = await createTestEnvironment({ partitions: 4 });
    const now = env.clock.now();
    const a = await env.schedule({ message: { topic: 'events', payload: 'a' }, at: now + MINUTE, envelope: { partition: 1 } });
    const b = await env.schedule({ message: { topic: 'events', payload: 'b' }, at: now + MINUTE, envelope: { partition: 2 } });
    await env.cancel(a.key, { partition: 1 });
    await env.cancel(b.key, { partition: 3 }); // wrong partition: ineffective, as in the reference
    await env.advance(2 * MINUTE);
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['b']);
  });

  it('a schedule reusing a dispatched key is dispatched too (the old tombstone closes only the older record)', async () => {
    await using env = await createTestEnvironment();
    const now = env.clock.now();
    const s = await env.schedule({ message: { topic: 'events', payload: 'first' }, at: now + SECOND, envelope: { key: 'reused' } });
    await env.advance(2 * SECOND);
    await env.schedule({ message: { topic: 'events', payload: 'second' }, at: now + MINUTE, envelope: { key: s.key } });
    // A restart replays: schedule, tombstone (closes offset 0), schedule again.
    await env.stopMember(env.members[0]!);
    await env.addMember();
    await env.advance(MINUTE);
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['first', 'second']);
  });

  it('an update that arrives while the old version is being dispatched survives: the old tombstone closes only the old version', async () => {
    await using env = await createTestEnvironment({ start: false });
    let release: () => void = () => {};
    let gate: Promise<void> | undefined = new Promise<void>((resolve) => (release = resolve));
    let held = false;
    await env.addMember(
      {},
      {
        wrapTransport: (t) => ({
          ...interceptTransport(t, {}),
          // The first flush's tombstones are acknowledged late.
          async produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
            if (gate && records.every((r) => r.topic === 'scheduled_messages' && r.value === null)) {
              held = true;
              const wait = gate;
              gate = undefined;
              await wait;
            }
            return t.produce(records);
          },
        }),
      },
    );
    const now = env.clock.now();
    const s = await env.schedule({ message: { topic: 'events', payload: 'v1' }, at: now + SECOND });
    await env.advance(SECOND);
    expect(held).toBe(true);
    // v1's target is out, its tombstone not yet: the update lands in between.
    await env.schedule({ message: { topic: 'events', payload: 'v2' }, at: now + MINUTE, envelope: { key: s.key } });
    release();
    await env.settle();
    expect(env.scheduler.partitions()[0]!.buffered).toBe(1);
    await env.advance(MINUTE);
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['v1', 'v2']);
    // Replayed from the log (schedule v1, update v2, tombstone of v1), v2 is closed by its own tombstone only.
    const tombstones = env.broker.readCommitted('scheduled_messages').filter((r) => r.value === null);
    expect(tombstones.map((r) => r.headers[Header.sourceOffset])).toEqual(['0', '1']);
  });

  it('replay: a schedule, its update, then the old version’s tombstone (schedule_source_offset) keeps the update', async () => {
    await using env = await createTestEnvironment({ start: false });
    const nowS = seconds(env.clock.now());
    await env.produce([
      rawSchedule({ key: 'k', epoch: nowS - 5, payload: 'v1' }),
      rawSchedule({ key: 'k', epoch: nowS + 30, payload: 'v2' }),
      { ...rawTombstone({ key: 'k', epoch: nowS - 5 }), headers: { ...rawTombstone({ key: 'k' }).headers, [Header.sourceOffset]: '0' } },
    ]);
    await env.addMember();
    expect(env.scheduler.partitions()[0]!.buffered).toBe(1);
    await env.advance(30 * SECOND);
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['v2']);
  });
});
