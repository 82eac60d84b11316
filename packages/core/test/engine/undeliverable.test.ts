/**
 * Schedules that cannot be delivered (issue 13.4): a record the client refuses, a target topic
 * that does not exist. Never a silent skip: dead-lettered and tombstoned with the reason (or kept
 * and announced when no dead-letter topic is set), counted, logged once; the schedules around it
 * go out within the same flush, and nothing counts as a possible duplicate when nothing was
 * written. Also the epoch floor's skip, which is reported.
 */
import { describe, expect, it } from 'vitest';
import { Header, type ProduceRecord } from '@ksched/core';
import { createTestEnvironment, type TestEnvironment } from '@ksched/testkit';
import { HOUR, MINUTE, SECOND, rawCancel, rawSchedule, rawTombstone, recordingLogger, seconds } from './helpers.js';

const DLQ = 'ksched_dlq';
const BINARY = new Uint8Array([0xff, 0xfe, 0x00, 0x41]);
const text = (v: string | Uint8Array | null | undefined): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : new TextDecoder().decode(v);

/** The client refuses records carrying the `bin` header as bytes (as node-rdkafka's adapter refuses non-UTF-8 header values). */
const refusesBinary = (record: ProduceRecord): boolean =>
  record.topic !== 'scheduled_messages' && record.headers?.['bin'] instanceof Uint8Array;

async function scheduleAt(env: TestEnvironment, key: string, at: number, headers?: Record<string, string | Uint8Array>): Promise<void> {
  await env.produce([rawSchedule({ key, epoch: seconds(at), epochMs: at, ...(headers ? { headers } : {}) })]);
}

