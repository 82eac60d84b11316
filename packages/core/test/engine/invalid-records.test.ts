/**
 * Bad input never stops the service and never loses a valid schedule (ksched.md §3.4, §4): invalid
 * records are counted by reason, logged once, optionally dead-lettered, and skipped.
 */
import { describe, expect, it } from 'vitest';
import { Header, type ProduceRecord } from '@ksched/core';
import { createTestEnvironment } from '@ksched/testkit';
import { MINUTE, SECOND, prng, rawSchedule, recordingLogger, seconds } from './helpers.js';

const LATE = Date.UTC(2026, 0, 1, 23, 58, 0);
const INVALID_LOG = 'skipping invalid schedules record';

function randomBytes(seed: number, length: number): Uint8Array {
  const random = prng(seed);
  const bytes = new Uint8Array(length);
  // 0x80–0xff only: never valid UTF-8 on its own.
  for (let i = 0; i < length; i++) bytes[i] = 0x80 + Math.floor(random() * 0x80);
  return bytes;
}

/** One record per reason, each a near-valid schedule broken in one way. */
function invalidRecords(nowS: number, tag: string): { record: ProduceRecord; reason: string }[] {
  const base = (key: string) => rawSchedule({ key: `${tag}-${key}`, epoch: nowS + 20 });
  const without = (record: ProduceRecord, header: string): ProduceRecord => {
    const headers = { ...record.headers };
    delete headers[header];
    return { ...record, headers };
  };
  return [
    { reason: 'missing_source_type', record: without(base('no-type'), Header.sourceType) },
    { reason: 'null_key', record: { ...base('null-key'), key: null } },
    { reason: 'bad_epoch', record: rawSchedule({ key: `${tag}-bad-epoch`, epoch: 'tomorrow' }) },
    { reason: 'epoch_mismatch', record: rawSchedule({ key: `${tag}-mismatch`, epoch: nowS + 20, epochMs: (nowS + 80) * 1000 }) },
    { reason: 'bad_epoch_ms', record: rawSchedule({ key: `${tag}-bad-ms`, epoch: nowS + 20, epochMs: '1e12' }) },
    { reason: 'missing_target_topic', record: without(base('no-target'), Header.targetTopic) },
    { reason: 'bad_target_topic', record: rawSchedule({ key: `${tag}-bad-target`, epoch: nowS + 20, target: 'no spaces allowed' }) },
    { reason: 'bad_target_partition', record: rawSchedule({ key: `${tag}-bad-partition`, epoch: nowS + 20, targetPartition: '-1' }) },
    { reason: 'missing_schema_version', record: without(base('no-version'), Header.schemaVersion) },
    {
      reason: 'bad_schema_version',
      record: rawSchedule({ key: `${tag}-bytes-version`, epoch: nowS + 20, headers: { [Header.schemaVersion]: randomBytes(1, 16) } }),
    },
    {
      reason: 'bad_epoch',
      record: rawSchedule({
        key: `${tag}-bytes-epoch`,
        epoch: nowS + 20,
        headers: { [Header.targetEpoch]: randomBytes(2, 8), junk: randomBytes(3, 32) },
      }),
    },
  ];
}

