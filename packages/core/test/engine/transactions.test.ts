/**
 * Exactly-once dispatch with a transactional producer (ksched.md §3.5, §3.6, §4; design notes 1
 * and 4): target + tombstone pairs in one transaction, never split; failed transactions leave
 * nothing behind; read committed; fencing by partition on hand-over.
 */
import { describe, expect, it } from 'vitest';
import { FencedError, Header, UnsupportedError, type ProduceRecord } from '@ksched/core';
import { createTestEnvironment, type FakeTransport, type TestEnvironment } from '@ksched/testkit';
import { MINUTE, SECOND, expectExactlyOnce, interceptTransport, rawTombstone, seconds } from './helpers.js';

const TX_ID = 'ksched_scheduled_messages-scheduled_messages-0';
const text = (v: string | Uint8Array | null | undefined): string | null =>
  v === null || v === undefined ? null : typeof v === 'string' ? v : new TextDecoder().decode(v);

async function scheduleMany(env: TestEnvironment, count: number, at: (i: number) => number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < count; i++)
    keys.push((await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at: at(i), envelope: { partition: 0 } })).key);
  return keys;
}

/**
 * Splits a partition's stored log (with markers) into committed transactions, by marker.
 * Only records of transactions of `transactionalId` are kept.
 */
function committedTransactions(env: TestEnvironment, topic: string, transactionalId: string): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  for (const r of env.broker.records(topic, 0, { includeControl: true })) {
    if (r.transactionalId !== transactionalId) continue;
    if (r.control === 'commit') {
      out.push(current);
      current = [];
    } else if (r.control === 'abort') {
      current = [];
    } else if (r.transaction === 'committed') {
      current.push(topic === 'events' ? String(text(r.headers[Header.sourceKey])) : String(text(r.key)));
    }
  }
  return out;
}

