import { describe, expect, it } from 'vitest';
import { FencedError, partitionForKey, TransportError } from '@ksched/core';
import type { GroupListener, PartitionBatch, ProduceRecord, TopicPartition } from '@ksched/core';
import { FakeBroker, FakeClock } from '../src/index.js';
import type { FakeBrokerOptions, FakeReadSpeed, FakeTransport } from '../src/index.js';

const T0 = Date.UTC(2026, 0, 1);
const decoder = new TextDecoder();
const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : decoder.decode(bytes));
const k = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;
const list = (tps: readonly TopicPartition[]): string => tps.map(k).join(',');

interface Deferred {
  readonly promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

/** A listener that records what it is told, with optional hooks to hold callbacks. */
class Recorder implements GroupListener {
  readonly batches: PartitionBatch[] = [];
  readonly owned = new Set<string>();
  readonly errors: unknown[] = [];
  onAssignedHook: ((tps: readonly TopicPartition[]) => Promise<void> | void) | undefined;
  onRevokedHook: ((tps: readonly TopicPartition[]) => Promise<void> | void) | undefined;
  onBatchHook: ((batch: PartitionBatch) => Promise<void> | void) | undefined;
  readonly #name: string;
  readonly #log: string[];

  constructor(name: string, log: string[] = []) {
    this.#name = name;
    this.#log = log;
  }

  async onAssigned(tps: readonly TopicPartition[]): Promise<void> {
    this.#log.push(`${this.#name} assigned ${list(tps)}`);
    await this.onAssignedHook?.(tps);
    for (const tp of tps) this.owned.add(k(tp));
    this.#log.push(`${this.#name} assigned-done ${list(tps)}`);
  }

  async onRevoked(tps: readonly TopicPartition[]): Promise<void> {
    this.#log.push(`${this.#name} revoked ${list(tps)}`);
    await this.onRevokedHook?.(tps);
    for (const tp of tps) this.owned.delete(k(tp));
    this.#log.push(`${this.#name} revoked-done ${list(tps)}`);
  }

  async onBatch(batch: PartitionBatch): Promise<void> {
    this.batches.push(batch);
    await this.onBatchHook?.(batch);
  }

  onError(error: unknown): void {
    this.errors.push(error);
  }

  of(tp: TopicPartition): PartitionBatch[] {
    return this.batches.filter((b) => k(b) === k(tp));
  }

  values(tp: TopicPartition): (string | null)[] {
    return this.of(tp).flatMap((b) => b.records.map((r) => text(r.value)));
  }