describe('undeliverable schedules', () => {
  for (const transactional of [false, true]) {
    it(`a record the client refuses is dead-lettered at once with its reason and tombstoned; the others go in the same flush, none flagged (${transactional ? 'transactional' : 'at-least-once'})`, async () => {
      const { logger, entries } = recordingLogger();
      await using env = await createTestEnvironment({ start: false, logger, scheduler: { transactional, deadLetterTopic: DLQ } });
      env.broker.createTopic(DLQ, { partitions: 1 });
      env.broker.faults.refuseRecords(refusesBinary);
      await env.addMember();
      const due = env.clock.now() + SECOND;
      await scheduleAt(env, 'a', due);
      await scheduleAt(env, 'bad', due, { bin: BINARY, other: 'kept' });
      await scheduleAt(env, 'c', due);
      await env.advance(SECOND);

      // The others went out on time, in that flush pass, not flagged as possible duplicates.
      expect(
        env
          .dispatched('events')
          .map((m) => m.scheduleKey)
          .sort(),
      ).toEqual(['a', 'c']);
      expect(env.events.dispatched.map((e) => [e.key, e.lateMs, e.possibleDuplicate])).toEqual(
        expect.arrayContaining([
          ['a', 0, false],
          ['c', 0, false],
        ]),
      );
      expect(env.events.dispatched.map((e) => e.key)).not.toContain('bad');
      // The refused one is on the dead-letter topic, its binary header carried as base64 text.
      const dead = env.broker.readCommitted(DLQ);
      expect(dead).toHaveLength(1);
      const headers = dead[0]!.headers;
      expect(text(dead[0]!.key)).toBe('bad');
      expect(text(headers['ksched_undeliverable_reason'])).toBe('refused');
      expect(text(headers['ksched_undeliverable_detail'])).toMatch(/refused/);
      expect(text(headers[Header.targetTopic])).toBe('events');
      expect(text(headers[Header.sourceOffset])).toBe('1');
      expect(text(headers['other'])).toBe('kept');
      expect(JSON.parse(text(headers['ksched_binary_headers_base64'])!)).toEqual({ bin: Buffer.from(BINARY).toString('base64') });
      // … and tombstoned, so no later owner tries it again.
      const tombstones = env.broker.readCommitted('scheduled_messages').filter((r) => r.value === null);
      expect(tombstones.map((r) => text(r.key)).sort()).toEqual(['a', 'bad', 'c']);
      expect(env.events.undeliverable.map((e) => [e.key, e.reason, e.action])).toEqual([['bad', 'refused', 'dead_lettered']]);
      expect(entries.filter((e) => e.message === 'schedule cannot be delivered: dead-lettering it')).toHaveLength(1);
      expect(env.scheduler.partitions()[0]).toMatchObject({ buffered: 0, undeliverable: 0 });
      // Nothing was written by the refused attempt: no transaction to settle, no re-read.
      expect(env.events.reloads.filter((r) => r.reason === 'transaction')).toHaveLength(0);

      // A new owner (a reload from the beginning) neither dispatches nor dead-letters it again.
      const b = await env.addMember();
      await env.dropMember(env.members[0]!);
      await env.advance(MINUTE);
      expect(env.broker.assignment('ksched_scheduled_messages').find((m) => m.partitions.length > 0)?.memberId).toBeDefined();
      expect(b).toBeDefined();
      expect(env.broker.readCommitted(DLQ)).toHaveLength(1);
      expect(env.dispatched('events')).toHaveLength(2);
    });
  }

  it('without a dead-letter topic a refused schedule is kept, announced once, retried every 5 minutes; the others are not delayed', async () => {
    const { logger, entries } = recordingLogger();
    await using env = await createTestEnvironment({ start: false, logger });
    const stop = env.broker.faults.refuseRecords(refusesBinary);
    await env.addMember();
    const due = env.clock.now() + SECOND;
    await scheduleAt(env, 'bad', due, { bin: BINARY });
    await scheduleAt(env, 'a', due);
    await env.advance(SECOND);
    expect(env.events.dispatched.map((e) => [e.key, e.lateMs, e.possibleDuplicate])).toEqual([['a', 0, false]]);
    expect(env.events.undeliverable.map((e) => [e.key, e.reason, e.action])).toEqual([['bad', 'refused', 'kept']]);
    expect(env.scheduler.partitions()[0]).toMatchObject({ buffered: 1, undeliverable: 1 });
    expect(env.scheduler.readiness().reason).toMatch(/1 undeliverable/);
    await env.advance(12 * MINUTE);
    // Retried every 5 minutes (at 5 and 10 min), still refused, not announced again.
    expect(env.events.errors.filter((e) => e.phase === 'flush')).toHaveLength(3);
    expect(env.events.undeliverable).toHaveLength(1);
    expect(entries.filter((e) => /cannot be delivered/.test(e.message))).toHaveLength(1);
    // Cancelled meanwhile, it would no longer count; here the client takes it at last and it goes
    // out (not flagged: nothing was ever written before).
    stop();
    await env.advance(5 * MINUTE);
    expect(env.events.dispatched.map((e) => [e.key, e.possibleDuplicate])).toEqual([
      ['a', false],
      ['bad', false],
    ]);
  });

  it('a kept undeliverable schedule that is cancelled is no longer counted', async () => {
    await using env = await createTestEnvironment({ start: false });
    env.broker.faults.refuseRecords(refusesBinary);
    await env.addMember();
    await scheduleAt(env, 'bad', env.clock.now() + SECOND, { bin: BINARY });
    await env.advance(SECOND);
    expect(env.scheduler.partitions()[0]).toMatchObject({ buffered: 1, undeliverable: 1 });
    await env.produce([rawCancel({ key: 'bad' })]);
    await env.settle();
    expect(env.scheduler.partitions()[0]).toMatchObject({ buffered: 0, undeliverable: 0 });
    expect(env.scheduler.readiness().reason).not.toMatch(/undeliverable/);
  });

  it('a target topic that does not exist: after undeliverableAttempts on its own and undeliverableAfterMs late, dead-lettered as target_missing; others keep going', async () => {
    await using env = await createTestEnvironment({
      start: false,
      scheduler: { deadLetterTopic: DLQ, undeliverableAttempts: 3, undeliverableAfterMs: MINUTE, retryBackoffMs: 1000 },
    });
    env.broker.createTopic(DLQ, { partitions: 1 });
    await env.addMember();
    const t0 = env.clock.now();
    // Produced past the environment's helper, which would create the target topic.
    await env.producer.produce([rawSchedule({ key: 'lost-topic', epoch: seconds(t0 + SECOND), target: 'no_such_topic' })]);
    for (let i = 0; i < 20; i++) await scheduleAt(env, `ok-${i}`, t0 + (i + 1) * 10 * SECOND);
    await env.advance(30 * SECOND);
    expect(env.events.undeliverable).toHaveLength(0); // not late enough yet
    await env.advance(4 * MINUTE);
    expect(env.events.undeliverable.map((e) => [e.key, e.reason, e.action])).toEqual([['lost-topic', 'target_missing', 'dead_lettered']]);
    expect(env.events.undeliverable[0]!.attempts).toBeGreaterThanOrEqual(3);
    const dead = env.broker.readCommitted(DLQ);
    expect(dead.map((r) => [text(r.key), text(r.headers['ksched_undeliverable_reason']), text(r.headers[Header.targetTopic])])).toEqual([
      ['lost-topic', 'target_missing', 'no_such_topic'],
    ]);
    expect(env.events.dispatched.map((e) => e.key).sort()).toEqual(Array.from({ length: 20 }, (_, i) => `ok-${i}`).sort());
  });

  it('a failed dead-letter produce is retried, not dropped', async () => {
    await using env = await createTestEnvironment({ start: false, scheduler: { deadLetterTopic: DLQ, retryBackoffMs: 200 } });
    env.broker.createTopic(DLQ, { partitions: 1 });
    env.broker.faults.refuseRecords(refusesBinary);
    const dlqDown = env.broker.faults.failProduce({ topic: DLQ, times: 3 });
    await env.addMember();
    await scheduleAt(env, 'bad', env.clock.now() + SECOND, { bin: BINARY });
    await env.advance(MINUTE);
    expect(dlqDown.triggered).toBe(3);
    expect(env.broker.readCommitted(DLQ).map((r) => text(r.key))).toEqual(['bad']);
    expect(env.events.undeliverable.map((e) => e.action)).toEqual(['dead_lettered']);
    expect(env.scheduler.partitions()[0]).toMatchObject({ buffered: 0, undeliverable: 0 });
  });

  it('a cluster outage is not blamed on a schedule: nothing is dead-lettered while every produce fails', async () => {
    await using env = await createTestEnvironment({
      start: false,
      scheduler: { deadLetterTopic: DLQ, undeliverableAttempts: 2, undeliverableAfterMs: 0, retryBackoffMs: 100 },
    });
    env.broker.createTopic(DLQ, { partitions: 1 });
    const t0 = env.clock.now();
    for (let i = 0; i < 5; i++) await scheduleAt(env, `k${i}`, t0 + SECOND);
    await env.addMember();
    const outage = env.broker.faults.failProduce({ times: Infinity });
    await env.advance(10 * MINUTE);
    expect(env.events.undeliverable).toHaveLength(0);
    expect(env.broker.readCommitted(DLQ)).toHaveLength(0);
    outage.remove();
    await env.advance(10 * MINUTE);
    expect(env.events.dispatched.map((e) => e.key).sort()).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
    expect(env.events.undeliverable).toHaveLength(0);
  });
});

