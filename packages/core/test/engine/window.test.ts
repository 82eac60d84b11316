/**
 * The window (ksched.md §2a): background reads racing the live path, the memory ceiling that
 * shortens the horizon, and partitions that come back to their member after a rebalance.
 */
import { describe, expect, it } from 'vitest';
import type { HorizonEvent, RefillEvent } from '@ksched/core';
import { createTestEnvironment } from '@ksched/testkit';
import { HOUR, MINUTE, SECOND, expectExactlyOnce, interceptTransport, prng, rawSchedule, seconds } from './helpers.js';

const START = Date.UTC(2026, 0, 1, 12);

describe('background reads', () => {
  it('a read racing live updates, cancels and dispatches of the same keys: the live record wins, nothing lost or twice', async () => {
    // 5,000 filler records at 1,000 records/s: each background read takes ~5 s of fake time.
    await using env = await createTestEnvironment({
      startAt: START,
      start: false,
      scheduler: { bufferHorizonMs: 10 * MINUTE },
      brokerOptions: { readSpeed: { recordsPerSecond: 1000 } },
    });
    const laterS = seconds(START) + 86_400;
    const filler = Array.from({ length: 5000 }, (_, i) => rawSchedule({ key: `later-${i}`, epoch: laterS + i }));
    for (let i = 0; i < filler.length; i += 1000) await env.produce(filler.slice(i, i + 1000));
    // Due in the stretch the first background read brings in (window 12:00–12:10, the read at
    // ~12:05 collects up to ~12:15).
    const band = START + 12 * MINUTE;
    const kept = await env.schedule({ message: { topic: 'events', payload: 'kept' }, at: band });
    const updated = await env.schedule({ message: { topic: 'events', payload: 'updated-v1' }, at: band + SECOND });
    const cancelled = await env.schedule({ message: { topic: 'events', payload: 'cancelled' }, at: band + 2 * SECOND });
    const early = await env.schedule({ message: { topic: 'events', payload: 'early-v1' }, at: band + 3 * SECOND });
    await env.addMember();
    await env.advanceTo(START + 2 * MINUTE);
    expect(env.scheduler.partitions()[0]!.state).toBe('loaded');
    expect(env.scheduler.partitions()[0]!.buffered).toBe(0);

    const refills: RefillEvent[] = [];
    env.scheduler.on('refill', (e) => refills.push(e));
    // Run into the first background read, then act on the same keys while it reads.
    while (refills.length === 0) await env.advance(SECOND);
    expect(refills[0]!.phase).toBe('started');
    await env.advance(SECOND);
    expect(env.scheduler.partitions()[0]!.refilling).toBe(true);
    await env.schedule({ message: { topic: 'events', payload: 'updated-v2' }, at: band + 4 * SECOND, envelope: { key: updated.key } });
    await env.cancel(cancelled.key, { partition: cancelled.partition });
    // Moved to "now": dispatched by the live path while the read still runs.
    const now = env.clock.now();
    await env.schedule({ message: { topic: 'events', payload: 'early-v2' }, at: now + 10, envelope: { key: early.key } });
    await env.advance(SECOND);
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['early-v2']);
    expect(env.scheduler.partitions()[0]!.refilling).toBe(true);

    await env.advanceTo(band + MINUTE);
    expect(refills.find((e) => e.phase === 'completed')).toMatchObject({ added: 1 }); // `kept` only
    const delivered = env.dispatched('events');
    expect(delivered.map((m) => m.value)).toEqual(['early-v2', 'kept', 'updated-v2']);
    expect(delivered.map((m) => m.timestamp)).toEqual([now + 10, band, band + 4 * SECOND]);
    expect(delivered.map((m) => m.scheduleKey)).toEqual([early.key, kept.key, updated.key]);
    expect(env.events.errors).toEqual([]);
  });

  it('many keys updated and cancelled at random while reads run: each dispatched once, in its latest version, on time', async () => {
    await using env = await createTestEnvironment({
      startAt: START,
      scheduler: { bufferHorizonMs: 2 * MINUTE },
      brokerOptions: { readSpeed: { recordsPerSecond: 200, fetchLatencyMs: 50 } },
    });
    const random = prng(11);
    const latest = new Map<string, { payload: string; at: number } | null>();
    const lateness: number[] = [];
    env.scheduler.on('dispatched', (e) => lateness.push(e.lateMs));
    for (let step = 0; step < 120; step++) {
      const key = `k-${Math.floor(random() * 40)}`;
      const now = env.clock.now();
      if (random() < 0.2 && latest.get(key)) {
        await env.cancel(key, { partitionKey: key });
        latest.set(key, null);
      } else {
        const at = now + 1000 + Math.floor(random() * 8 * MINUTE);
        const payload = `${key}@${step}`;
        await env.schedule({ message: { topic: 'events', payload }, at, envelope: { key, partitionKey: key } });
        latest.set(key, { payload, at });
      }
      await env.advance(Math.floor(random() * 5 * SECOND));
    }
    await env.advance(10 * MINUTE);
    const delivered = env.dispatched('events');
    // A key may have been dispatched before it was rescheduled; what is still pending at the end
    // of the loop is what its latest record says, and nothing is dispatched twice per record.
    const payloads = new Set(delivered.map((m) => m.value));
    expect(payloads.size).toBe(delivered.length);
    for (const [key, last] of latest) {
      if (last === null) continue;
      expect(payloads.has(last.payload), `${key}: ${last.payload}`).toBe(true);
    }
    expect(Math.max(...lateness)).toBe(0);
    expect(env.events.reloads.map((r) => r.reason)).toEqual(['assigned']);
  });
});

