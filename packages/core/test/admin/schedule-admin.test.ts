/**
 * The admin API (issue 14, item 1) on the FakeBroker: topics with their last states reports, a
 * partition's records by page with compacted gaps, one schedule by key as it was routed, and a
 * clear error naming each bad argument.
 */
import { describe, expect, it } from 'vitest';
import {
  createScheduleAdmin,
  InvalidArgumentError,
  partitionForKey,
  READER_IDLE_MS,
  type PartitionReader,
  type ScheduleAdmin,
} from '@ksched/core';
import { createTestEnvironment, type TestEnvironment } from '@ksched/testkit';
import { MINUTE, SECOND } from '../engine/helpers.js';

const TOPIC = 'scheduled_messages';

async function adminOf(env: TestEnvironment): Promise<ScheduleAdmin> {
  const transport = env.broker.createTransport({ clientId: 'admin', clock: env.clock });
  await transport.connect();
  return createScheduleAdmin({ transport, schedulesTopics: [TOPIC], clock: env.clock });
}

async function violation(promise: Promise<unknown>): Promise<{ field: string; message: string }> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(InvalidArgumentError.isInstance(error)).toBe(true);
  const [v] = (error as InvalidArgumentError).violations;
  return { field: v!.field, message: v!.message };
}

describe('ScheduleAdmin.topics', () => {
  it('lists each partition with its watermarks and the last states report; a partition without one says so', async () => {
    await using env = await createTestEnvironment({ partitions: 3, start: false });
    const admin = await adminOf(env);
    const before = await admin.topics();
    expect(before.map((t) => t.topic)).toEqual([TOPIC]);
    expect(before[0]!.partitions.map((p) => [p.partition, p.low, p.high, p.states])).toEqual([
      [0, 0, 0, undefined],
      [1, 0, 0, undefined],
      [2, 0, 0, undefined],
    ]);

    await env.addMember();
    const now = env.clock.now();
    await env.schedule({ message: { topic: 'events', payload: 'p' }, at: now + MINUTE, envelope: { partition: 2 } });
    await env.advance(30 * SECOND); // a states report after the schedule was read
    const after = await admin.topics();
    const p2 = after[0]!.partitions[2]!;
    expect(p2.high).toBe(1);
    expect(p2.states?.report.state).toBe('loaded');
    expect(Object.values(p2.states!.report.daily).reduce((a, b) => a + b, 0)).toBe(1);
    expect(Math.abs(p2.states!.reportedAtMs - env.clock.now())).toBeLessThan(5 * SECOND);
    expect(after[0]!.partitions[0]!.states?.report.state).toBe('loaded');
    expect(await admin.topic(TOPIC)).toEqual(after[0]);
    expect(await admin.partitionCount(TOPIC)).toBe(3);
    expect((await violation(admin.topic('other'))).field).toBe('topic');
    expect((await violation(admin.partitionCount('other'))).field).toBe('topic');
  });
});

