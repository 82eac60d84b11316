/**
 * Loading: "nothing before loaded" (ksched.md §4), loaded by position only (the reference's 15 s
 * CreateTime heuristic, §4.5, is dropped), never-idle partitions, compacted logs with gaps (design note 3), MaxEpoch (reference
 * §4.14) and informational offset commits (reference §4.13).
 */
import { describe, expect, it } from 'vitest';
import { Header, type PartitionBatch, type Watermarks } from '@ksched/core';
import { createTestEnvironment, type Member, type TestEnvironment } from '@ksched/testkit';
import {
  DAY,
  HOUR,
  MINUTE,
  SECOND,
  expectExactlyOnce,
  interceptTransport,
  rawCancel,
  rawSchedule,
  rawTombstone,
  seconds,
} from './helpers.js';

/** Whether partition 0 is loaded, from the engine's `state` events (usable before addMember resolves). */
const isLoaded = (env: TestEnvironment): boolean =>
  env.broker.readCommitted('scheduled_messages_states', 0).some((r) => new TextDecoder().decode(r.key!) === 'loaded_state');

describe('loading', () => {
  loadEndTests();
  compactedLogAndCommitTests();
});

/** Where a load ends: by position only, with future CreateTimes, never-idle partitions, commit markers and open transactions. */
function loadEndTests(): void {
  it('future-dated CreateTimes do not end the load early: the cancel that follows is read before anything is dispatched', async () => {
    await using env = await createTestEnvironment({ start: false, brokerOptions: { maxBatchSize: 1 } });
    const now = env.clock.now();
    const nowS = seconds(now);
    const farFuture = (i: number) => rawSchedule({ key: `far-${i}`, epoch: nowS + 10 * 86_400 + i, timestamp: now + 300 * SECOND + i });
    // A schedule due now whose CreateTime is 5 minutes ahead (producer clock skew), then a flow
    // of far-future schedules with future CreateTimes, then its cancel.
    await env.produce([rawSchedule({ key: 'victim', epoch: nowS, timestamp: now + 300 * SECOND })]);
    for (let i = 0; i < 5; i++) await env.produce([farFuture(i)]);
    await env.produce([rawCancel({ key: 'victim' })]);
    // The scheduler joins while the flow goes on: every batch it handles is followed by another record.
    let injected = 5;
    const batches: PartitionBatch[] = [];
    let seen: Watermarks | undefined;
    const member = await env.addMember(
      {},
      {
        wrapTransport: (t) =>
          interceptTransport(t, {
            onSeek: (_tp, w) => (seen = w),
            beforeBatch: async (batch) => {
              batches.push(batch);
              if (injected < 30) await t.produce([farFuture(injected++)]);
            },
          }),
      },
    );
    expect(seen).toEqual({ low: 0, high: 7 });
    expect(member.events.loaded).toEqual([expect.objectContaining({ by: 'end_offset', buffered: 0 })]);
    await env.advance(25 * SECOND);
    expect(env.dispatched('events')).toEqual([]);
    expect(batches.filter((b) => b.records.length > 0).length).toBeGreaterThanOrEqual(30);
  });

  it('loaded by position only: a long load of future-dated records is not loaded before its end offset (no 15 s CreateTime heuristic)', async () => {
    await using env = await createTestEnvironment({ start: false, brokerOptions: { maxBatchSize: 1 } });
    const start = env.clock.now();
    const nowS = seconds(start);
    // 40 records whose CreateTime is a minute ahead of the scheduler's clock: the reference's
    // heuristic would take the partition as loaded after 15 s, before its end.
    for (let i = 0; i < 40; i++) await env.produce([rawSchedule({ key: `f-${i}`, epoch: nowS + 86_400 * 3, timestamp: start + MINUTE })]);
    const positionsAtLoaded: number[] = [];
    const ref: { member?: Member } = {};
    const member = (ref.member = await env.addMember(
      {},
      {
        wrapTransport: (t) =>
          interceptTransport(t, {
            // A slow load: each batch takes one second of the scheduler's clock.
            beforeBatch: () => env.clock.setSystemTime(env.clock.now() + SECOND),
            afterBatch: (batch) => {
              if (positionsAtLoaded.length === 0 && isLoaded(env)) positionsAtLoaded.push(batch.position);
            },
          }),
      },
    ));
    const [loaded] = member.events.loaded;
    expect(loaded).toMatchObject({ by: 'end_offset' });
    expect(loaded!.durationMs).toBeGreaterThanOrEqual(39 * SECOND);
    expect(positionsAtLoaded[0]).toBe(40);
  });

  it('a never-idle partition (a record arrives with every batch, no EOF ever) still reaches loaded and dispatches', async () => {
    await using env = await createTestEnvironment({ start: false, brokerOptions: { maxBatchSize: 2 } });
    const nowS = seconds(env.clock.now());
    for (let i = 0; i < 20; i++) await env.produce([rawSchedule({ key: `s-${i}`, epoch: nowS + 86_400 * 2 })]);
    await env.produce([rawSchedule({ key: 'due', epoch: nowS })]);
    let injected = 0;
    let eofBeforeLoaded = 0;
    let loadedWhileFlowing = false;
    const member = await env.addMember(
      {},
      {
        wrapTransport: (t) =>
          interceptTransport(t, {
            beforeBatch: async (batch) => {
              const loaded = isLoaded(env);
              if (batch.records.length === 0 && !loaded) eofBeforeLoaded++;
              if (loaded && injected < 200) loadedWhileFlowing = true;
              // Keep producing: the end of the partition moves ahead of every batch.
              if (injected < 200) await t.produce([rawSchedule({ key: `flow-${injected++}`, epoch: nowS + 86_400 * 2 })]);
            },
          }),
      },
    );
    expect(eofBeforeLoaded).toBe(0);
    expect(loadedWhileFlowing).toBe(true);
    expect(member.events.loaded).toHaveLength(1);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual(['due']);
  });

  it('a log ending in a commit marker loads (position, not last offset + 1, is compared with the end offset)', async () => {
    await using env = await createTestEnvironment({ start: false });
    env.broker.createTopic('events', { partitions: 1 });
    const nowS = seconds(env.clock.now());
    const tx = await env.producer.createTransactionalProducer('outsider');
    await tx.init();
    await tx.sendInTransaction([rawSchedule({ key: 'a', epoch: nowS + 86_400 * 2 }), rawSchedule({ key: 'b', epoch: nowS + 86_400 * 2 })]);
    expect(env.broker.watermarks({ topic: 'scheduled_messages', partition: 0 }).high).toBe(3); // 2 records + marker
    const member = await env.addMember();
    expect(member.events.loaded).toEqual([expect.objectContaining({ by: 'end_offset' })]);
    expect(member.scheduler.partitions()[0]).toMatchObject({ state: 'loaded', endOffset: 3, position: 3 });
  });

  it('an open transaction at the end: the load ends at the last stable offset before it; its records are applied live once committed', async () => {
    await using env = await createTestEnvironment({ start: false });
    const nowS = seconds(env.clock.now());
    env.broker.createTopic('events', { partitions: 1 });
    const tx = await env.producer.createTransactionalProducer('outsider');
    await tx.init();
    await tx.sendInTransaction([rawSchedule({ key: 'committed', epoch: nowS })]);
    const pause = env.broker.faults.pauseTransactionBeforeCommit('outsider');
    const open = tx.sendInTransaction([rawSchedule({ key: 'open', epoch: nowS })]);
    await pause.reached;
    const member = await env.addMember();
    // The end offset seen is the last stable offset: "committed" and its marker, not the open one.
    expect(member.events.loaded).toHaveLength(1);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual(['committed']);
    pause.release();
    await open;
    await env.settle();
    await env.advance(1);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual(['committed', 'open']);
  });
}