describe('invalid records', () => {
  it('are counted by reason, logged once (also across midnight and background reads), dead-lettered, and skipped; valid schedules around them go out', async () => {
    const { logger, entries } = recordingLogger();
    await using env = await createTestEnvironment({
      startAt: LATE,
      start: false,
      compacted: false,
      logger,
      scheduler: { deadLetterTopic: 'ksched_dlq' },
    });
    env.broker.createTopic('ksched_dlq', { partitions: 1 });
    const nowS = seconds(env.clock.now());
    // Before the scheduler starts (read during the load) …
    const loadBatch = invalidRecords(nowS, 'load');
    let valid = 0;
    for (const { record } of loadBatch) {
      await env.produce([rawSchedule({ key: `valid-${valid++}`, epoch: nowS + 30 }), record]);
    }
    await env.addMember();
    // … and while loaded (read live).
    const liveBatch = invalidRecords(nowS, 'live');
    for (const { record } of liveBatch) {
      await env.produce([record, rawSchedule({ key: `valid-${valid++}`, epoch: nowS + 30 })]);
    }
    await env.settle();
    const all = [...loadBatch, ...liveBatch];

    const byReason = (reasons: readonly string[]) => {
      const counts: Record<string, number> = {};
      for (const r of reasons) counts[r] = (counts[r] ?? 0) + 1;
      return counts;
    };
    expect(byReason(env.events.invalid.map((e) => e.reason))).toEqual(byReason(all.map((r) => r.reason)));
    expect(env.events.invalid.every((e) => e.deadLettered)).toBe(true);
    expect(env.scheduler.partitions()[0]!.invalid).toBe(all.length);

    const logged = entries.filter((e) => e.message === INVALID_LOG);
    expect(logged).toHaveLength(all.length);
    for (const entry of logged)
      expect(entry.fields).toMatchObject({
        topic: 'scheduled_messages',
        partition: 0,
        offset: expect.any(Number),
        reason: expect.any(String),
      });

    const dlq = env.broker.readCommitted('ksched_dlq');
    expect(dlq).toHaveLength(all.length);
    expect(dlq.map((r) => r.headers['ksched_invalid_reason'])).toEqual(env.events.invalid.map((e) => e.reason));
    expect(dlq.map((r) => Number(r.headers[Header.sourceOffset]))).toEqual(env.events.invalid.map((e) => e.offset));
    // The original bytes travel unchanged.
    const bytesRecord = dlq.find((r) => r.headers['ksched_invalid_reason'] === 'bad_schema_version')!;
    expect(bytesRecord.headers[Header.schemaVersion]).toEqual(randomBytes(1, 16));

    await env.advance(45 * SECOND);
    expect(
      env
        .dispatched('events')
        .map((m) => m.scheduleKey)
        .sort(),
    ).toEqual(Array.from({ length: valid }, (_, i) => `valid-${i}`).sort());

    // Midnight passes without a reload, and background reads re-read the whole partition every
    // half horizon: the invalid records are not counted, logged or dead-lettered again.
    const refills: string[] = [];
    env.scheduler.on('refill', (e) => refills.push(e.phase));
    await env.advance(2 * 60 * MINUTE);
    expect(env.events.reloads.map((r) => r.reason)).toEqual(['assigned']);
    expect(refills.filter((p) => p === 'completed').length).toBeGreaterThanOrEqual(3);
    expect(env.events.invalid).toHaveLength(all.length);
    expect(entries.filter((e) => e.message === INVALID_LOG)).toHaveLength(all.length);
    expect(env.broker.readCommitted('ksched_dlq')).toHaveLength(all.length);
    expect(env.dispatched('events')).toHaveLength(valid);
    expect(env.events.errors).toEqual([]);
    expect(env.scheduler.partitions()[0]!.state).toBe('loaded');
  });

  it('a failing dead-letter produce does not block the partition and is retried until the copy is written', async () => {
    await using env = await createTestEnvironment({
      start: false,
      scheduler: { deadLetterTopic: 'missing_dlq_topic', retryBackoffMs: 500 },
    });
    const nowS = seconds(env.clock.now());
    await env.produce([rawSchedule({ key: 'bad', epoch: 'x' }), rawSchedule({ key: 'good', epoch: nowS + 1 })]);
    await env.addMember();
    await env.advance(5 * SECOND);
    // The valid schedule went; the copy is still being retried (the `invalid` event waits for it).
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual(['good']);
    expect(env.events.invalid).toEqual([]);
    expect(env.events.errors.length).toBeGreaterThanOrEqual(3);
    expect(env.events.errors.every((e) => e.phase === 'dead_letter')).toBe(true);
    env.broker.createTopic('missing_dlq_topic', { partitions: 1 });
    await env.advance(MINUTE);
    expect(env.events.invalid).toEqual([expect.objectContaining({ reason: 'bad_epoch', deadLettered: true })]);
    expect(env.broker.readCommitted('missing_dlq_topic').map((r) => r.headers['ksched_invalid_reason'])).toHaveLength(1);
  });

  it('a dead-letter copy still waiting when the partition stops is reported as not dead-lettered', async () => {
    await using env = await createTestEnvironment({ start: false, scheduler: { deadLetterTopic: 'missing_dlq_topic' } });
    await env.produce([rawSchedule({ key: 'bad', epoch: 'x' })]);
    await env.addMember();
    await env.advance(2 * SECOND);
    expect(env.events.invalid).toEqual([]);
    await env.scheduler.stop();
    await env.advance(MINUTE);
    expect(env.events.invalid).toEqual([expect.objectContaining({ reason: 'bad_epoch', deadLettered: false })]);
  });

  it('a record giving a schedule_* header twice with different values is invalid (duplicate_header); a user header given twice is not', async () => {
    const { logger, entries } = recordingLogger();
    await using env = await createTestEnvironment({ start: false, logger, scheduler: { deadLetterTopic: 'ksched_dlq' } });
    env.broker.createTopic('ksched_dlq', { partitions: 1 });
    const nowS = seconds(env.clock.now());
    // A ProduceRecord cannot repeat a header name: the FakeBroker appends its headers as a list.
    const repeating = (record: ProduceRecord, ...more: [string, string][]) =>
      env.broker.appendRaw({ ...record, headers: [...Object.entries(record.headers!), ...more] });
    await env.produce([rawSchedule({ key: 'before', epoch: nowS + 5 }), rawSchedule({ key: 'both', epoch: nowS + 5 })]);
    // Read during the load: a schedule and a cancel of `both` at once (consumed as `cancel`, the last value).
    const loadedBad = repeating(rawSchedule({ key: 'both', epoch: nowS + 5 }), [Header.sourceType, 'cancel']);
    // Harmless: the same value twice; and the message's own header twice.
    repeating(rawSchedule({ key: 'same-twice', epoch: nowS + 5 }), [Header.sourceType, 'schedule']);
    repeating(rawSchedule({ key: 'user-twice', epoch: nowS + 5, headers: { trace: 'first' } }), ['trace', 'second']);
    await env.addMember();
    // Read live: two due times.
    const liveBad = repeating(rawSchedule({ key: 'two-times', epoch: nowS + 5 }), [Header.targetEpoch, String(nowS + 3600)]);
    await env.produce([rawSchedule({ key: 'after', epoch: nowS + 5 })]);
    await env.settle();

    expect(env.broker.readCommitted('scheduled_messages').map((r) => r.repeatedHeaders)).toEqual([
      undefined,
      undefined,
      [Header.sourceType],
      undefined,
      ['trace'],
      [Header.targetEpoch],
      undefined,
    ]);
    expect(env.events.invalid).toEqual([
      {
        topic: 'scheduled_messages',
        partition: 0,
        offset: loadedBad.offset,
        reason: 'duplicate_header',
        detail: 'schedule_source_type appears more than once with different values (the last is "cancel")',
        deadLettered: true,
      },
      {
        topic: 'scheduled_messages',
        partition: 0,
        offset: liveBad.offset,
        reason: 'duplicate_header',
        detail: `schedule_target_epoch appears more than once with different values (the last is "${nowS + 3600}")`,
        deadLettered: true,
      },
    ]);
    expect(env.scheduler.partitions()[0]!.invalid).toBe(2);
    expect(entries.filter((e) => e.message === INVALID_LOG).map((e) => e.fields['reason'])).toEqual([
      'duplicate_header',
      'duplicate_header',
    ]);
    // The dead-letter copy has one value per name (the last, as consumed).
    const dlq = env.broker.readCommitted('ksched_dlq');
    expect(dlq.map((r) => [r.headers['ksched_invalid_reason'], Number(r.headers[Header.sourceOffset])])).toEqual([
      ['duplicate_header', loadedBad.offset],
      ['duplicate_header', liveBad.offset],
    ]);

    await env.advance(10 * SECOND);
    // An invalid record changes nothing: the earlier schedule of `both` still goes out.
    expect(
      env
        .dispatched('events')
        .map((m) => m.scheduleKey)
        .sort(),
    ).toEqual(['after', 'before', 'both', 'same-twice', 'user-twice']);
    // The message's own repeated header goes out once, with its last value.
    const userTwice = env.dispatched('events').find((m) => m.scheduleKey === 'user-twice')!;
    expect(userTwice.headers['trace']).toBe('second');
    expect(env.events.invalid).toHaveLength(2);
    expect(env.events.errors).toEqual([]);
  });

  it('an unknown schedule_source_type is not invalid: like the reference, it removes the key (as a cancel would)', async () => {
    await using env = await createTestEnvironment();
    const nowS = seconds(env.clock.now());
    await env.produce([
      rawSchedule({ key: 'a', epoch: nowS + 5 }),
      rawSchedule({ key: 'b', epoch: nowS + 5 }),
      {
        topic: 'scheduled_messages',
        partition: 0,
        key: 'a',
        value: null,
        headers: { [Header.schemaVersion]: '1.0.0', [Header.sourceType]: 'something-new' },
      },
    ]);
    await env.advance(10 * SECOND);
    expect(env.events.invalid).toEqual([]);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual(['b']);
  });
});