describe('transactional dispatch', () => {
  for (const flushBatchSize of [1, 3, 5]) {
    it(`flushBatchSize ${flushBatchSize}: every transaction holds whole target/tombstone pairs, never a split pair`, async () => {
      const sent: { records: readonly ProduceRecord[]; outcome: string }[] = [];
      await using env = await createTestEnvironment({ start: false, scheduler: { transactional: true, flushBatchSize } });
      await env.addMember(
        {},
        { wrapTransport: (t) => interceptTransport(t, { onTransaction: (_id, records, outcome) => sent.push({ records, outcome }) }) },
      );
      const now = env.clock.now();
      const keys = await scheduleMany(env, 7, () => now + SECOND);
      await env.advance(SECOND);
      expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });

      const pairsPerTx = Math.max(1, Math.floor(flushBatchSize / 2));
      expect(sent.length).toBe(Math.ceil(7 / pairsPerTx));
      for (const { records, outcome } of sent) {
        expect(outcome).toBe('committed');
        expect(records.length % 2).toBe(0);
        expect(records.length).toBeLessThanOrEqual(2 * pairsPerTx);
        for (let i = 0; i < records.length; i += 2) {
          const [target, tombstone] = [records[i]!, records[i + 1]!];
          expect(target.topic).toBe('events');
          expect(tombstone).toMatchObject({ topic: 'scheduled_messages', partition: 0, value: null });
          expect(text(target.headers![Header.sourceKey])).toBe(text(tombstone.key));
        }
      }
      // The same from the broker's side: the k-th committed transaction has the same keys in both topics.
      const targets = committedTransactions(env, 'events', TX_ID);
      const tombstones = committedTransactions(env, 'scheduled_messages', TX_ID);
      expect(targets).toEqual(tombstones);
      expect(targets.every((t) => t.length >= 1 && t.length <= pairsPerTx)).toBe(true);
      expect(targets.flat().sort()).toEqual([...keys].sort());
    });
  }

  it('never duplicates under failed commits and failed sends: every schedule exactly once in the read-committed output', async () => {
    await using env = await createTestEnvironment({ scheduler: { transactional: true, flushBatchSize: 4, retryBackoffMs: 50 } });
    const now = env.clock.now();
    const keys = await scheduleMany(env, 30, (i) => now + SECOND + (i % 6) * 250);
    const commitFault = env.broker.faults.failTransactionCommit({ transactionalId: TX_ID, nth: 2, times: 3 });
    const sendFault = env.broker.faults.failProduce({ source: 'transaction', topic: 'scheduled_messages', nth: 7, times: 2 });
    await env.advance(MINUTE);
    expect(commitFault.triggered).toBe(3);
    expect(sendFault.triggered).toBe(2);
    expect(env.events.errors.filter((e) => e.phase === 'flush')).toHaveLength(5);
    expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
    // Aborted attempts are in the log but invisible; every dispatched event is final.
    expect(env.broker.produced.some((r) => r.transaction === 'aborted')).toBe(true);
    expect(env.events.dispatched.map((e) => e.key).sort()).toEqual([...keys].sort());
    expect(env.events.dispatched.every((e) => !e.possibleDuplicate)).toBe(true);
    for (const e of env.events.dispatched) expect(e.dispatchedAtMs).toBeGreaterThanOrEqual(e.dueMs);
  });

  it('keys leave the buffer only after a successful flush: a failed transaction keeps the schedule, the retry dispatches it once', async () => {
    await using env = await createTestEnvironment({ scheduler: { transactional: true, retryBackoffMs: 1000 } });
    const [key] = await scheduleMany(env, 1, () => env.clock.now() + SECOND);
    env.broker.faults.failTransactionCommit({ transactionalId: TX_ID });
    await env.advance(SECOND);
    expect(env.events.errors.map((e) => e.phase)).toEqual(['flush']);
    expect(env.dispatched('events')).toHaveLength(0);
    expect(env.scheduler.partitions()[0]!.buffered).toBe(1);
    await env.advance(999);
    expect(env.dispatched('events')).toHaveLength(0);
    await env.advance(1);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual([key]);
    expect(env.scheduler.partitions()[0]!.buffered).toBe(0);
    await env.advance(MINUTE);
    expect(env.dispatched('events')).toHaveLength(1);
    expect(env.events.dispatched).toHaveLength(1);
  });

  it('a commit that went through although its answer was lost is settled before any retry: fenced again, caught up, no second copy (finding 8)', async () => {
    await using env = await createTestEnvironment({ scheduler: { transactional: true, retryBackoffMs: 200 } });
    const now = env.clock.now();
    const keys = await scheduleMany(env, 3, () => now + SECOND);
    const later = await scheduleMany(env, 2, () => now + 10 * SECOND);
    // The coordinator decides to commit, then the broker goes away before it answers.
    const fault = env.broker.faults.failTransactionCommit({ transactionalId: TX_ID, outcome: 'committed-later' });
    await env.advance(SECOND);
    expect(fault.triggered).toBe(1);
    expect(env.events.errors.map((e) => e.phase)).toEqual(['flush']);
    await env.advance(MINUTE);
    // One copy of each: the first transaction committed after all, and nothing was sent again.
    const targets = env.broker.produced.filter((r) => r.topic === 'events');
    expect(targets).toHaveLength(5);
    expect(expectExactlyOnce(env.dispatched('events'), [...keys, ...later])).toEqual({ lost: [], duplicated: [], unexpected: [] });
    expect(committedTransactions(env, 'events', TX_ID).flat().sort()).toEqual([...keys, ...later].sort());
    // The partition re-fenced its id and caught up before going on; the settled ones count as dispatched.
    expect(env.events.reloads.filter((r) => r.reason === 'transaction')).toHaveLength(1);
    expect(env.events.dispatched.map((e) => e.key).sort()).toEqual([...keys, ...later].sort());
    expect(env.events.dispatched.every((e) => !e.possibleDuplicate)).toBe(true);
    expect(env.scheduler.partitions()[0]).toMatchObject({ state: 'loaded', buffered: 0 });
  });

  it('hand-over with the old owner paused mid-commit: the new owner fences it, 0 duplicates, 0 lost (design note 4)', async () => {
    await using env = await createTestEnvironment({ start: false, scheduler: { transactional: true } });
    const closedByA: string[] = [];
    const a = await env.addMember({}, { wrapTransport: (t) => interceptTransport(t, { onProducerClose: (id) => closedByA.push(id) }) });
    const b = await env.addMember();
    expect(env.broker.assignment('ksched_scheduled_messages').map((m) => m.partitions.length)).toEqual([1, 0]);
    const now = env.clock.now();
    const keys = await scheduleMany(env, 10, (i) => now + SECOND + (i < 5 ? 0 : MINUTE));

    const pause = env.broker.faults.pauseTransactionBeforeCommit(TX_ID);
    await env.advance(SECOND);
    await pause.reached;
    // A's 5 targets and tombstones are in the log, uncommitted.
    expect(env.broker.produced.filter((r) => r.topic === 'events' && r.transaction === 'open')).toHaveLength(5);

    await env.dropMember(a); // A freezes (SIGSTOP / session timeout): B takes the partition over
    expect(b.scheduler.partitions()).toHaveLength(1);
    // B's init() fenced A and aborted its transaction before B loaded, so B dispatched the 5 itself.
    expect(
      env.broker.produced
        .filter((r) => r.topic === 'events' && r.clientId === a.transport.clientId)
        .every((r) => r.transaction === 'aborted'),
    ).toBe(true);
    expect(env.dispatched('events')).toHaveLength(5);

    pause.release(); // A wakes up and tries to commit: fenced
    await env.settle();
    await env.advance(2 * MINUTE);
    expect(a.events.errors.some((e) => e.phase === 'flush' && FencedError.isInstance(e.error))).toBe(true);
    expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
    expect(a.events.dispatched).toHaveLength(0);
    expect(b.events.dispatched).toHaveLength(10);
    // The fenced engine still releases its producer when its member stops, and reports nothing.
    const reports = env.states(0).length;
    await a.scheduler.stop();
    expect(closedByA).toEqual([TX_ID]);
    expect(env.states(0)).toHaveLength(reports);
  });

  it('graceful hand-over while a transaction is open: revocation waits for the commit, then the new owner loads it (0 duplicates)', async () => {
    await using env = await createTestEnvironment({ partitions: 2, scheduler: { transactional: true } });
    const a = env.members[0]!;
    const now = env.clock.now();
    const keys: string[] = [];
    for (let i = 0; i < 6; i++)
      keys.push((await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at: now + SECOND, envelope: { partition: 1 } })).key);
    const pause = env.broker.faults.pauseTransactionBeforeCommit('ksched_scheduled_messages-scheduled_messages-1');
    await env.advance(SECOND);
    await pause.reached;
    const joining = env.addMember(); // B gets partition 1: A's onRevoked must wait for the open transaction
    for (let i = 0; i < 50; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    expect(env.broker.assignment('ksched_scheduled_messages')[1]?.partitions ?? []).toEqual([]);
    pause.release();
    const b = await joining;
    await env.advance(MINUTE);
    expect(b.scheduler.partitions().map((p) => p.partition)).toEqual([1]);
    expect(a.events.dispatched).toHaveLength(6);
    expect(b.events.dispatched).toHaveLength(0);
    expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
  });

  it('a commit that fails while its partition is being revoked is not settled by the parking engine: the partition comes back and goes on (finding 8c)', async () => {
    await using env = await createTestEnvironment({ start: false, partitions: 2, scheduler: { transactional: true, retryBackoffMs: 200 } });
    const TX_1 = 'ksched_scheduled_messages-scheduled_messages-1';
    const inits: string[] = [];
    const a = await env.addMember({}, { wrapTransport: (t) => interceptTransport(t, { beforeInit: (id) => void inits.push(id) }) });
    const now = env.clock.now();
    const keys: string[] = [];
    for (let i = 0; i < 4; i++)
      keys.push((await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at: now + SECOND, envelope: { partition: 1 } })).key);
    const pause = env.broker.faults.pauseTransactionBeforeCommit(TX_1);
    env.broker.faults.failTransactionCommit({ transactionalId: TX_1 });
    await env.advance(SECOND);
    await pause.reached;

    // A member that only holds partitions joins: partition 1 moves to it, and A's revocation waits
    // for the open transaction, whose commit then fails.
    const idle = env.broker.createTransport({ clientId: 'idle', clock: env.clock });
    await idle.connect();
    const listener = { onAssigned() {}, onRevoked() {}, onBatch() {}, onError() {} };
    const joined = idle.subscribe({ groupId: 'ksched_scheduled_messages', topics: ['scheduled_messages'], listener });
    for (let i = 0; i < 50; i++) await new Promise<void>((resolve) => setImmediate(resolve));
    pause.release();
    await joined;
    await env.settle();
    expect(a.scheduler.partitions().map((p) => p.partition)).toEqual([0]);
    // Parking, the engine did not start a producer of its own to settle the failed transaction.
    expect(inits.filter((id) => id === TX_1)).toHaveLength(1);
    await env.advance(5 * SECOND);

    // The partition comes back: A resumes it with a new producer and dispatches the 4, once.
    await idle.close();
    await env.settle();
    await env.advance(MINUTE);
    expect(inits.filter((id) => id === TX_1)).toHaveLength(2);
    expect(a.scheduler.partitions().find((p) => p.partition === 1)).toMatchObject({ state: 'loaded', buffered: 0 });
    expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
    expect(a.events.errors.filter((e) => FencedError.isInstance(e.error))).toEqual([]);
  });

  it('read committed: a tombstone from an aborted transaction never hides a schedule', async () => {
    await using env = await createTestEnvironment({ scheduler: { transactional: true } });
    const [key] = await scheduleMany(env, 1, () => env.clock.now() + MINUTE);
    const outsider = await env.producer.createTransactionalProducer('outsider');
    await outsider.init();
    env.broker.faults.failTransactionCommit({ transactionalId: 'outsider' });
    await expect(outsider.sendInTransaction([rawTombstone({ key: key!, epoch: seconds(env.clock.now()) + 60 })])).rejects.toThrow();
    await env.settle();
    expect(env.scheduler.partitions()[0]!.buffered).toBe(1);
    // A restart re-reads the log with the aborted tombstone in it.
    await env.stopMember(env.members[0]!);
    await env.addMember();
    expect(env.scheduler.partitions()[0]!.buffered).toBe(1);
    await env.advance(MINUTE);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual([key]);
  });
});