  /** Batch summaries: `[values…]@position`, `EOF@position` for empty batches. */
  shape(tp: TopicPartition): string[] {
    return this.of(tp).map((b) =>
      b.records.length === 0 ? `EOF@${b.position}` : `${b.records.map((r) => text(r.value)).join(',')}@${b.position}`,
    );
  }
}

async function setup(options: FakeBrokerOptions = {}): Promise<{ broker: FakeBroker; producer: FakeTransport }> {
  const broker = new FakeBroker(options);
  const producer = broker.createTransport({ clientId: 'producer' });
  await producer.connect();
  return { broker, producer };
}

async function member(broker: FakeBroker, clientId: string): Promise<FakeTransport> {
  const t = broker.createTransport({ clientId });
  await t.connect();
  return t;
}

const rec = (topic: string, value: string | null, extra: Partial<ProduceRecord> = {}): ProduceRecord => ({
  topic,
  key: extra.key === undefined ? 'k' : extra.key,
  value,
  ...extra,
});

describe('FakeBroker', () => {
  describe('topics and producing', () => {
    it('creates topics, counts partitions and rejects unknown or duplicate topics', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 3 });
      expect(broker.hasTopic('t')).toBe(true);
      expect(broker.partitionCount('t')).toBe(3);
      expect(await producer.partitionCount('t')).toBe(3);
      expect(() => broker.createTopic('t', { partitions: 1 })).toThrow(TransportError);
      expect(() => broker.createTopic('x', { partitions: 0 })).toThrow(RangeError);
      expect(() => broker.createTopic('', { partitions: 1 })).toThrow(TransportError);
      await expect(producer.partitionCount('missing')).rejects.toSatisfy(TransportError.isInstance);
      await expect(producer.fetchWatermarks({ topic: 't', partition: 3 })).rejects.toSatisfy(TransportError.isInstance);
      await expect(producer.produce([rec('missing', 'v')])).rejects.toThrow(/unknown topic/);
      await expect(producer.produce([rec('t', 'v', { partition: 7 })])).rejects.toThrow(/unknown partition/);
    });

    it('assigns monotonically increasing offsets per partition and records every produced record', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 2 });
      const metas = await producer.produce([
        rec('t', 'a', { partition: 0 }),
        rec('t', 'b', { partition: 1 }),
        rec('t', 'c', { partition: 0 }),
        rec('t', 'd', { partition: 0 }),
      ]);
      expect(metas).toEqual([
        { topic: 't', partition: 0, offset: 0 },
        { topic: 't', partition: 1, offset: 0 },
        { topic: 't', partition: 0, offset: 1 },
        { topic: 't', partition: 0, offset: 2 },
      ]);
      expect(broker.watermarks({ topic: 't', partition: 0 })).toEqual({ low: 0, high: 3, logEndOffset: 3 });
      expect(broker.produced.map((p) => [p.partition, p.offset, text(p.value), p.clientId, p.transactionalId, p.transaction])).toEqual([
        [0, 0, 'a', 'producer', null, 'none'],
        [1, 0, 'b', 'producer', null, 'none'],
        [0, 1, 'c', 'producer', null, 'none'],
        [0, 2, 'd', 'producer', null, 'none'],
      ]);
    });

    it('partitions by explicit partition, then partitionKey, then key (murmur2), then round robin', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t12', { partitions: 12 });
      const [explicit, byPartitionKey, byKey, byBytes, ...keyless] = await producer.produce([
        rec('t12', 'v', { key: 'foobar', partitionKey: 'foobar', partition: 2 }),
        rec('t12', 'v', { key: 'foobar', partitionKey: '21' }),
        rec('t12', 'v', { key: 'foobar' }),
        rec('t12', 'v', { key: new TextEncoder().encode('customer-9') }),
        rec('t12', 'v', { key: null }),
        rec('t12', 'v', { key: null }),
        rec('t12', 'v', { key: null }),
      ]);
      expect(explicit!.partition).toBe(2);
      expect(byPartitionKey!.partition).toBe(0);
      expect(byKey!.partition).toBe(6);
      expect(byBytes!.partition).toBe(11);
      expect(byKey!.partition).toBe(partitionForKey('foobar', 12));
      expect(keyless.map((m) => m.partition)).toEqual([0, 1, 2]);
    });

    it('stamps records with the member clock, else the broker clock, unless a timestamp is given', async () => {
      const brokerClock = new FakeClock({ now: T0 });
      const memberClock = new FakeClock({ now: T0 + 5_000 });
      const broker = new FakeBroker({ clock: brokerClock });
      broker.createTopic('t', { partitions: 1 });
      const a = broker.createTransport({ clock: memberClock });
      const b = broker.createTransport();
      await a.connect();
      await b.connect();
      await a.produce([rec('t', 'a')]);
      await b.produce([rec('t', 'b')]);
      await b.produce([rec('t', 'c', { timestamp: 42 })]);
      expect(broker.records('t').map((r) => r.timestamp)).toEqual([T0 + 5_000, T0, 42]);
    });

    it('stores keys, values and headers as private copies, and delivers copies', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const value = new Uint8Array([1, 2, 3]);
      const header = new Uint8Array([9]);
      await producer.produce([{ topic: 't', key: null, value, headers: { h: header, s: 'text' } }]);
      value[0] = 99;
      header[0] = 99;
      const [stored] = broker.readCommitted('t');
      expect(Array.from(stored!.value!)).toEqual([1, 2, 3]);
      expect(stored!.headers).toEqual({ h: new Uint8Array([9]), s: 'text' });
      stored!.value![1] = 99;
      expect(Array.from(broker.readCommitted('t')[0]!.value!)).toEqual([1, 2, 3]);
    });

    it('keeps null keys and null values; a compacted topic refuses keyless records', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('plain', { partitions: 1 });
      broker.createTopic('compacted', { partitions: 1, compacted: true });
      await producer.produce([{ topic: 'plain', key: null, value: null }]);
      expect(broker.records('plain')[0]).toMatchObject({ key: null, value: null, transaction: 'none', control: null });
      await expect(producer.produce([{ topic: 'compacted', key: null, value: 'v' }])).rejects.toThrow(/without a key/);
      await expect(producer.produce([{ topic: 'plain', key: null, value: 5 as unknown as string }])).rejects.toSatisfy(
        TransportError.isInstance,
      );
      await expect(producer.produce([{ topic: 'plain', key: null, value: 'v', headers: { n: 1 as unknown as string } }])).rejects.toThrow(
        /header n/,
      );
    });

    it('rejects every operation before connect() and after close()', async () => {
      const broker = new FakeBroker();
      broker.createTopic('t', { partitions: 1 });
      const t = broker.createTransport();
      expect(t.specificationVersion).toBe('v1');
      await expect(t.produce([rec('t', 'v')])).rejects.toThrow(/connect\(\) first/);
      await expect(t.subscribe({ groupId: 'g', topics: ['t'], listener: new Recorder('a') })).rejects.toThrow(/connect\(\) first/);
      await expect(t.fetchWatermarks({ topic: 't', partition: 0 })).rejects.toSatisfy(TransportError.isInstance);
      await t.connect();
      await t.produce([rec('t', 'v')]);
      await t.close();
      await t.close();
      await expect(t.produce([rec('t', 'v')])).rejects.toThrow(/closed/);
      await expect(t.createTransactionalProducer('x')).rejects.toThrow(/closed/);
    });

    it('produceNoWait appends on the next microtask and reports failures to onError, never throwing', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const errors: unknown[] = [];
      producer.produceNoWait([rec('t', 'a'), rec('t', 'b')], (e) => errors.push(e));
      expect(broker.records('t')).toHaveLength(0);
      await Promise.resolve();
      expect(broker.records('t').map((r) => text(r.value))).toEqual(['a', 'b']);
      producer.produceNoWait([rec('missing', 'x')], (e) => errors.push(e));
      expect(() =>
        producer.produceNoWait(null as unknown as ProduceRecord[], () => {
          throw new Error('a throwing onError is swallowed too');
        }),
      ).not.toThrow();
      producer.produceNoWait([rec('missing', 'x')]);
      await Promise.resolve();
      expect(errors).toHaveLength(1);
      expect(TransportError.isInstance(errors[0])).toBe(true);
    });
  });

  describe('compaction and retention', () => {
    async function compactedTopic(): Promise<{ broker: FakeBroker; producer: FakeTransport; clock: FakeClock }> {
      const clock = new FakeClock({ now: T0 });
      const broker = new FakeBroker({ clock });
      const producer = broker.createTransport({ clientId: 'producer' });
      await producer.connect();
      broker.createTopic('c', { partitions: 1, compacted: true });
      return { broker, producer, clock };
    }

    it('keeps the latest record per key at its offset, leaving gaps, and moves the low watermark', async () => {
      const { broker, producer } = await compactedTopic();
      await producer.produce([
        rec('c', 'a1', { key: 'a' }),
        rec('c', 'b1', { key: 'b' }),
        rec('c', 'a2', { key: 'a' }),
        rec('c', 'c1', { key: 'c' }),
        rec('c', 'b2', { key: 'b' }),
      ]);
      expect(broker.compact('c')).toBe(2);
      expect(broker.records('c').map((r) => [r.offset, text(r.value)])).toEqual([
        [2, 'a2'],
        [3, 'c1'],
        [4, 'b2'],
      ]);
      expect(broker.watermarks({ topic: 'c', partition: 0 })).toEqual({ low: 2, high: 5, logEndOffset: 5 });
      expect(await producer.fetchWatermarks({ topic: 'c', partition: 0 })).toEqual({ low: 2, high: 5 });
      // Nothing is removed twice; new records keep counting from the log end.
      expect(broker.compact('c')).toBe(0);
      const [next] = await producer.produce([rec('c', 'd1', { key: 'd' })]);
      expect(next!.offset).toBe(5);
      expect(broker.produced).toHaveLength(6);
    });

    it('keeps tombstones until they are older than the retention, then removes them', async () => {
      const { broker, producer, clock } = await compactedTopic();
      await producer.produce([rec('c', 'a1', { key: 'a' }), rec('c', 'b1', { key: 'b' }), rec('c', null, { key: 'a' })]);
      broker.compact('c', { tombstoneRetentionMs: 1000 });
      expect(broker.records('c').map((r) => [r.offset, text(r.value)])).toEqual([
        [1, 'b1'],
        [2, null],
      ]);
      clock.tick(999);
      broker.compact('c', { tombstoneRetentionMs: 1000 });
      expect(broker.records('c')).toHaveLength(2);
      clock.tick(1);
      broker.compact('c', { tombstoneRetentionMs: 1000 });
      expect(broker.records('c').map((r) => r.offset)).toEqual([1]);
      expect(broker.watermarks({ topic: 'c', partition: 0 })).toMatchObject({ low: 1, high: 3 });
      // `now` overrides the clock; the default retention is a day.
      await producer.produce([rec('c', null, { key: 'b' })]);
      broker.compact('c');
      expect(broker.records('c').map((r) => r.offset)).toEqual([3]);
      broker.compact('c', { now: T0 + 1000 + 86_400_000 });
      expect(broker.records('c')).toEqual([]);
      expect(broker.watermarks({ topic: 'c', partition: 0 })).toEqual({ low: 4, high: 4, logEndOffset: 4 });
    });

    it('removes aborted records and spent markers; leaves an open transaction and what follows alone', async () => {
      const { broker, producer } = await compactedTopic();
      const tx = await producer.createTransactionalProducer('tx');
      await tx.init();
      broker.faults.failTransactionCommit({ transactionalId: 'tx' });
      await expect(tx.sendInTransaction([rec('c', 'aborted', { key: 'x' })])).rejects.toThrow(/injected/);
      await tx.sendInTransaction([rec('c', 'committed', { key: 'y' })]);
      const pause = broker.faults.pauseTransactionBeforeCommit('tx');
      const open = tx.sendInTransaction([rec('c', 'open', { key: 'y' })]);
      await pause.reached;
      await producer.produce([rec('c', 'after-open', { key: 'y' })]);
      // offsets: 0 aborted, 1 abort marker, 2 committed, 3 commit marker, 4 open, 5 after-open
      broker.compact('c', { tombstoneRetentionMs: 0 });
      expect(broker.records('c', 0, { includeControl: true }).map((r) => [r.offset, r.control ?? text(r.value), r.transaction])).toEqual([
        [2, 'committed', 'committed'],
        [3, 'commit', 'committed'],
        [4, 'open', 'open'],
        [5, 'after-open', 'none'],
      ]);
      pause.release();
      await open;
      broker.compact('c', { tombstoneRetentionMs: 0 });
      expect(broker.records('c', 0, { includeControl: true }).map((r) => r.offset)).toEqual([5]);
      expect(broker.watermarks({ topic: 'c', partition: 0 })).toEqual({ low: 5, high: 7, logEndOffset: 7 });
    });

    it('refuses to compact a topic that is not compacted', async () => {
      const { broker } = await setup();
      broker.createTopic('plain', { partitions: 1 });
      expect(() => broker.compact('plain')).toThrow(/not created with \{ compacted: true \}/);
      expect(() => broker.compact('missing')).toThrow(TransportError);
    });

    it('moves a consumer positioned below the new low watermark ahead; seekToBeginning starts at low', async () => {
      const { broker, producer } = await compactedTopic();
      const tp = { topic: 'c', partition: 0 };
      await producer.produce([rec('c', 'a1', { key: 'a' }), rec('c', 'a2', { key: 'a' }), rec('c', 'b1', { key: 'b' })]);
      const consumer = await member(broker, 'consumer');
      const r = new Recorder('consumer');
      const gate = deferred();
      r.onAssignedHook = () => gate.promise;
      await Promise.all([
        consumer.subscribe({ groupId: 'g', topics: ['c'], listener: r }),
        (async () => {
          await new Promise((resolve) => setImmediate(resolve));
          expect(consumer.position(tp)).toBe(0);
          broker.compact('c');
          gate.resolve();
        })(),
      ]);
      await broker.settle();
      expect(r.shape(tp)).toEqual(['a2,b1@3', 'EOF@3']);
      expect(r.of(tp)[0]!.records.map((x) => x.offset)).toEqual([1, 2]);
      expect(await consumer.seekToBeginning(tp)).toEqual({ low: 1, high: 3 });
      await broker.settle();
      expect(r.shape(tp)).toEqual(['a2,b1@3', 'EOF@3', 'a2,b1@3', 'EOF@3']);
    });

    it('deleteRecords removes the head and moves low; it cannot pass the last stable offset', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tp = { topic: 't', partition: 0 };
      await producer.produce([rec('t', '0'), rec('t', '1'), rec('t', '2')]);
      broker.deleteRecords(tp, 2);
      expect(broker.readCommitted('t').map((r) => r.offset)).toEqual([2]);
      expect(broker.watermarks(tp)).toEqual({ low: 2, high: 3, logEndOffset: 3 });
      broker.deleteRecords(tp, 1); // below low: nothing happens
      expect(broker.watermarks(tp).low).toBe(2);
      expect(() => broker.deleteRecords(tp, 4)).toThrow(RangeError);
      broker.deleteRecords(tp, 3);
      expect(broker.watermarks(tp)).toEqual({ low: 3, high: 3, logEndOffset: 3 });
    });
  });

  describe('transactions (read committed)', () => {
    it('commits atomically: a commit marker takes an offset in every partition written', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 2 });
      const tx = await producer.createTransactionalProducer('tx-1');
      await tx.init();
      const metas = await tx.sendInTransaction([
        rec('t', 'a', { partition: 0 }),
        rec('t', 'b', { partition: 1 }),
        rec('t', 'c', { partition: 0 }),
      ]);
      expect(metas.map((m) => [m.partition, m.offset])).toEqual([
        [0, 0],
        [1, 0],
        [0, 1],
      ]);
      expect(broker.watermarks({ topic: 't', partition: 0 })).toEqual({ low: 0, high: 3, logEndOffset: 3 });
      expect(broker.watermarks({ topic: 't', partition: 1 })).toEqual({ low: 0, high: 2, logEndOffset: 2 });
      expect(broker.records('t', 0, { includeControl: true }).map((r) => [r.offset, r.control, r.transactionalId, r.transaction])).toEqual([
        [0, null, 'tx-1', 'committed'],
        [1, null, 'tx-1', 'committed'],
        [2, 'commit', 'tx-1', 'committed'],
      ]);
      expect(broker.records('t', 0)).toHaveLength(2);
      expect(broker.produced.map((p) => p.transaction)).toEqual(['committed', 'committed', 'committed']);
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['a', 'c', 'b']);
    });

    it('an empty transaction writes nothing', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tx = await producer.createTransactionalProducer('tx');
      await tx.init();
      expect(await tx.sendInTransaction([])).toEqual([]);
      expect(broker.watermarks({ topic: 't', partition: 0 }).logEndOffset).toBe(0);
    });

    it('stops the last stable offset before an open transaction; consumers wait for it', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tp = { topic: 't', partition: 0 };
      await producer.produce([rec('t', 'before')]);
      const tx = await producer.createTransactionalProducer('tx');
      await tx.init();
      const pause = broker.faults.pauseTransactionBeforeCommit('tx');
      const sending = tx.sendInTransaction([rec('t', 'in-txn')]);
      await pause.reached;
      expect(pause.paused).toBe(true);
      await producer.produce([rec('t', 'after')]);
      expect(broker.watermarks(tp)).toEqual({ low: 0, high: 1, logEndOffset: 3 });
      expect(await producer.fetchWatermarks(tp)).toEqual({ low: 0, high: 1 });
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['before']);
      expect(broker.produced.map((p) => p.transaction)).toEqual(['none', 'open', 'none']);

      const consumer = await member(broker, 'consumer');
      const r = new Recorder('consumer');
      await consumer.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await broker.settle();
      expect(r.shape(tp)).toEqual(['before@1', 'EOF@1']);
      expect(r.of(tp)[0]!.highWatermark).toBe(1);

      pause.release();
      await sending;
      expect(pause.paused).toBe(false);
      await broker.settle();
      expect(r.shape(tp)).toEqual(['before@1', 'EOF@1', 'in-txn,after@4', 'EOF@4']);
      expect(broker.produced.map((p) => p.transaction)).toEqual(['none', 'committed', 'none']);
    });

    it('never delivers aborted records; the abort marker still moves the position', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tp = { topic: 't', partition: 0 };
      const tx = await producer.createTransactionalProducer('tx');
      await tx.init();
      const failure = new Error('commit refused');
      const fault = broker.faults.failTransactionCommit({ transactionalId: 'tx', error: failure });
      await expect(tx.sendInTransaction([rec('t', 'x1'), rec('t', 'x2')])).rejects.toBe(failure);
      expect(fault.triggered).toBe(1);
      expect(fault.exhausted).toBe(true);
      expect(broker.records('t').map((r) => r.transaction)).toEqual(['aborted', 'aborted']);
      expect(broker.records('t', 0, { includeControl: true }).map((r) => r.control)).toEqual([null, null, 'abort']);
      const consumer = await member(broker, 'consumer');
      const r = new Recorder('consumer');
      await consumer.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await broker.settle();
      expect(r.shape(tp)).toEqual(['EOF@3']);
      await tx.sendInTransaction([rec('t', 'c1')]);
      await broker.settle();
      expect(r.shape(tp)).toEqual(['EOF@3', 'c1@5', 'EOF@5']);
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['c1']);
    });

    it("a commit whose answer was lost ('committed-later') stays invisible, then commits when the id is initialised again", async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tx = await producer.createTransactionalProducer('tx');
      await tx.init();
      const fault = broker.faults.failTransactionCommit({ transactionalId: 'tx', outcome: 'committed-later' });
      await expect(tx.sendInTransaction([rec('t', 'x1'), rec('t', 'x2')])).rejects.toThrow(/injected transaction commit failure/);
      expect(fault.triggered).toBe(1);
      await tx.close(); // closing the producer does not abort a decided commit
      expect(broker.records('t').map((r) => r.transaction)).toEqual(['open', 'open']);
      expect(broker.readCommitted('t')).toEqual([]);
      const next = await producer.createTransactionalProducer('tx');
      await next.init();
      expect(broker.records('t', 0, { includeControl: true }).map((r) => r.control ?? r.transaction)).toEqual([
        'committed',
        'committed',
        'commit',
      ]);
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['x1', 'x2']);
    });

    it("a lost commit answer ('committed-later') completes before the same producer's next transaction", async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tx = await producer.createTransactionalProducer('tx');
      await tx.init();
      broker.faults.failTransactionCommit({ transactionalId: 'tx', outcome: 'committed-later' });
      await expect(tx.sendInTransaction([rec('t', 'x1')])).rejects.toThrow(/injected/);
      await tx.sendInTransaction([rec('t', 'x2')]);
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['x1', 'x2']);
    });

    it('aborts the whole transaction when a record fails to produce', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tx = await producer.createTransactionalProducer('tx');
      await tx.init();
      await expect(tx.sendInTransaction([rec('t', 'ok'), rec('t', 'bad', { partition: 5 })])).rejects.toThrow(/unknown partition/);
      broker.faults.failProduce({ source: 'transaction', nth: 2 });
      await expect(tx.sendInTransaction([rec('t', 'ok'), rec('t', 'fails')])).rejects.toThrow(/injected produce failure/);
      expect(broker.records('t').map((r) => [text(r.value), r.transaction])).toEqual([
        ['ok', 'aborted'],
        ['ok', 'aborted'],
      ]);
      expect(broker.readCommitted('t')).toEqual([]);
    });

    it('fencing: init() of a newer producer aborts the open transaction and the older producer fails', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tp = { topic: 't', partition: 0 };
      const a = await producer.createTransactionalProducer('ksched-t-0');
      await a.init();
      const pause = broker.faults.pauseTransactionBeforeCommit('ksched-t-0');
      const zombie = a.sendInTransaction([rec('t', 'from A')]);
      await pause.reached;
      expect(broker.watermarks(tp)).toMatchObject({ high: 0, logEndOffset: 1 });

      const other = await member(broker, 'b');
      const b = await other.createTransactionalProducer('ksched-t-0');
      await b.init();
      // A's transaction is aborted by the coordinator right away: B reads a final log.
      expect(broker.records('t').map((r) => r.transaction)).toEqual(['aborted']);
      expect(broker.watermarks(tp)).toEqual({ low: 0, high: 2, logEndOffset: 2 });
      await b.sendInTransaction([rec('t', 'from B')]);

      pause.release();
      const error = await zombie.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(FencedError.isInstance(error)).toBe(true);
      expect(String(error)).toMatch(/fenced/);
      await expect(a.sendInTransaction([rec('t', 'again')])).rejects.toThrow(/fenced/);
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['from B']);
      expect(broker.produced.map((p) => [text(p.value), p.transaction])).toEqual([
        ['from A', 'aborted'],
        ['from B', 'committed'],
      ]);
    });

    it('requires init(), one transaction at a time, and aborts an open transaction on close()', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tx = await producer.createTransactionalProducer('tx');
      await expect(tx.sendInTransaction([rec('t', 'v')])).rejects.toThrow(/init\(\) first/);
      await tx.init();
      const pause = broker.faults.pauseTransactionBeforeCommit('tx');
      const first = tx.sendInTransaction([rec('t', 'first')]);
      await pause.reached;
      await expect(tx.sendInTransaction([rec('t', 'second')])).rejects.toThrow(/already in progress/);
      await tx.close();
      expect(broker.records('t').map((r) => r.transaction)).toEqual(['aborted']);
      pause.release();
      await expect(first).rejects.toThrow(/aborted/);
      await expect(tx.sendInTransaction([rec('t', 'v')])).rejects.toThrow(/closed/);
      await expect(tx.init()).rejects.toThrow(/closed/);
      await expect(producer.createTransactionalProducer('')).rejects.toSatisfy(TransportError.isInstance);
    });

    it('transport.close() aborts the open transactions of its producers', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tx = await producer.createTransactionalProducer('tx');
      await tx.init();
      const pause = broker.faults.pauseTransactionBeforeCommit('tx');
      const sending = tx.sendInTransaction([rec('t', 'v')]);
      await pause.reached;
      await producer.close();
      expect(broker.watermarks({ topic: 't', partition: 0 })).toEqual({ low: 0, high: 2, logEndOffset: 2 });
      pause.release();
      await expect(sending).rejects.toThrow();
    });
  });

  describe('consumer groups and delivery', () => {
    it('delivers batches from the beginning, then one EOF notice per arrival at the end; produce wakes delivery', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 2 });
      const p0 = { topic: 't', partition: 0 };
      const p1 = { topic: 't', partition: 1 };
      await producer.produce([rec('t', 'a', { partition: 0 }), rec('t', 'b', { partition: 0 })]);
      const consumer = await member(broker, 'c');
      const r = new Recorder('c');
      await consumer.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await broker.settle();
      expect(r.shape(p0)).toEqual(['a,b@2', 'EOF@2']);
      expect(r.shape(p1)).toEqual(['EOF@0']);
      await broker.settle();
      expect(r.batches).toHaveLength(3);
      await producer.produce([rec('t', 'c', { partition: 0 })]);
      await broker.settle();
      expect(r.shape(p0)).toEqual(['a,b@2', 'EOF@2', 'c@3', 'EOF@3']);
      expect(r.of(p0).every((b) => b.highWatermark === b.position)).toBe(true);
      const first = r.of(p0)[0]!.records[0]!;
      expect(first).toMatchObject({ topic: 't', partition: 0, offset: 0, key: new TextEncoder().encode('k') });
    });

    it('splits a long partition into batches of at most maxBatchSize (per broker or per member)', async () => {
      const { broker, producer } = await setup({ maxBatchSize: 3 });
      broker.createTopic('t', { partitions: 1 });
      const tp = { topic: 't', partition: 0 };
      await producer.produce(Array.from({ length: 7 }, (_, i) => rec('t', `${i}`)));
      const a = await member(broker, 'a');
      const ra = new Recorder('a');
      await a.subscribe({ groupId: 'g1', topics: ['t'], listener: ra });
      const b = broker.createTransport({ clientId: 'b', maxBatchSize: 5 });
      await b.connect();
      const rb = new Recorder('b');
      await b.subscribe({ groupId: 'g2', topics: ['t'], listener: rb });
      await broker.settle();
      expect(ra.shape(tp)).toEqual(['0,1,2@3', '3,4,5@6', '6@7', 'EOF@7']);
      expect(rb.shape(tp)).toEqual(['0,1,2,3,4@5', '5,6@7', 'EOF@7']);
      expect(() => new FakeBroker({ maxBatchSize: 0 })).toThrow(RangeError);
    });

    it('awaits onBatch before the next batch of the same partition; other partitions go on', async () => {
      const { broker, producer } = await setup({ maxBatchSize: 1 });
      broker.createTopic('t', { partitions: 2 });
      const p0 = { topic: 't', partition: 0 };
      const p1 = { topic: 't', partition: 1 };
      await producer.produce([rec('t', 'a', { partition: 0 }), rec('t', 'b', { partition: 0 }), rec('t', 'x', { partition: 1 })]);
      const consumer = await member(broker, 'c');
      const r = new Recorder('c');
      const gate = deferred();
      r.onBatchHook = (batch) => (batch.partition === 0 && batch.records.length > 0 ? gate.promise : undefined);
      await consumer.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await expect(broker.settle({ timeoutMs: 50 })).rejects.toThrow(/c-\d+ t\/0: onBatch has not settled/);
      expect(r.shape(p0)).toEqual(['a@1']);
      expect(r.shape(p1)).toEqual(['x@1', 'EOF@1']);
      gate.resolve();
      await broker.settle();
      expect(r.shape(p0)).toEqual(['a@1', 'b@2', 'EOF@2']);
    });

    it('delivers nothing of a partition before onAssigned for it has settled', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      await producer.produce([rec('t', 'a')]);
      const consumer = await member(broker, 'c');
      const r = new Recorder('c');
      const gate = deferred();
      r.onAssignedHook = () => gate.promise;
      const subscribed = consumer.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await expect(broker.settle({ timeoutMs: 30 })).rejects.toThrow(/waiting for c-\d+: onAssigned/);
      expect(r.batches).toEqual([]);
      expect(consumer.assignment()).toEqual([{ topic: 't', partition: 0 }]);
      gate.resolve();
      await subscribed;
      await broker.settle();
      expect(r.shape({ topic: 't', partition: 0 })).toEqual(['a@1', 'EOF@1']);
    });

    it('rebalances on join: onRevoked (awaited) for moving partitions, then onAssigned on the new owner (range)', async () => {
      const { broker } = await setup();
      broker.createTopic('t', { partitions: 4 });
      const log: string[] = [];
      const a = await member(broker, 'a');
      const b = await member(broker, 'b');
      const ra = new Recorder('a', log);
      const rb = new Recorder('b', log);
      await a.subscribe({ groupId: 'g', topics: ['t'], listener: ra });
      ra.onRevokedHook = async () => {
        await new Promise((resolve) => setImmediate(resolve));
        log.push('a finishing in-flight work');
      };
      await b.subscribe({ groupId: 'g', topics: ['t'], listener: rb });
      await broker.settle();
      expect(log).toEqual([
        'a assigned t/0,t/1,t/2,t/3',
        'a assigned-done t/0,t/1,t/2,t/3',
        'a revoked t/2,t/3',
        'a finishing in-flight work',
        'a revoked-done t/2,t/3',
        'b assigned t/2,t/3',
        'b assigned-done t/2,t/3',
      ]);
      expect(broker.assignment('g')).toEqual([
        {
          clientId: 'a',
          memberId: a.memberId,
          partitions: [
            { topic: 't', partition: 0 },
            { topic: 't', partition: 1 },
          ],
        },
        {
          clientId: 'b',
          memberId: b.memberId,
          partitions: [
            { topic: 't', partition: 2 },
            { topic: 't', partition: 3 },
          ],
        },
      ]);
      expect(b.assignment()).toEqual([
        { topic: 't', partition: 2 },
        { topic: 't', partition: 3 },
      ]);
      expect(broker.assignment('unknown')).toEqual([]);
    });

    it('round-robin assignor spreads partitions of several topics across members', async () => {
      const { broker } = await setup({ assignor: 'round-robin' });
      broker.createTopic('x', { partitions: 3 });
      broker.createTopic('y', { partitions: 2 });
      const a = await member(broker, 'a');
      const b = await member(broker, 'b');
      await a.subscribe({ groupId: 'g', topics: ['x', 'y'], listener: new Recorder('a') });
      await b.subscribe({ groupId: 'g', topics: ['x', 'y'], listener: new Recorder('b') });
      await broker.settle();
      expect(broker.assignment('g').map((m) => list(m.partitions))).toEqual(['x/0,x/2,y/1', 'x/1,y/0']);
      expect(() => new FakeBroker({ assignor: 'sticky' as 'range' })).toThrow(RangeError);
    });

    it('close(): the leaving member is revoked first, then the other member gets everything', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 2 });
      const log: string[] = [];
      const a = await member(broker, 'a');
      const b = await member(broker, 'b');
      const ra = new Recorder('a', log);
      const rb = new Recorder('b', log);
      await a.subscribe({ groupId: 'g', topics: ['t'], listener: ra });
      const subB = await b.subscribe({ groupId: 'g', topics: ['t'], listener: rb });
      await broker.settle();
      log.length = 0;
      await subB.close();
      expect(log).toEqual(['b revoked t/1', 'b revoked-done t/1']);
      expect(b.memberId).toBeUndefined();
      await broker.settle();
      expect(log.slice(2)).toEqual(['a assigned t/1', 'a assigned-done t/1']);
      await producer.produce([rec('t', 'late', { partition: 1 })]);
      await broker.settle();
      expect(ra.values({ topic: 't', partition: 1 })).toEqual(['late']);
      expect(rb.values({ topic: 't', partition: 1 })).toEqual([]);
      // Closing again is harmless; the transport can join again.
      await subB.close();
      await b.subscribe({ groupId: 'g', topics: ['t'], listener: rb });
      await broker.settle();
      expect(broker.assignment('g').map((m) => m.clientId)).toEqual(['a', 'b']);
      await b.close();
      await broker.settle();
      expect(broker.assignment('g').map((m) => list(m.partitions))).toEqual(['t/0,t/1']);
    });

    it('dropMember: no onRevoked, no waiting for a stuck onBatch; partitions move at once and the member hears nothing more', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 2 });
      const log: string[] = [];
      const a = await member(broker, 'a');
      const b = await member(broker, 'b');
      const ra = new Recorder('a', log);
      const rb = new Recorder('b', log);
      await a.subscribe({ groupId: 'g', topics: ['t'], listener: ra });
      await b.subscribe({ groupId: 'g', topics: ['t'], listener: rb });
      await broker.settle();
      const stuck = deferred();
      ra.onBatchHook = () => stuck.promise;
      await producer.produce([rec('t', 'a0', { partition: 0 })]);
      await new Promise((resolve) => setImmediate(resolve));
      expect(ra.values({ topic: 't', partition: 0 })).toEqual(['a0']);
      log.length = 0;
      await broker.faults.dropMember(a);
      await broker.settle();
      expect(log).toEqual(['b assigned t/0', 'b assigned-done t/0']);
      expect(rb.values({ topic: 't', partition: 0 })).toEqual(['a0']);
      stuck.resolve();
      await producer.produce([rec('t', 'a1', { partition: 0 })]);
      await broker.settle();
      expect(ra.values({ topic: 't', partition: 0 })).toEqual(['a0']);
      expect(rb.values({ topic: 't', partition: 0 })).toEqual(['a0', 'a1']);
      await expect(a.commitOffsets([{ topic: 't', partition: 0, offset: 1 }])).rejects.toThrow(/not a member/);
      await expect(a.seekToBeginning({ topic: 't', partition: 0 })).rejects.toThrow(/not assigned/);
      await a.produce([rec('t', 'a can still produce', { partition: 1 })]);
      await broker.faults.dropMember(a); // already gone: no-op
      await a.close();
    });

    it("dropMember unblocks a rebalance stuck in the dropped member's onRevoked", async () => {
      const { broker } = await setup();
      broker.createTopic('t', { partitions: 2 });
      const a = await member(broker, 'a');
      const b = await member(broker, 'b');
      const ra = new Recorder('a');
      const rb = new Recorder('b');
      await a.subscribe({ groupId: 'g', topics: ['t'], listener: ra });
      await broker.settle();
      ra.onRevokedHook = () => new Promise(() => {}); // never settles, like a frozen process
      const joining = b.subscribe({ groupId: 'g', topics: ['t'], listener: rb });
      await expect(broker.settle({ timeoutMs: 30 })).rejects.toThrow(/waiting for a-\d+: onRevoked/);
      await broker.faults.dropMember(a);
      await joining;
      await broker.settle();
      expect(broker.assignment('g').map((m) => [m.clientId, list(m.partitions)])).toEqual([['b', 't/0,t/1']]);
    });

    it('seekToBeginning resets the position to low and returns the watermarks; only for assigned partitions', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 2 });
      const tp = { topic: 't', partition: 0 };
      await producer.produce([rec('t', 'a', { partition: 0 }), rec('t', 'b', { partition: 0 })]);
      const consumer = await member(broker, 'c');
      const r = new Recorder('c');
      // The engine seeks in onAssigned and sometimes from within onBatch (day rollover).
      let reloaded = false;
      r.onAssignedHook = async (tps) => {
        for (const x of tps)
          expect(await consumer.seekToBeginning(x)).toEqual(x.partition === 0 ? { low: 0, high: 2 } : { low: 0, high: 0 });
      };
      r.onBatchHook = async (batch) => {
        if (!reloaded && batch.partition === 0 && batch.records.length > 0) {
          reloaded = true;
          await consumer.seekToBeginning(batch);
        }
      };
      await consumer.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await broker.settle();
      expect(r.shape(tp)).toEqual(['a,b@2', 'a,b@2', 'EOF@2']);
      expect(consumer.position(tp)).toBe(2);
      await expect(producer.seekToBeginning(tp)).rejects.toThrow(/not assigned/);
      await expect(consumer.seekToBeginning({ topic: 't', partition: 9 })).rejects.toThrow(/unknown partition/);
    });

    it('redelivers a batch whose onBatch rejected (onError told), then stops the partition after maxBatchRetries', async () => {
      const { broker, producer } = await setup({ maxBatchRetries: 2 });
      broker.createTopic('t', { partitions: 1 });
      const tp = { topic: 't', partition: 0 };
      await producer.produce([rec('t', 'a')]);
      const consumer = await member(broker, 'c');
      const r = new Recorder('c');
      let failures = 1;
      r.onBatchHook = (batch) => {
        if (batch.records.length > 0 && failures-- > 0) throw new Error('handler failed once');
      };
      await consumer.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await broker.settle();
      expect(r.shape(tp)).toEqual(['a@1', 'a@1', 'EOF@1']);
      expect(r.errors.map(String)).toEqual(['Error: handler failed once']);

      r.onBatchHook = () => {
        throw new Error('always');
      };
      await producer.produce([rec('t', 'b')]);
      await broker.settle();
      expect(r.shape(tp).slice(3)).toEqual(['b@2', 'b@2', 'b@2']);
      expect(r.errors).toHaveLength(5);
      expect(String(r.errors[4])).toMatch(/rejected 3 times in a row; the FakeBroker stopped delivering/);
      r.onBatchHook = undefined;
      await consumer.seekToBeginning(tp);
      await broker.settle();
      expect(r.shape(tp).slice(6)).toEqual(['a,b@2', 'EOF@2']);
    });

    it('rebalances when a subscribed topic is created later', async () => {
      const { broker, producer } = await setup();
      const consumer = await member(broker, 'c');
      const r = new Recorder('c');
      await consumer.subscribe({ groupId: 'g', topics: ['later'], listener: r });
      await broker.settle();
      expect(consumer.assignment()).toEqual([]);
      broker.createTopic('later', { partitions: 1 });
      await producer.produce([rec('later', 'v')]);
      await broker.settle();
      expect(r.shape({ topic: 'later', partition: 0 })).toEqual(['v@1', 'EOF@1']);
    });

    it('one subscription per member; invalid subscriptions are rejected', async () => {
      const { broker } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const c = await member(broker, 'c');
      await c.subscribe({ groupId: 'g', topics: ['t'], listener: new Recorder('c') });
      await expect(c.subscribe({ groupId: 'g2', topics: ['t'], listener: new Recorder('c') })).rejects.toThrow(/already subscribed/);
      const d = await member(broker, 'd');
      await expect(d.subscribe({ groupId: '', topics: ['t'], listener: new Recorder('d') })).rejects.toThrow(/groupId/);
      await expect(d.subscribe({ groupId: 'g', topics: [], listener: new Recorder('d') })).rejects.toThrow(/topics/);
    });

    it('records offset commits; commits need the partition to be assigned (also during onRevoked)', async () => {
      const { broker } = await setup();
      broker.createTopic('t', { partitions: 2 });
      const a = await member(broker, 'a');
      const b = await member(broker, 'b');
      await expect(a.commitOffsets([{ topic: 't', partition: 0, offset: 1 }])).rejects.toThrow(/not a member/);
      const ra = new Recorder('a');
      await a.subscribe({ groupId: 'g', topics: ['t'], listener: ra });
      await broker.settle();
      await a.commitOffsets([
        { topic: 't', partition: 0, offset: 3 },
        { topic: 't', partition: 1, offset: 0 },
      ]);
      ra.onRevokedHook = async (tps) => {
        await a.commitOffsets(tps.map((tp) => ({ ...tp, offset: 7 })));
      };
      await b.subscribe({ groupId: 'g', topics: ['t'], listener: new Recorder('b') });
      await broker.settle();
      await expect(a.commitOffsets([{ topic: 't', partition: 1, offset: 8 }])).rejects.toThrow(/not assigned/);
      await expect(a.commitOffsets([{ topic: 't', partition: 0, offset: -1 }])).rejects.toThrow(/invalid offset/);
      expect(broker.commits).toEqual([
        {
          groupId: 'g',
          memberId: a.memberId,
          clientId: 'a',
          offsets: [
            { topic: 't', partition: 0, offset: 3 },
            { topic: 't', partition: 1, offset: 0 },
          ],
        },
        { groupId: 'g', memberId: a.memberId, clientId: 'a', offsets: [{ topic: 't', partition: 1, offset: 7 }] },
      ]);
      expect(broker.committedOffset('g', { topic: 't', partition: 1 })).toBe(7);
      expect(broker.committedOffset('g', { topic: 't', partition: 0 })).toBe(3);
      expect(broker.committedOffset('other', { topic: 't', partition: 0 })).toBeUndefined();
    });

    it('keeps delivering while vitest fake timers are installed', async () => {
      const { vi } = await import('vitest');
      vi.useFakeTimers();
      try {
        const { broker, producer } = await setup();
        broker.createTopic('t', { partitions: 1 });
        await producer.produce([rec('t', 'v')]);
        const c = await member(broker, 'c');
        const r = new Recorder('c');
        await c.subscribe({ groupId: 'g', topics: ['t'], listener: r });
        await broker.idle();
        expect(r.shape({ topic: 't', partition: 0 })).toEqual(['v@1', 'EOF@1']);
      } finally {
        vi.useRealTimers();
      }
    });
  });

  describe('seek and openReader', () => {
    it('seek clamps into [low, high] and the next delivery starts there', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      await producer.produce(['a', 'b', 'c', 'd'].map((v) => rec('t', v, { partition: 0 })));
      broker.deleteRecords({ topic: 't', partition: 0 }, 1);
      const m = await member(broker, 'm');
      const r = new Recorder('m');
      await m.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await broker.settle();
      const tp = { topic: 't', partition: 0 };
      expect(r.shape(tp)).toEqual(['b,c,d@4', 'EOF@4']);
      expect(await m.seek(tp, 2)).toEqual({ low: 1, high: 4 });
      await broker.settle();
      expect(r.shape(tp).slice(2)).toEqual(['c,d@4', 'EOF@4']);
      expect(await m.seek(tp, 0)).toEqual({ low: 1, high: 4 });
      await broker.settle();
      expect(r.shape(tp).slice(4)).toEqual(['b,c,d@4', 'EOF@4']);
      expect(await m.seek(tp, 99)).toEqual({ low: 1, high: 4 });
      await broker.settle();
      expect(r.shape(tp).slice(6)).toEqual(['EOF@4']);
      expect(m.position(tp)).toBe(4);
      await expect(m.seek(tp, 1.5)).rejects.toSatisfy(TransportError.isInstance);
      await expect(producer.seek(tp, 0)).rejects.toSatisfy(TransportError.isInstance);
      await m.close();
    });

    it('a reader reads committed records only, outside the group, and rejects for a missing topic or partition', async () => {
      const { broker, producer } = await setup({ maxBatchSize: 2 });
      broker.createTopic('t', { partitions: 1 });
      const tp = { topic: 't', partition: 0 };
      await producer.produce([rec('t', 'a', { partition: 0 })]);
      const txp = await producer.createTransactionalProducer('tx');
      await txp.init();
      broker.faults.failTransactionCommit({ transactionalId: 'tx' });
      await expect(txp.sendInTransaction([rec('t', 'aborted', { partition: 0 })])).rejects.toBeDefined();
      await txp.sendInTransaction([rec('t', 'b', { partition: 0 }), rec('t', 'c', { partition: 0 })]);
      expect(broker.watermarks(tp)).toMatchObject({ low: 0, high: 6 });
      const reader = await producer.openReader(tp, { fromOffset: -5 });
      expect(reader.position).toBe(0);
      const b1 = await reader.read();
      expect(b1.records.map((x) => text(x.value))).toEqual(['a', 'b']);
      expect(b1.position).toBe(4);
      const b2 = await reader.read();
      expect(b2.records.map((x) => text(x.value))).toEqual(['c']);
      expect(b2.position).toBe(6); // past the commit marker
      expect(await reader.read()).toMatchObject({ records: [], position: 6, highWatermark: 6 });
      expect(broker.assignment('g')).toEqual([]);
      await expect(producer.openReader({ topic: 'nope', partition: 0 }, { fromOffset: 0 })).rejects.toSatisfy(TransportError.isInstance);
      await expect(producer.openReader({ topic: 't', partition: 1 }, { fromOffset: 0 })).rejects.toSatisfy(TransportError.isInstance);
      await reader.close();
    });

    it('close() rejects a pending read; overlapping reads and reads after the transport closed reject', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tp = { topic: 't', partition: 0 };
      const reader = await producer.openReader(tp, { fromOffset: 0 });
      const pending = reader.read();
      await expect(reader.read()).rejects.toSatisfy(TransportError.isInstance);
      await reader.close();
      await expect(pending).rejects.toSatisfy(TransportError.isInstance);
      await reader.close();
      await expect(reader.read()).rejects.toSatisfy(TransportError.isInstance);
      const other = await producer.openReader(tp, { fromOffset: 0 });
      await producer.close();
      expect(other.closed).toBe(true);
      await expect(other.read()).rejects.toSatisfy(TransportError.isInstance);
    });
  });

  describe('readSpeed', () => {
    const tp = { topic: 't', partition: 0 };
    const RECORDS = 10_000;
    const RATE = 1_000; // records per second: the whole partition takes 10 s of fake time

    async function slowBroker(readSpeed: FakeReadSpeed): Promise<{ broker: FakeBroker; producer: FakeTransport; clock: FakeClock }> {
      const clock = new FakeClock({ now: T0 });
      const { broker, producer } = await setup({ clock, readSpeed });
      broker.createTopic('t', { partitions: 1 });
      await producer.produce(Array.from({ length: RECORDS }, (_, i) => rec('t', `v${i}`, { partition: 0, key: `k${i}` })));
      return { broker, producer, clock };
    }

    it('needs a clock with timers, and valid numbers', () => {
      expect(() => new FakeBroker({ readSpeed: { recordsPerSecond: 10 } })).toThrow(/readSpeed needs a clock with timers/);
      expect(() => new FakeBroker({ clock: { now: () => T0 }, readSpeed: { recordsPerSecond: 10 } })).toThrow(TypeError);
      const clock = new FakeClock({ now: T0 });
      expect(() => new FakeBroker({ clock, readSpeed: { recordsPerSecond: 0 } })).toThrow(RangeError);
      expect(() => new FakeBroker({ clock, readSpeed: { fetchLatencyMs: -1 } })).toThrow(RangeError);
      expect(() => new FakeBroker({ clock, readSpeed: {} })).not.toThrow();
    });

    it('a group member gets a 10,000-record partition only once the clock advanced 10,000 / recordsPerSecond s', async () => {
      const { broker, clock } = await slowBroker({ recordsPerSecond: RATE });
      const m = await member(broker, 'm');
      const r = new Recorder('m');
      await m.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await broker.settle(); // waiting for read time is not busy
      const delivered = (): number => r.values(tp).length;
      expect(delivered()).toBe(0);
      await clock.tickAsync(5_000);
      expect(delivered()).toBeGreaterThan(0);
      expect(delivered()).toBeLessThan(RECORDS);
      await clock.tickAsync((RECORDS / RATE) * 1000 - 5_000 - 1);
      expect(delivered()).toBeLessThan(RECORDS);
      await clock.tickAsync(1);
      expect(delivered()).toBe(RECORDS);
      expect(r.shape(tp).at(-1)).toBe(`EOF@${RECORDS}`);
      await m.close();
    });

    it('a reader reads a 10,000-record partition only as the clock advances 10,000 / recordsPerSecond s', async () => {
      const { producer, clock } = await slowBroker({ recordsPerSecond: RATE });
      const reader = await producer.openReader(tp, { fromOffset: 0 });
      let read = 0;
      let done = false;
      const loop = (async () => {
        for (;;) {
          const batch = await reader.read();
          read += batch.records.length;
          if (batch.position >= RECORDS) break;
        }
        done = true;
      })();
      await clock.tickAsync(5_000);
      expect(read).toBeGreaterThan(0);
      expect(read).toBeLessThan(RECORDS);
      await clock.tickAsync((RECORDS / RATE) * 1000 - 5_000 - 1);
      expect(done).toBe(false);
      await clock.tickAsync(1);
      expect(done).toBe(true);
      await loop;
      expect(read).toBe(RECORDS);
      await reader.close();
    });

    it('fetchLatencyMs delays every fetch, EOF answers included', async () => {
      const clock = new FakeClock({ now: T0 });
      const { broker, producer } = await setup({ clock, readSpeed: { recordsPerSecond: 100, fetchLatencyMs: 50 } });
      broker.createTopic('t', { partitions: 1 });
      await producer.produce([rec('t', 'a', { partition: 0 }), rec('t', 'b', { partition: 0 })]);
      const reader = await producer.openReader(tp, { fromOffset: 0 });
      let batch: PartitionBatch | undefined;
      void reader.read().then((b) => (batch = b));
      await clock.tickAsync(69); // 2 records at 100/s = 20 ms, + 50 ms
      expect(batch).toBeUndefined();
      await clock.tickAsync(1);
      expect(batch?.records.map((x) => text(x.value))).toEqual(['a', 'b']);
      batch = undefined;
      void reader.read().then((b) => (batch = b));
      await clock.tickAsync(49);
      expect(batch).toBeUndefined();
      await clock.tickAsync(1);
      expect(batch).toMatchObject({ records: [], position: 2 });
      await reader.close();
    });

    it('a seek or revocation during a fetch discards its batch', async () => {
      const { broker, clock } = await slowBroker({ recordsPerSecond: RATE });
      const m = await member(broker, 'm');
      const r = new Recorder('m');
      await m.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await broker.settle(); // the first 500 records are on their way (500 ms)
      await m.seek(tp, RECORDS - 100);
      await broker.settle();
      await clock.tickAsync(1_000);
      expect(r.shape(tp)[0]).toMatch(new RegExp(`^v${RECORDS - 100},.*@${RECORDS}$`));
      await m.seek(tp, 0);
      await broker.settle();
      const before = r.batches.length;
      await m.close(); // revokes at once, without waiting for the fetch's read time
      await clock.tickAsync(1_000);
      expect(r.batches.length).toBe(before);
    });
  });

  describe('faults', () => {
    it('failProduce fails the nth matching record, `times` in a row; earlier records of the call are written', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      broker.createTopic('other', { partitions: 1 });
      const fault = broker.faults.failProduce({ topic: 't', nth: 2, times: 2 });
      const error = await producer.produce([rec('other', 'o'), rec('t', '1'), rec('t', '2'), rec('t', '3')]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(TransportError.isInstance(error)).toBe(true);
      expect((error as TransportError).retriable).toBe(true);
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['1']);
      expect(broker.readCommitted('other')).toHaveLength(1);
      await expect(producer.produce([rec('t', '4')])).rejects.toThrow(/injected/);
      expect(fault.triggered).toBe(2);
      expect(fault.exhausted).toBe(true);
      await producer.produce([rec('t', '5')]);
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['1', '5']);
    });

    it('failProduce takes a custom error (or factory), a source filter, and can be removed', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const custom = new Error('disk full');
      broker.faults.failProduce({ error: custom });
      await expect(producer.produce([rec('t', 'x')])).rejects.toBe(custom);
      let made = 0;
      broker.faults.failProduce({ error: () => new Error(`made ${++made}`), times: Number.POSITIVE_INFINITY, source: 'produceNoWait' });
      await producer.produce([rec('t', 'not affected')]);
      const errors: unknown[] = [];
      producer.produceNoWait([rec('t', 'y')], (e) => errors.push(e));
      producer.produceNoWait([rec('t', 'z')], (e) => errors.push(e));
      await Promise.resolve();
      expect(errors.map(String)).toEqual(['Error: made 1', 'Error: made 2']);
      const removable = broker.faults.failProduce({ times: Number.POSITIVE_INFINITY });
      removable.remove();
      removable.remove();
      expect(removable.exhausted).toBe(true);
      await producer.produce([rec('t', 'fine')]);
      expect(() => broker.faults.failProduce({ nth: 0 })).toThrow(RangeError);
      expect(() => broker.faults.failProduce({ times: 0 })).toThrow(RangeError);
    });

    it('failTransactionCommit counts matching commits (nth) and only for its transactional id', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const x = await producer.createTransactionalProducer('x');
      const y = await producer.createTransactionalProducer('y');
      await x.init();
      await y.init();
      broker.faults.failTransactionCommit({ transactionalId: 'x', nth: 2 });
      await x.sendInTransaction([rec('t', 'x1')]);
      await y.sendInTransaction([rec('t', 'y1')]);
      await expect(x.sendInTransaction([rec('t', 'x2')])).rejects.toThrow(/injected transaction commit failure/);
      await x.sendInTransaction([rec('t', 'x3')]);
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['x1', 'y1', 'x3']);
    });

    it('pauseTransactionBeforeCommit holds the nth transaction; release() before it is reached disarms it', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tx = await producer.createTransactionalProducer('tx');
      await tx.init();
      const second = broker.faults.pauseTransactionBeforeCommit('tx', { nth: 2 });
      await tx.sendInTransaction([rec('t', '1')]);
      const sending = tx.sendInTransaction([rec('t', '2')]);
      await second.reached;
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['1']);
      second.release();
      await sending;
      const disarmed = broker.faults.pauseTransactionBeforeCommit('tx');
      disarmed.release();
      await tx.sendInTransaction([rec('t', '3')]);
      expect(disarmed.paused).toBe(false);
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['1', '2', '3']);
      expect(() => broker.faults.pauseTransactionBeforeCommit('tx', { nth: 0 })).toThrow(RangeError);
    });

    it('clear() removes every fault and releases held transactions', async () => {
      const { broker, producer } = await setup();
      broker.createTopic('t', { partitions: 1 });
      const tx = await producer.createTransactionalProducer('tx');
      await tx.init();
      const produceFault = broker.faults.failProduce({ source: 'produce', times: Number.POSITIVE_INFINITY });
      broker.faults.failTransactionCommit({ times: Number.POSITIVE_INFINITY });
      const pause = broker.faults.pauseTransactionBeforeCommit('tx');
      const sending = tx.sendInTransaction([rec('t', 'held')]);
      await pause.reached;
      broker.faults.clear();
      await sending;
      expect(produceFault.exhausted).toBe(true);
      await producer.produce([rec('t', 'free')]);
      expect(broker.readCommitted('t').map((r) => text(r.value))).toEqual(['held', 'free']);
    });

    it('settle() names what keeps the broker busy', async () => {
      const clock = new FakeClock({ now: T0 });
      const { broker, producer } = await setup({ clock });
      broker.createTopic('t', { partitions: 1 });
      await producer.produce([rec('t', 'v')]);
      const c = await member(broker, 'c');
      const r = new Recorder('c');
      // An onBatch waiting for a FakeClock timer never settles by itself.
      r.onBatchHook = (batch) => (batch.records.length > 0 ? new Promise<void>((resolve) => clock.setTimeout(resolve, 1000)) : undefined);
      await c.subscribe({ groupId: 'g', topics: ['t'], listener: r });
      await expect(broker.settle({ timeoutMs: 20 })).rejects.toThrow(
        /FakeBroker\.settle: still busy after 20 ms: c-\d+ t\/0: onBatch has not settled/,
      );
      await clock.tickAsync(1000);
      await broker.settle();
      expect(r.shape({ topic: 't', partition: 0 })).toEqual(['v@1', 'EOF@1']);
    });
  });
});

