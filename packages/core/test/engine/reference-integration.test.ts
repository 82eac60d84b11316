/**
 * The reference's integration specs (reference-karafka.md §11 "Integration level"), ported to the
 * FakeBroker and fake time. Ruby-specific ones (swarm, ActiveJob, routing) are left out.
 */
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { ContractViolationError, Header, schedule as buildSchedule } from '@ksched/core';
import { createTestEnvironment } from '@ksched/testkit';
import { HOUR, NOON, SECOND, rawSchedule, rawTombstone, seconds, utcDate } from './helpers.js';

describe('reference integration scenarios', () => {
  referenceLoadAndDispatchTests();
  referenceCancelAndRecoveryTests();
});

/** The reference scenarios of loading, ordering, future schedules and hand-made tombstones. */
function referenceLoadAndDispatchTests(): void {
  it('without any messages: an empty partition publishes exactly one `loaded` state (zlib, schema 1.0.0, daily {today: 0})', async () => {
    await using env = await createTestEnvironment();
    const raw = env.broker.readCommitted('scheduled_messages_states', 0);
    expect(raw).toHaveLength(1);
    const [record] = raw;
    expect(new TextDecoder().decode(record!.key!)).toBe('loaded_state');
    expect(record!.headers['zlib']).toBe('true');
    // RFC 1950: a zlib header (CMF 0x78), then a deflate stream that inflates to the JSON report.
    expect(record!.value![0]).toBe(0x78);
    const json = JSON.parse(inflateSync(record!.value!).toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['schema_version', 'dispatched_at', 'state', 'offsets', 'daily', 'started_at', 'reloads']);
    expect(json).toMatchObject({
      schema_version: '1.0.0',
      state: 'loaded',
      daily: { [utcDate(NOON)]: 0 },
      offsets: { low: -1, high: -1 },
      started_at: seconds(NOON),
      reloads: 1,
    });
    expect(json['dispatched_at']).toBe(NOON / 1000);
    expect(env.events.loaded).toEqual([expect.objectContaining({ by: 'end_offset', buffered: 0, reloads: 1 })]);
  });

  it('ordered dispatches: 50 schedules due at the same second are delivered in production order', async () => {
    await using env = await createTestEnvironment({ partitions: 3 });
    const epoch = seconds(env.clock.now()) + 1;
    for (let i = 0; i < 50; i++) {
      await env.schedule({
        message: { topic: 'events', key: String(i), payload: `p${i}` },
        envelope: { key: `k${i}`, partition: 0 },
        epoch,
      });
    }
    await env.advance(999);
    expect(env.dispatched('events')).toHaveLength(0);
    await env.advance(1);
    const delivered = env.dispatched('events');
    expect(delivered.map((m) => m.key)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(delivered.map((m) => m.value)).toEqual(Array.from({ length: 50 }, (_, i) => `p${i}`));
  });

  it('with mostly future dispatches: only the 2 due now go out; the state is not loading and counts tomorrow', async () => {
    await using env = await createTestEnvironment();
    const now = env.clock.now();
    for (let i = 0; i < 50; i++) {
      await env.schedule({ message: { topic: 'events', key: `future-${i}`, payload: 'later' }, at: now + 60 * SECOND + i * HOUR });
    }
    for (let i = 0; i < 2; i++) await env.schedule({ message: { topic: 'events', key: `now-${i}`, payload: 'now' }, delayMs: SECOND });
    await env.advance(30 * SECOND);
    expect(
      env
        .dispatched('events')
        .map((m) => m.key)
        .sort(),
    ).toEqual(['now-0', 'now-1']);
    const state = env.lastState()!;
    expect(state.state).not.toBe('loading');
    expect(state.state).toBe('loaded');
    // 12:01 … 23:01 are today: 12 pending today; tomorrow's date is counted (estimate).
    expect(state.daily[utcDate(now)]).toBe(12);
    expect(state.daily[utcDate(now + 24 * HOUR)]).toBe(24);
  });

  it('with dispatched except one: 10 overdue schedules closed by hand-made tombstones stay closed; the open one is delivered intact', async () => {
    await using env = await createTestEnvironment({ start: false, partitions: 2, targetPartitions: 2 });
    const nowS = seconds(env.clock.now());
    for (let i = 0; i < 10; i++) {
      await env.produce([rawSchedule({ key: `old-${i}`, epoch: nowS - 600, targetPartition: 0, targetKey: `t-old-${i}` })]);
    }
    for (let i = 0; i < 10; i++) await env.produce([rawTombstone({ key: `old-${i}` })]);
    const record = buildSchedule(
      {
        message: { topic: 'events', partition: 0, key: 'target-key', payload: 'the one', headers: { id: 'the-id' } },
        envelope: { topic: 'scheduled_messages', key: 'the-key', partition: 0 },
        epoch: nowS + 2,
      },
      { clock: env.clock },
    );
    const [meta] = await env.produce([record]);
    await env.addMember();
    await env.advance(1999);
    expect(env.dispatched('events')).toHaveLength(0);
    await env.advance(1);
    const delivered = env.dispatched('events');
    expect(delivered).toHaveLength(1);
    const [m] = delivered;
    expect(m).toMatchObject({ topic: 'events', partition: 0, key: 'target-key', value: 'the one', scheduleKey: 'the-key' });
    expect(m!.headers).toEqual({
      id: 'the-id',
      [Header.schemaVersion]: '1.0.0',
      [Header.targetEpoch]: String(nowS + 2),
      [Header.sourceType]: 'schedule',
      [Header.targetTopic]: 'events',
      [Header.targetPartition]: '0',
      [Header.targetKey]: 'target-key',
      [Header.sourceTopic]: 'scheduled_messages',
      [Header.sourcePartition]: '0',
      [Header.sourceOffset]: String(meta!.offset),
      [Header.sourceKey]: 'the-key',
    });
    // Its tombstone: same key, same partition, null value, type tombstone, source offset.
    const tombstones = env.broker
      .readCommitted('scheduled_messages', 0)
      .filter((r) => r.value === null && r.headers[Header.sourceOffset] !== undefined);
    expect(tombstones).toHaveLength(1);
    expect(new TextDecoder().decode(tombstones[0]!.key!)).toBe('the-key');
    expect(tombstones[0]!.headers).toMatchObject({
      [Header.sourceType]: 'tombstone',
      [Header.sourceOffset]: String(meta!.offset),
      id: 'the-id',
    });
  });
}

/** The reference scenarios of cancels, fast close, past timestamps, crash recovery and older schema versions. */
function referenceCancelAndRecoveryTests(): void {
  it('future scheduled cancelling: today’s count goes up, a cancel brings it to 0, nothing is delivered', async () => {
    await using env = await createTestEnvironment();
    const today = utcDate(env.clock.now());
    const s = await env.schedule({ message: { topic: 'events', payload: 'x' }, delayMs: 60 * SECOND });
    // Reports are throttled and refreshed by the idle tick (intervalMs, 15 s): wait for one that counts it.
    let waited = 0;
    while ((env.lastState()!.daily[today] ?? 0) === 0 && waited < 30 * SECOND) {
      await env.advance(SECOND);
      waited += SECOND;
    }
    expect(env.lastState()!.daily[today]).toBe(1);
    expect(waited).toBeLessThanOrEqual(15 * SECOND);
    await env.cancel(s.key, { partition: s.partition });
    await env.advance(60 * SECOND);
    expect(env.lastState()!.daily[today]).toBe(0);
    expect(env.dispatched('events')).toHaveLength(0);
    expect(env.scheduler.partitions()[0]!.buffered).toBe(0);
  });

  it('fast close past schedules: 500 schedules due 5–9 s ago, produced over time, are all delivered once', async () => {
    await using env = await createTestEnvironment();
    const keys: string[] = [];
    for (let batch = 0; batch < 10; batch++) {
      const nowS = seconds(env.clock.now());
      const records = Array.from({ length: 50 }, (_, j) => {
        const i = batch * 50 + j;
        keys.push(`past-${i}`);
        return rawSchedule({ key: `past-${i}`, epoch: nowS - 5 - (i % 5), targetPartition: 0 });
      });
      await env.produce(records);
      await env.advance(100);
    }
    await env.advance(SECOND);
    const delivered = env.dispatched('events');
    expect(delivered.map((m) => m.scheduleKey).sort()).toEqual([...keys].sort());
  });

  it('past timestamps are rejected at build time with in_the_past, and nothing is delivered', async () => {
    await using env = await createTestEnvironment();
    const nowS = seconds(env.clock.now());
    for (const epoch of [nowS - 30, nowS - 300, nowS - 3600, nowS - 86_400, 0, -1000]) {
      let error: unknown;
      try {
        await env.schedule({ message: { topic: 'events', payload: 'x' }, epoch });
      } catch (e) {
        error = e;
      }
      expect(ContractViolationError.isInstance(error), `epoch ${epoch}`).toBe(true);
      expect((error as ContractViolationError).violations.map((v) => v.rule)).toEqual(['in_the_past']);
      expect((error as Error).message).toMatch(/past/);
    }
    await env.advance(HOUR);
    expect(env.broker.readCommitted('scheduled_messages')).toHaveLength(0);
    expect(env.dispatched()).toHaveLength(0);
  });

  it('dispatch crash recovery: the 3rd produced record fails once; keys 0..5 still arrive first, in order, none lost', async () => {
    await using env = await createTestEnvironment({ scheduler: { retryBackoffMs: 100 } });
    const now = env.clock.now();
    for (let i = 0; i < 10; i++) {
      await env.schedule({
        message: { topic: 'events', key: String(i), payload: `p${i}` },
        envelope: { key: `k${i}` },
        at: now + 5 * SECOND * i,
      });
    }
    const fault = env.broker.faults.failProduce({ source: 'produce', nth: 3 });
    await env.advance(50 * SECOND);
    expect(fault.triggered).toBe(1);
    const delivered = env.dispatched('events').map((m) => m.key);
    expect(delivered.slice(0, 6)).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(delivered).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    expect(env.events.errors.map((e) => e.phase)).toEqual(['flush']);
  });

  it('older multi-digit schema versions are read: records stamped 0.9.0, 1.0 and 1.0.0 are all delivered', async () => {
    await using env = await createTestEnvironment();
    const nowS = seconds(env.clock.now());
    await env.produce([
      rawSchedule({ key: 'v090', epoch: nowS + 1, version: '0.9.0' }),
      rawSchedule({ key: 'v10', epoch: nowS + 1, version: '1.0' }),
      rawSchedule({ key: 'v100', epoch: nowS + 1, version: '1.0.0' }),
    ]);
    await env.advance(SECOND);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual(['v090', 'v10', 'v100']);
    expect(env.events.errors).toEqual([]);
    expect(env.events.invalid).toEqual([]);
    // The tombstones are stamped with ksched's own version.
    const tombstones = env.broker.readCommitted('scheduled_messages').filter((r) => r.value === null);
    expect(tombstones.map((t) => t.headers[Header.schemaVersion])).toEqual(['1.0.0', '1.0.0', '1.0.0']);
  });
}