describe('dead letters of invalid records', () => {
  it('an invalid record whose header the client refuses is still dead-lettered, that value as base64 text', async () => {
    await using env = await createTestEnvironment({ start: false, scheduler: { deadLetterTopic: DLQ } });
    env.broker.createTopic(DLQ, { partitions: 1 });
    env.broker.faults.refuseRecords(refusesBinary);
    await env.addMember();
    // No epoch at all: invalid (missing_epoch), and carrying a binary header.
    const bad = rawSchedule({ key: 'broken', epoch: 0, headers: { bin: BINARY } });
    delete (bad.headers as Record<string, unknown>)[Header.targetEpoch];
    await env.produce([bad]);
    await env.settle();
    expect(env.events.invalid.map((e) => [e.reason, e.deadLettered])).toEqual([['missing_epoch', true]]);
    const [dead] = env.broker.readCommitted(DLQ);
    expect(text(dead!.headers['ksched_invalid_reason'])).toBe('missing_epoch');
    expect(dead!.headers['bin']).toBeUndefined();
    expect(JSON.parse(text(dead!.headers['ksched_binary_headers_base64'])!)).toEqual({ bin: Buffer.from(BINARY).toString('base64') });
    expect(env.events.errors).toEqual([]);
  });
});

describe('the epoch floor', () => {
  it('a schedule under the floor is reported (skipped event, warning), not dropped silently; one closed by its own tombstone is not', async () => {
    const { logger, entries } = recordingLogger();
    await using env = await createTestEnvironment({ start: false, logger });
    const nowS = seconds(env.clock.now());
    await env.produce([
      rawSchedule({ key: 'old-dispatched', epoch: nowS - 3 * 3600 }), // read before the floor rose
      rawTombstone({ key: 'newest', epoch: nowS + 2 * 3600 }), // the floor: now + 1 h
      rawSchedule({ key: 'under-floor', epoch: nowS + 1800 }),
      rawSchedule({ key: 'also-under', epoch: nowS - 7200 }),
      rawTombstone({ key: 'also-under', epoch: nowS - 7200 }),
      rawSchedule({ key: 'above', epoch: nowS + 2 * 3600 + 10 }),
    ]);
    await env.addMember();
    await env.settle();
    // Read before the floor rose: buffered (and dispatched, overdue). Under it when read: reported.
    expect(env.events.skipped.map((e) => [e.key, e.reason])).toEqual([['under-floor', 'epoch_floor']]);
    expect(env.events.skipped[0]!.detail).toMatch(/more than an hour before/);
    expect(entries.filter((e) => /schedule not dispatched/.test(e.message))).toHaveLength(1);
    // Read live, once loaded: reported at once.
    await env.produce([rawSchedule({ key: 'late-raw', epoch: nowS })]);
    await env.settle();
    expect(env.events.skipped.map((e) => e.key)).toContain('late-raw');
    await env.advance(3 * HOUR);
    expect(env.events.dispatched.map((e) => e.key)).toEqual(['old-dispatched', 'above']);
  });
});