describe('FakeBroker.appendRaw (a header name given more than once)', () => {
  it('delivers the last value of each name and lists the names given with different values, as the adapters do', async () => {
    const { broker } = await setup();
    broker.createTopic('t', { partitions: 2 });
    const meta = broker.appendRaw({
      topic: 't',
      key: 'k',
      value: 'v',
      partition: 1,
      headers: [
        ['type', 'schedule'],
        ['same', 'x'],
        ['type', 'cancel'],
        ['same', new TextEncoder().encode('x')],
        ['type', 'cancel'],
      ],
    });
    expect(meta).toEqual({ topic: 't', partition: 1, offset: 0 });
    const plain = broker.appendRaw({ topic: 't', key: 'k', value: 'v', partition: 1, headers: [['a', '1']] });
    const c = await member(broker, 'c');
    const r = new Recorder('c');
    await c.subscribe({ groupId: 'g', topics: ['t'], listener: r });
    await broker.settle();
    const [first, second] = r.batches.filter((b) => b.partition === 1).flatMap((b) => b.records);
    expect(first!.headers).toEqual({ type: 'cancel', same: new TextEncoder().encode('x') });
    expect(first!.repeatedHeaders).toEqual(['type']);
    expect(second!.offset).toBe(plain.offset);
    expect('repeatedHeaders' in second!).toBe(false);
    expect(broker.records('t', 1).map((x) => x.repeatedHeaders)).toEqual([['type'], undefined]);
    expect(broker.produced.map((x) => [x.clientId, x.repeatedHeaders])).toEqual([
      ['fake-broker', ['type']],
      ['fake-broker', undefined],
    ]);
    expect(() => broker.appendRaw({ topic: 't', key: 'k', value: 'v', headers: [['a', 1 as never]] })).toThrow(TransportError);
    expect(() => broker.appendRaw({ topic: 'missing', key: 'k', value: 'v' })).toThrow(TransportError);
  });
});