describe('ScheduleAdmin.records', () => {
  it('pages a partition from an offset, decodes each type and shows compacted offsets as gaps', async () => {
    await using env = await createTestEnvironment({ partitions: 1 });
    const admin = await adminOf(env);
    const now = env.clock.now();
    const keys: string[] = [];
    for (let i = 0; i < 4; i++)
      keys.push((await env.schedule({ message: { topic: 'events', key: `t${i}`, payload: `p${i}` }, at: now + (i + 1) * MINUTE })).key);
    await env.cancel(keys[3]!, { partition: 0 });
    await env.advance(90 * SECOND); // the first one is dispatched: its tombstone follows

    const page = await admin.records(TOPIC, 0, { limit: 50 });
    expect(page.records.map((r) => r.type)).toEqual(['schedule', 'schedule', 'schedule', 'schedule', 'cancel', 'tombstone']);
    const first = page.records[0]!;
    expect(first).toMatchObject({ key: keys[0], dueMs: now + MINUTE, target: { topic: 'events', key: 't0' }, valueSize: 2 });
    expect(page.records[5]).toMatchObject({ key: keys[0], closesOffset: 0, dueMs: Math.floor((now + MINUTE) / 1000) * 1000 });
    expect(page.next).toBeUndefined();
    expect(page.gaps).toEqual([]);

    // Two at a time from offset 1: then the rest.
    const a = await admin.records(TOPIC, 0, { fromOffset: 1, limit: 2 });
    expect(a.records.map((r) => r.offset)).toEqual([1, 2]);
    expect(a.next).toBe(3);
    const b = await admin.records(TOPIC, 0, { fromOffset: a.next!, limit: 2 });
    expect(b.records.map((r) => r.offset)).toEqual([3, 4]);

    // Compaction keeps the latest record per key: the first schedule and the fourth's schedule go.
    env.broker.compact(TOPIC, { tombstoneRetentionMs: Number.MAX_SAFE_INTEGER });
    const compacted = await admin.records(TOPIC, 0);
    expect(compacted.records.map((r) => r.offset)).toEqual([1, 2, 4, 5]);
    // (The FakeBroker moves the low watermark to the first survivor, so offset 0 is not a gap here.)
    expect(compacted.gaps).toEqual([{ from: 3, to: 4 }]);
  });

  it('names what is wrong: an unknown topic, a partition out of range, a bad limit or offset', async () => {
    await using env = await createTestEnvironment({ partitions: 2 });
    const admin = await adminOf(env);
    expect(await violation(admin.records('nope', 0))).toMatchObject({
      field: 'topic',
      message: expect.stringMatching(/"nope".*scheduled_messages/),
    });
    expect(await violation(admin.records(TOPIC, 2))).toMatchObject({ field: 'partition', message: expect.stringMatching(/0\.\.1/) });
    expect(await violation(admin.records(TOPIC, 0, { limit: 0 }))).toMatchObject({ field: 'limit' });
    expect(await violation(admin.records(TOPIC, 0, { limit: 100_000 }))).toMatchObject({ field: 'limit' });
    expect(await violation(admin.records(TOPIC, 0, { fromOffset: -1 }))).toMatchObject({ field: 'offset' });
    expect(await violation(admin.find(''))).toMatchObject({ field: 'key' });
    // An offset past the end is moved to it: an empty last page.
    const past = await admin.records(TOPIC, 0, { fromOffset: 999 });
    expect(past).toMatchObject({ from: 0, records: [], next: undefined });
  });
});

describe('ScheduleAdmin.find', () => {
  it('finds a schedule on the partition it was routed to and follows it: pending, cancelled, dispatched', async () => {
    await using env = await createTestEnvironment({ partitions: 4 });
    const admin = await adminOf(env);
    const now = env.clock.now();
    const routed = await env.schedule({
      message: { topic: 'events', payload: 'x' },
      at: now + MINUTE,
      envelope: { key: 'order-42-reminder', partitionKey: 'customer-7' },
    });
    const plain = await env.schedule({
      message: { topic: 'events', payload: 'y' },
      at: now + MINUTE,
      envelope: { key: 'order-43-reminder' },
    });

    const found = await admin.find('order-42-reminder', { partitionKey: 'customer-7' });
    expect(found).toMatchObject({ partition: routed.partition, status: 'pending', latest: { dueMs: now + MINUTE } });
    // By bare key it is looked for on the key's own partition: not there (unless both hash alike).
    const bare = await admin.find('order-42-reminder');
    if (bare.partition !== routed.partition) expect(bare).toMatchObject({ status: 'unknown', latest: undefined, history: [] });
    expect(await admin.find('order-42-reminder', { partition: routed.partition })).toMatchObject({ status: 'pending' });

    await env.cancel('order-42-reminder', { partitionKey: 'customer-7' });
    const cancelled = await admin.find('order-42-reminder', { partitionKey: 'customer-7' });
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.history.map((r) => r.type)).toEqual(['schedule', 'cancel']);

    await env.advance(2 * MINUTE);
    const dispatched = await admin.find('order-43-reminder');
    expect(dispatched).toMatchObject({ partition: plain.partition, status: 'dispatched' });
    expect(dispatched.history.map((r) => r.type)).toEqual(['schedule', 'tombstone']);
    expect(await admin.find('never-scheduled')).toMatchObject({ status: 'unknown', history: [] });
  });
});