describe('a large background read', () => {
  it('merges thousands of schedules in chunks, dispatch going on between them: each once, on time', { timeout: 30_000 }, async () => {
    await using env = await createTestEnvironment({ startAt: START, start: false, scheduler: { bufferHorizonMs: 10 * MINUTE } });
    // 5,000 due in the stretch the first background read brings in (beyond the first 10 min),
    // more than two merge chunks; and one due now-ish that the live path holds all along.
    const band = START + 12 * MINUTE;
    const records = Array.from({ length: 5000 }, (_, i) => rawSchedule({ key: `band-${i}`, epoch: seconds(band) + (i % 60) }));
    for (let i = 0; i < records.length; i += 1000) await env.produce(records.slice(i, i + 1000));
    await env.addMember();
    const refills: RefillEvent[] = [];
    env.scheduler.on('refill', (e) => refills.push(e));
    expect(env.scheduler.partitions()[0]!.buffered).toBe(0);
    await env.advanceTo(band + 2 * MINUTE);
    expect(refills.find((e) => e.phase === 'completed')).toMatchObject({ added: 5000 });
    const delivered = env.dispatched();
    expect(new Set(delivered.map((m) => m.scheduleKey)).size).toBe(5000);
    expect(delivered).toHaveLength(5000);
    expect(env.events.dispatched.every((e) => e.lateMs === 0)).toBe(true);
  });
});