describe('transactions fenced by the group (transactionalFencing: group)', () => {
  it('start() refuses it by name on a transport that cannot', async () => {
    await using env = await createTestEnvironment({ start: false });
    const refused = await env
      .addMember({ transactional: true, transactionalFencing: 'group' })
      .then(() => undefined)
      .catch((e: unknown) => e);
    expect(UnsupportedError.isInstance(refused) && refused.message).toMatch(/transactionalFencing 'group'.*use 'partition'/);
  });

  it("one member id for all of the member's partitions, each producer fenced by its partition; each transaction commits the engine's position", async () => {
    await using env = await createTestEnvironment({ start: false, partitions: 2 });
    const created: { id: string; fencedByGroup: unknown }[] = [];
    const positions: (number | undefined)[] = [];
    await env.addMember(
      { transactional: true, transactionalFencing: 'group' },
      {
        wrapTransport: (t) => {
          const wrapped = interceptTransport(t, {});
          return {
            ...wrapped,
            groupFencedTransactions: true,
            // The fake broker fences by id: its producer stands in, with what the scheduler asked for recorded.
            async createTransactionalProducer(id, options) {
              created.push({ id, fencedByGroup: options?.fencedByGroup });
              const producer = await t.createTransactionalProducer(`${id}-${options?.fencedByGroup?.partition}`);
              return {
                transactionalId: id,
                ...(options?.fencedByGroup ? { fencedByGroup: options.fencedByGroup } : {}),
                init: () => producer.init(),
                sendInTransaction: (records, o) => {
                  positions.push(o?.position);
                  return producer.sendInTransaction(records, o);
                },
                close: () => producer.close(),
              };
            },
          };
        },
      },
    );
    const keys: string[] = [];
    for (let i = 0; i < 4; i++)
      keys.push(
        (
          await env.schedule({
            message: { topic: 'events', payload: `p${i}` },
            at: env.clock.now() + SECOND,
            envelope: { partition: i % 2 },
          })
        ).key,
      );
    await env.advance(5 * SECOND);
    expect(
      created.map((c) => c.fencedByGroup).sort((a, b) => (a as { partition: number }).partition - (b as { partition: number }).partition),
    ).toEqual([
      { topic: 'scheduled_messages', partition: 0 },
      { topic: 'scheduled_messages', partition: 1 },
    ]);
    expect(new Set(created.map((c) => c.id)).size).toBe(1);
    expect(created[0]!.id).toMatch(/^ksched_scheduled_messages-member-[0-9a-f-]{36}$/);
    expect(positions.length).toBeGreaterThan(0);
    // The position read so far: past the two schedules of the partition.
    for (const p of positions) expect(p).toBeGreaterThanOrEqual(2);
    expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
  });

  it("a partition whose init() waits (an earlier owner's open transaction) does not hold the member's other partitions back", async () => {
    await using env = await createTestEnvironment({ start: false, partitions: 2 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const member = await env.addMember(
      { transactional: true, transactionalFencing: 'group' },
      {
        wrapTransport: (t) => ({
          ...interceptTransport(t, {}),
          groupFencedTransactions: true,
          async createTransactionalProducer(id, options) {
            const partition = options?.fencedByGroup?.partition;
            const producer = await t.createTransactionalProducer(`${id}-${partition}`);
            return {
              transactionalId: id,
              init: async () => {
                if (partition === 0) await held;
                await producer.init();
              },
              sendInTransaction: (records, o) => producer.sendInTransaction(records, o),
              close: () => producer.close(),
            };
          },
        }),
      },
    );
    const key = (
      await env.schedule({ message: { topic: 'events', payload: 'p1' }, at: env.clock.now() + SECOND, envelope: { partition: 1 } })
    ).key;
    await env.advance(2 * SECOND);
    const state = (p: number) => member.scheduler.partitions().find((s) => s.partition === p)?.state;
    expect([state(0), state(1)]).toEqual(['fresh', 'loaded']);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual([key]);
    expect(member.scheduler.isReady()).toBe(false);
    release();
    await env.advance(SECOND);
    expect(state(0)).toBe('loaded');
    expect(member.scheduler.isReady()).toBe(true);
  });

  it('a partition revoked while its init() waits is neither started nor reported failed when the init ends; the new owner dispatches its schedule once', async () => {
    await using env = await createTestEnvironment({ start: false, partitions: 2 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let gated = true;
    let released = false;
    const seeksAfterRelease: string[] = [];
    const wrap = (label: string) => (t: FakeTransport) => ({
      ...interceptTransport(t, {}),
      groupFencedTransactions: true,
      seekToBeginning(tp: { topic: string; partition: number }) {
        if (released) seeksAfterRelease.push(`${label} ${tp.partition}`);
        return t.seekToBeginning(tp);
      },
      async createTransactionalProducer(id: string, options?: { fencedByGroup?: { partition: number } }) {
        const partition = options?.fencedByGroup?.partition;
        const wait = gated && partition === 1;
        const producer = await t.createTransactionalProducer(`${id}-${partition}`);
        return {
          transactionalId: id,
          init: async () => {
            if (wait) await held;
            await producer.init();
          },
          sendInTransaction: (records: readonly ProduceRecord[], o?: { readableTopics?: readonly string[] }) =>
            producer.sendInTransaction(records, o),
          close: () => producer.close(),
        };
      },
    });
    const options = { transactional: true, transactionalFencing: 'group' as const };
    const first = await env.addMember(options, { wrapTransport: wrap('first') });
    await env.advance(SECOND);
    gated = false;
    // The rebalance moves partition 1 (range: the first member keeps 0) while its init() waits on the first member.
    await env.addMember(options, { wrapTransport: wrap('second') });
    const key = (
      await env.schedule({ message: { topic: 'events', payload: 'p1' }, at: env.clock.now() + SECOND, envelope: { partition: 1 } })
    ).key;
    await env.advance(2 * SECOND);
    released = true;
    release();
    await env.advance(2 * SECOND);
    // The revoked engine did not go on to load (it would seek to the beginning first).
    expect(seeksAfterRelease).toEqual([]);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toEqual([key]);
    // Its init() ended because the partition's producer was closed: no error to report for a partition it no longer owns.
    expect(first.events.errors).toEqual([]);
  });

  it('transactionalMemberId makes the member id stable: <prefix>-member-<id>', async () => {
    await using env = await createTestEnvironment({ start: false });
    const ids: string[] = [];
    await env.addMember(
      { transactional: true, transactionalFencing: 'group', transactionalMemberId: 'pod-7', transactionalIdPrefix: 'app' },
      {
        wrapTransport: (t) => ({
          ...interceptTransport(t, {}),
          groupFencedTransactions: true,
          async createTransactionalProducer(id) {
            ids.push(id);
            return t.createTransactionalProducer(id);
          },
        }),
      },
    );
    expect(ids).toEqual(['app-member-pod-7']);
  });
});