describe('ScheduleAdmin.cancel and reschedule', () => {
  it('cancel reaches a schedule routed by partition key from its bare key, and the scheduler obeys it', async () => {
    await using env = await createTestEnvironment({ partitions: 4 });
    const admin = await adminOf(env);
    const now = env.clock.now();
    const routed = await env.schedule({
      message: { topic: 'events', payload: 'x' },
      at: now + MINUTE,
      envelope: { key: 'order-42-reminder', partitionKey: 'customer-7' },
    });
    // Found on its partition, the cancel goes there too.
    const { found, produced } = await admin.cancel('order-42-reminder', { partition: routed.partition });
    expect(found.status).toBe('pending');
    expect(produced).toMatchObject({ key: 'order-42-reminder', topic: TOPIC, partition: routed.partition });
    await env.advance(2 * MINUTE);
    expect(env.dispatched('events')).toHaveLength(0);
    expect((await admin.find('order-42-reminder', { partition: routed.partition })).status).toBe('cancelled');
    // Nothing to cancel any more: the error says why.
    expect(await violation(admin.cancel('order-42-reminder', { partition: routed.partition }))).toMatchObject({
      field: 'key',
      message: expect.stringMatching(/is cancelled on scheduled_messages\/\d: nothing to cancel/),
    });
  });

  it('reschedule keeps the message (payload, key, headers, target routing) and moves the due time', async () => {
    await using env = await createTestEnvironment({ partitions: 2 });
    const admin = await adminOf(env);
    const now = env.clock.now();
    const original = await env.schedule({
      message: { topic: 'events', key: 'order-7', payload: 'remind', headers: { origin: 'shop' }, partitionKey: 'customer-1' },
      at: now + 10 * MINUTE,
      envelope: { key: 'order-7-reminder', partition: 1 },
    });
    const { produced } = await admin.reschedule('order-7-reminder', { at: now + MINUTE }, { partition: 1 });
    expect(produced).toMatchObject({ partition: original.partition });
    const moved = await admin.find('order-7-reminder', { partition: 1 });
    expect(moved.history.map((r) => r.type)).toEqual(['schedule', 'schedule']);
    expect(moved.latest).toMatchObject({ dueMs: now + MINUTE, target: { topic: 'events', key: 'order-7', partitionKey: 'customer-1' } });

    await env.advance(2 * MINUTE);
    const out = env.dispatched('events');
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ key: 'order-7', value: 'remind', scheduleKey: 'order-7-reminder', dueMs: now + MINUTE });
    expect(out[0]!.headers['origin']).toBe('shop');
    // Dispatched: no more rescheduling.
    expect(await violation(admin.reschedule('order-7-reminder', { delayMs: MINUTE }, { partition: 1 }))).toMatchObject({ field: 'key' });
  });
});

describe('ScheduleAdmin.find with everyPartition', () => {
  it('finds a schedule routed by a forgotten partition key on another partition', async () => {
    await using env = await createTestEnvironment({ partitions: 4 });
    const admin = await adminOf(env);
    const now = env.clock.now();
    // A key whose own partition differs from its partition key's.
    let key = '';
    for (let i = 0; ; i++) {
      key = `reminder-${i}`;
      if (partitionForKey(key, 4) !== partitionForKey('customer-7', 4)) break;
    }
    const routed = await env.schedule({
      message: { topic: 'events', payload: 'x' },
      at: now + MINUTE,
      envelope: { key, partitionKey: 'customer-7' },
    });
    expect((await admin.find(key)).status).toBe('unknown');
    expect(await admin.find(key, { everyPartition: true })).toMatchObject({ partition: routed.partition, status: 'pending' });
    expect(await admin.find('nowhere', { everyPartition: true })).toMatchObject({
      partition: partitionForKey('nowhere', 4),
      status: 'unknown',
    });
    const { produced } = await admin.cancel(key, { everyPartition: true });
    expect(produced.partition).toBe(routed.partition);
  });
});

describe('ScheduleAdmin.pending', () => {
  it('lists the schedules still pending on a partition: not cancelled, dispatched or replaced', async () => {
    await using env = await createTestEnvironment({ partitions: 1 });
    const admin = await adminOf(env);
    const now = env.clock.now();
    const key = async (i: number, at: number) =>
      (await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at, envelope: { key: `k${i}` } })).key;
    await key(0, now + MINUTE); // dispatched below
    await key(1, now + 10 * MINUTE); // cancelled
    await key(2, now + 20 * MINUTE); // replaced by a later version
    await key(3, now + 30 * MINUTE);
    await key(2, now + 40 * MINUTE);
    await env.cancel('k1', { partition: 0 });
    await env.advance(2 * MINUTE);
    const pending = await admin.pending(TOPIC, 0);
    expect(pending.records.map((r) => [r.key, r.dueMs])).toEqual([
      ['k3', now + 30 * MINUTE],
      ['k2', now + 40 * MINUTE],
    ]);
    expect(pending.more).toBe(false);
    const first = await admin.pending(TOPIC, 0, { limit: 1 });
    expect(first.records.map((r) => r.key)).toEqual(['k3']);
    expect(first.more).toBe(true);
    expect(await violation(admin.pending(TOPIC, 0, { limit: 0 }))).toMatchObject({ field: 'limit' });
  });
});