describe('memory ceiling', () => {
  it(
    'shortens the horizon instead of dropping schedules: every one dispatched on time, once; a metric-ready event says so',
    { timeout: 30_000 },
    async () => {
      const horizons: HorizonEvent[] = [];
      await using env = await createTestEnvironment({
        startAt: START,
        start: false,
        scheduler: { bufferHorizonMs: 4 * HOUR, bufferMaxBytes: 64 * 1024 },
      });
      // 400 schedules of ~1 KiB over the next 2 h: ~470 KiB, seven times the ceiling.
      const payload = 'x'.repeat(1000);
      const keys: string[] = [];
      for (let i = 0; i < 400; i++) {
        const s = await env.schedule({ message: { topic: 'events', payload }, at: START + 2 * MINUTE + i * 18 * SECOND });
        keys.push(s.key);
      }
      const member = await env.addMember();
      member.scheduler.on('horizon', (e) => horizons.push(e));
      const first = member.scheduler.partitions()[0]!;
      expect(first.bufferedBytes).toBeLessThanOrEqual(64 * 1024);
      expect(first.windowEndMs).toBeLessThan(START + HOUR);
      const lateness: number[] = [];
      member.scheduler.on('dispatched', (e) => lateness.push(e.lateMs));
      let maxBytes = 0;
      for (let t = 0; t < 2 * 60 + 5; t++) {
        await env.advance(MINUTE);
        maxBytes = Math.max(maxBytes, member.scheduler.partitions()[0]!.bufferedBytes);
      }
      expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
      expect(Math.max(...lateness)).toBe(0);
      expect(maxBytes).toBeLessThanOrEqual(64 * 1024);
      expect(member.events.loaded[0]!.buffered).toBeLessThan(100);
      expect(horizons.length).toBeGreaterThan(0);
      // Shortened at load (logged and emitted), and later reads stay within the ceiling.
      expect(env.events.errors).toEqual([]);
      expect(horizons.every((h) => h.reason === 'memory' && h.windowEndMs <= h.previousEndMs)).toBe(true);
    },
  );
});

describe('a partition returning to its member', () => {
  for (const transactional of [false, true]) {
    it(`${transactional ? 'transactional' : 'at-least-once'}: revoked and given back within rebalanceRetainMs, it catches up from its position (no re-read), fenced again first`, async () => {
      const inits: string[] = [];
      const seeks: { partition: number; kind: 'beginning' | 'offset' }[] = [];
      await using env = await createTestEnvironment({ partitions: 4, start: false, scheduler: { transactional } });
      const a = await env.addMember(
        {},
        {
          wrapTransport: (t) => {
            const wrapped = interceptTransport(t, { beforeInit: (id) => inits.push(id) });
            return {
              ...wrapped,
              seekToBeginning: (tp) => (seeks.push({ partition: tp.partition, kind: 'beginning' }), wrapped.seekToBeginning(tp)),
              seek: (tp, offset) => (seeks.push({ partition: tp.partition, kind: 'offset' }), wrapped.seek(tp, offset)),
            };
          },
        },
      );
      const random = prng(transactional ? 3 : 4);
      const now = env.clock.now();
      const keys: string[] = [];
      for (let i = 0; i < 100; i++) {
        const s = await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at: now + 1 + Math.floor(random() * 60 * SECOND) });
        keys.push(s.key);
      }
      await env.advance(10 * SECOND);
      const b = await env.addMember();
      expect(b.scheduler.partitions().map((p) => p.partition)).toEqual([2, 3]);
      await env.advance(15 * SECOND); // B dispatches from 2 and 3 meanwhile
      expect(b.events.dispatched.length).toBeGreaterThan(0);
      await env.stopMember(b);
      expect(a.scheduler.partitions()).toHaveLength(4);
      expect(a.events.reloads.map((r) => `${r.partition}:${r.reason}`).sort()).toEqual([
        '0:assigned',
        '1:assigned',
        '2:assigned',
        '2:resumed',
        '3:assigned',
        '3:resumed',
      ]);
      expect(seeks.filter((s) => s.kind === 'beginning')).toHaveLength(4);
      expect(
        seeks
          .filter((s) => s.kind === 'offset')
          .map((s) => s.partition)
          .sort(),
      ).toEqual([2, 3]);
      if (transactional) expect(inits.filter((id) => id.endsWith('-2') || id.endsWith('-3'))).toHaveLength(4);
      await env.advance(60 * SECOND);
      expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
    });
  }

  it('given back after rebalanceRetainMs: read from the beginning again', async () => {
    await using env = await createTestEnvironment({ partitions: 2, scheduler: { rebalanceRetainMs: 30_000 } });
    const a = env.members[0]!;
    const b = await env.addMember();
    await env.advance(45 * SECOND);
    await env.stopMember(b);
    expect(a.events.reloads.map((r) => `${r.partition}:${r.reason}`).sort()).toEqual(['0:assigned', '1:assigned', '1:assigned']);
  });
});