describe('undeliverable schedules', () => {
  it('a schedule whose target cannot be produced (missing topic) does not block the partition; it goes out once its topic exists', async () => {
    await using env = await createTestEnvironment({ scheduler: { retryBackoffMs: 100 } });
    const now = env.clock.now();
    const nowS = seconds(now);
    // Produced around the environment's helpers, which would create the target topic.
    await env.producer.produce([rawSchedule({ key: 'poison', epoch: nowS + 1, target: 'not_yet_created' })]);
    for (let i = 0; i < 5; i++) await env.produce([rawSchedule({ key: `ok-${i}`, epoch: nowS + 1 + i })]);
    await env.settle();
    await env.advance(10 * SECOND);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual(['ok-0', 'ok-1', 'ok-2', 'ok-3', 'ok-4']);
    expect(env.events.errors.length).toBeGreaterThanOrEqual(2);
    expect(env.events.errors.every((e) => e.phase === 'flush')).toBe(true);
    expect(env.scheduler.partitions()[0]).toMatchObject({ state: 'loaded', buffered: 1 });
    // Later schedules keep going while it is still failing.
    await env.produce([rawSchedule({ key: 'ok-late', epoch: seconds(env.clock.now()) + 1 })]);
    await env.advance(2 * SECOND);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toContain('ok-late');
    // Retries back off (no flood) and it goes out once its topic exists.
    const errorsBefore = env.events.errors.length;
    await env.advance(10 * MINUTE);
    expect(env.events.errors.length - errorsBefore).toBeLessThan(20);
    env.broker.createTopic('not_yet_created', { partitions: 1 });
    await env.advance(10 * MINUTE);
    expect(env.broker.readCommitted('not_yet_created')).toHaveLength(1);
    expect(env.scheduler.partitions()[0]!.buffered).toBe(0);
  });

  it('a one-off failure does not reorder: schedules due together still go out in order, once', async () => {
    await using env = await createTestEnvironment({ scheduler: { retryBackoffMs: 100 } });
    const nowS = seconds(env.clock.now());
    for (let i = 0; i < 6; i++) await env.produce([rawSchedule({ key: `k${i}`, epoch: nowS + 1 })]);
    env.broker.faults.failProduce({ topic: 'events', nth: 1, times: 2 });
    await env.advance(10 * SECOND);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
  });

  it('an outage (every produce fails for a while) backs off without flooding and then delivers everything once', async () => {
    await using env = await createTestEnvironment({ scheduler: { retryBackoffMs: 100, transactional: true } });
    const nowS = seconds(env.clock.now());
    const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
    for (const key of keys) await env.produce([rawSchedule({ key, epoch: nowS + 1 })]);
    const outage = env.broker.faults.failProduce({ source: 'transaction', times: Infinity });
    await env.advance(2 * MINUTE);
    const attempts = env.events.errors.length;
    expect(attempts).toBeGreaterThan(3);
    // The back-off is capped at 4 s: over 2 minutes at most 30 attempts, each with its probe.
    expect(attempts).toBeLessThanOrEqual(2 * (120 / 4) + 10);
    outage.remove();
    // Back within one partition back-off (≤ 4 s): nothing stays set aside after the outage.
    await env.advance(5 * SECOND);
    const delivered = env.dispatched('events').map((m) => m.scheduleKey!);
    expect([...delivered].sort()).toEqual([...keys].sort());
    expect(new Set(delivered).size).toBe(keys.length);
  });
});