describe('ScheduleAdmin.records from a time', () => {
  it('starts at the first record written at or after the time; past the last one the page is empty', async () => {
    await using env = await createTestEnvironment({ partitions: 1, start: false });
    const admin = await adminOf(env);
    const t0 = env.clock.now();
    await env.schedule({ message: { topic: 'events', payload: 'a' }, at: t0 + 30 * MINUTE, envelope: { key: 'a' } });
    await env.clock.tickAsync(MINUTE);
    const t1 = env.clock.now();
    await env.schedule({ message: { topic: 'events', payload: 'b' }, at: t0 + 30 * MINUTE, envelope: { key: 'b' } });
    await env.schedule({ message: { topic: 'events', payload: 'c' }, at: t0 + 30 * MINUTE, envelope: { key: 'c' } });
    expect((await admin.records(TOPIC, 0, { fromTimeMs: t1 })).records.map((r) => r.key)).toEqual(['b', 'c']);
    expect((await admin.records(TOPIC, 0, { fromTimeMs: t1 - 1 })).records.map((r) => r.key)).toEqual(['b', 'c']);
    expect((await admin.records(TOPIC, 0, { fromTimeMs: 0 })).records.map((r) => r.key)).toEqual(['a', 'b', 'c']);
    expect(await admin.records(TOPIC, 0, { fromTimeMs: t1 + MINUTE })).toMatchObject({ from: 3, records: [] });
    expect(await violation(admin.records(TOPIC, 0, { fromTimeMs: t1, fromOffset: 0 }))).toMatchObject({ field: 'time' });
    expect(await violation(admin.records(TOPIC, 0, { fromTimeMs: Number.NaN }))).toMatchObject({ field: 'time' });
  });
});