/** Compacted logs, MaxEpoch, informational offset commits, and nothing before loaded. */
function compactedLogAndCommitTests(): void {
  it('compaction gaps: a new member reloads from the low watermark and dispatches what is left, never what was tombstoned', async () => {
    await using env = await createTestEnvironment();
    const now = env.clock.now();
    const done: string[] = [];
    for (let i = 0; i < 10; i++)
      done.push((await env.schedule({ message: { topic: 'events', payload: `d${i}` }, delayMs: SECOND, envelope: { partition: 0 } })).key);
    const pending: string[] = [];
    for (let i = 0; i < 5; i++)
      pending.push(
        (await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at: now + HOUR + i, envelope: { partition: 0 } })).key,
      );
    const cancelled = await env.schedule({ message: { topic: 'events', payload: 'c' }, at: now + HOUR, envelope: { partition: 0 } });
    await env.cancel(cancelled.key, { partition: 0 });
    await env.advance(2 * SECOND);
    expect(env.dispatched('events')).toHaveLength(10);

    await env.stopMember(env.members[0]!);
    // Dispatched schedules, their tombstones and the cancelled pair go; the head of the log moves.
    expect(env.broker.compact('scheduled_messages', { tombstoneRetentionMs: 0 })).toBeGreaterThan(0);
    const { low } = env.broker.watermarks({ topic: 'scheduled_messages', partition: 0 });
    expect(low).toBe(10);
    let seen: Watermarks | undefined;
    const b = await env.addMember({}, { wrapTransport: (t) => interceptTransport(t, { onSeek: (_tp, w) => (seen = w) }) });
    expect(seen?.low).toBe(10);
    expect(b.events.loaded).toEqual([expect.objectContaining({ buffered: 5 })]);
    await env.advance(HOUR);
    expect(expectExactlyOnce(env.dispatched('events'), [...done, ...pending])).toEqual({ lost: [], duplicated: [], unexpected: [] });
  });

  it('compaction that keeps the tombstones (schedules gone, tombstones left) dispatches nothing twice', async () => {
    await using env = await createTestEnvironment();
    for (let i = 0; i < 5; i++) await env.schedule({ message: { topic: 'events', payload: `d${i}` }, delayMs: SECOND });
    await env.advance(SECOND);
    await env.stopMember(env.members[0]!);
    env.broker.compact('scheduled_messages'); // default retention 24 h: tombstones stay
    expect(env.broker.readCommitted('scheduled_messages').every((r) => r.value === null)).toBe(true);
    await env.addMember();
    await env.advance(MINUTE);
    expect(env.dispatched('events')).toHaveLength(5);
  });

  it('MaxEpoch: overdue schedules more than an hour older than the newest tombstone are skipped on load; those within the grace are kept', async () => {
    await using env = await createTestEnvironment({ start: false });
    const nowS = seconds(env.clock.now());
    await env.produce([rawTombstone({ key: 'dispatched-earlier', epoch: nowS })]);
    await env.produce([
      rawSchedule({ key: 'two-hours-old', epoch: nowS - 2 * 3600 }),
      rawSchedule({ key: 'just-beyond-grace', epoch: nowS - 3601 }),
      rawSchedule({ key: 'at-grace', epoch: nowS - 3600 }),
      rawSchedule({ key: 'half-hour-old', epoch: nowS - 1800 }),
      rawSchedule({ key: 'yesterday', epoch: nowS - 86_400 }),
    ]);
    const member = await env.addMember();
    expect(member.events.loaded).toEqual([expect.objectContaining({ buffered: 2 })]);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual(['at-grace', 'half-hour-old']);
  });

  it('a tombstone read before its schedule does not move MaxEpoch for schedules read before it', async () => {
    await using env = await createTestEnvironment({ start: false });
    const nowS = seconds(env.clock.now());
    await env.produce([rawSchedule({ key: 'old-but-open', epoch: nowS - 2 * 3600 }), rawTombstone({ key: 'other', epoch: nowS })]);
    await env.addMember();
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual(['old-but-open']);
  });

  it('informational offset commits: none while loading, the position once loaded, throttled to one a second', async () => {
    await using env = await createTestEnvironment({ start: false, brokerOptions: { maxBatchSize: 1 } });
    const nowS = seconds(env.clock.now());
    for (let i = 0; i < 10; i++) await env.produce([rawSchedule({ key: `s-${i}`, epoch: nowS + 2 * 86_400 })]);
    await env.addMember();
    const offsets = () => env.broker.commits.flatMap((c) => c.offsets.map((o) => o.offset));
    expect(offsets()).toEqual([10]);
    // More records while loaded: committed again once a second has passed.
    await env.produce([rawSchedule({ key: 'later', epoch: nowS + 2 * 86_400 })]);
    await env.settle();
    expect(offsets()).toEqual([10]);
    await env.advance(SECOND);
    await env.produce([rawSchedule({ key: 'later-2', epoch: nowS + 2 * 86_400 })]);
    await env.settle();
    expect(offsets()).toEqual([10, 12]);
    expect(env.broker.committedOffset('ksched_scheduled_messages', { topic: 'scheduled_messages', partition: 0 })).toBe(12);
  });

  it('no commits at all when commitOffsets is off', async () => {
    await using env = await createTestEnvironment({ scheduler: { commitOffsets: false } });
    await env.schedule({ message: { topic: 'events', payload: 'x' }, delayMs: SECOND });
    await env.advance(DAY / 24);
    expect(env.dispatched('events')).toHaveLength(1);
    expect(env.broker.commits).toEqual([]);
  });

  it('nothing before loaded: a due schedule is not dispatched while its partition is still loading', async () => {
    await using env = await createTestEnvironment({ start: false, brokerOptions: { maxBatchSize: 1 } });
    const nowS = seconds(env.clock.now());
    await env.produce([rawSchedule({ key: 'due', epoch: nowS - 5 })]);
    for (let i = 0; i < 5; i++) await env.produce([rawSchedule({ key: `f-${i}`, epoch: nowS + 2 * 86_400 })]);
    await env.produce([rawCancel({ key: 'due' })]);
    const dispatchedWhileLoading: string[] = [];
    await env.addMember(
      {},
      {
        wrapTransport: (t) =>
          interceptTransport(t, {
            afterBatch: () => {
              for (const r of env.broker.readCommitted('events')) dispatchedWhileLoading.push(String(r.headers[Header.sourceKey]));
            },
          }),
      },
    );
    await env.advance(MINUTE);
    expect(dispatchedWhileLoading).toEqual([]);
    expect(env.dispatched('events')).toEqual([]);
  });
}