describe('ScheduleAdmin.records: the reader of a full page stays open for the next page', () => {
  /** An admin over a transport that counts the readers it opens and closes (batches of 3 records). */
  async function countingAdmin(env: TestEnvironment, options: { readerIdleMs?: number } = {}) {
    const transport = env.broker.createTransport({ clientId: 'admin', clock: env.clock, maxBatchSize: 3 });
    await transport.connect();
    const counts = { opened: 0, closed: 0 };
    const readers: PartitionReader[] = [];
    const openReader = transport.openReader.bind(transport);
    transport.openReader = async (tp, o) => {
      const reader = await openReader(tp, o);
      readers.push(reader);
      counts.opened++;
      const close = reader.close.bind(reader);
      reader.close = async () => {
        counts.closed++;
        await close();
      };
      return reader;
    };
    const admin = createScheduleAdmin({ transport, schedulesTopics: [TOPIC], clock: env.clock, ...options });
    return { admin, counts, readers, transport };
  }

  async function schedules(env: TestEnvironment, n: number): Promise<void> {
    const now = env.clock.now();
    for (let i = 0; i < n; i++)
      await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at: now + MINUTE, envelope: { key: `k${i}` } });
  }

  it('the next page reads on from the same reader (across batches); other pages open their own; the idle time closes it', async () => {
    await using env = await createTestEnvironment({ partitions: 1, start: false });
    await schedules(env, 10);
    const { admin, counts } = await countingAdmin(env);
    const offsets: number[] = [];
    let page = await admin.records(TOPIC, 0, { limit: 2 });
    offsets.push(...page.records.map((r) => r.offset));
    while (page.next !== undefined) {
      page = await admin.records(TOPIC, 0, { fromOffset: page.next, limit: 2 });
      offsets.push(...page.records.map((r) => r.offset));
    }
    expect(offsets).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // One reader for the five pages, closed after the last one (it reached the end).
    await admin.close();
    expect(counts).toEqual({ opened: 1, closed: 1 });

    // A page from elsewhere opens a reader; the one kept for its next page closes after the idle time.
    const { admin: timed, counts: c2 } = await countingAdmin(env);
    const p = await timed.records(TOPIC, 0, { fromOffset: 4, limit: 2 });
    expect(p.next).toBe(6);
    expect(c2).toEqual({ opened: 1, closed: 0 });
    await timed.records(TOPIC, 0, { fromOffset: 1, limit: 2 }); // another page: another reader, kept for offset 3
    expect(c2).toEqual({ opened: 2, closed: 0 });
    await env.clock.tickAsync(READER_IDLE_MS);
    expect(c2).toEqual({ opened: 2, closed: 2 });
    expect((await timed.records(TOPIC, 0, { fromOffset: 6, limit: 2 })).records.map((r) => r.offset)).toEqual([6, 7]);
    expect(c2.opened).toBe(3);
    await timed.close();
    expect(c2).toEqual({ opened: 3, closed: 3 });
  });

  it('close() closes the readers kept open; afterwards and with readerIdleMs 0 no reader is kept', async () => {
    await using env = await createTestEnvironment({ partitions: 1, start: false });
    await schedules(env, 6);
    const { admin, counts } = await countingAdmin(env);
    await admin.records(TOPIC, 0, { limit: 2 });
    expect(counts).toEqual({ opened: 1, closed: 0 });
    await admin.close();
    expect(counts).toEqual({ opened: 1, closed: 1 });
    await admin.records(TOPIC, 0, { fromOffset: 2, limit: 2 });
    await admin.close();
    expect(counts).toEqual({ opened: 2, closed: 2 });

    const { admin: eager, counts: c2 } = await countingAdmin(env, { readerIdleMs: 0 });
    const first = await eager.records(TOPIC, 0, { limit: 2 });
    await eager.records(TOPIC, 0, { fromOffset: first.next!, limit: 2 });
    await eager.close();
    expect(c2).toEqual({ opened: 2, closed: 2 });
    expect(() => createScheduleAdmin({ transport: env.broker.createTransport(), schedulesTopics: [TOPIC], readerIdleMs: -1 })).toThrow(
      InvalidArgumentError,
    );
  });

  it('a kept reader that failed meanwhile is replaced: the next page is read through a new one', async () => {
    await using env = await createTestEnvironment({ partitions: 1, start: false });
    await schedules(env, 6);
    const { admin, counts, readers } = await countingAdmin(env);
    const first = await admin.records(TOPIC, 0, { limit: 2 });
    // The kept reader fails (closed behind the admin's back).
    await readers[0]!.close();
    const next = await admin.records(TOPIC, 0, { fromOffset: first.next!, limit: 2 });
    expect(next.records.map((r) => r.offset)).toEqual([2, 3]);
    expect(counts.opened).toBe(2);
    await admin.close();
  });

  it('pages check the partition against a partition count read at most 30 s before (one metadata request, not one per page)', async () => {
    await using env = await createTestEnvironment({ partitions: 2, start: false });
    await schedules(env, 4);
    const { admin, transport } = await countingAdmin(env);
    let counted = 0;
    const partitionCount = transport.partitionCount.bind(transport);
    transport.partitionCount = (topic) => {
      counted++;
      return partitionCount(topic);
    };
    for (let i = 0; i < 3; i++) await admin.records(TOPIC, i % 2, { limit: 1 });
    expect(counted).toBe(1);
    expect((await violation(admin.records(TOPIC, 2))).field).toBe('partition'); // out of range: asked again
    expect(counted).toBe(2);
    await env.clock.tickAsync(30 * SECOND);
    await admin.records(TOPIC, 0, { limit: 1 });
    expect(counted).toBe(3);
    await admin.close();
  });

  it('records kept in the reader after a page also show the gaps before them', async () => {
    await using env = await createTestEnvironment({ partitions: 1, start: false });
    await schedules(env, 4);
    // k1 again: compaction then removes offset 1, leaving 0, 2, 3, 4.
    await env.schedule({ message: { topic: 'events', payload: 'again' }, at: env.clock.now() + MINUTE, envelope: { key: 'k1' } });
    env.broker.compact(TOPIC, { tombstoneRetentionMs: Number.MAX_SAFE_INTEGER });
    const { admin, counts } = await countingAdmin(env);
    const a = await admin.records(TOPIC, 0, { limit: 1 });
    expect(a.records.map((r) => r.offset)).toEqual([0]);
    const b = await admin.records(TOPIC, 0, { fromOffset: a.next!, limit: 2 });
    expect(b.records.map((r) => r.offset)).toEqual([2, 3]);
    expect(b.gaps).toEqual([{ from: 1, to: 2 }]);
    expect(counts.opened).toBe(1);
    await admin.close();
  });
});
