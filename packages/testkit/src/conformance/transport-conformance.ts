/**
 * The `Transport` contract as a vitest suite. Every adapter runs it: the FakeBroker on every test
 * run, the real adapters against the local broker in integration runs.
 *
 * @module
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import { FencedError, partitionForKey, SchedulerError, TransportError } from '@ksched/core';
import type {
  ConsumedRecord,
  GroupListener,
  HeaderValue,
  PartitionBatch,
  PartitionReader,
  ProduceRecord,
  RecordMetadata,
  Subscription,
  TopicPartition,
  TransactionalProducer,
  Transport,
} from '@ksched/core';

// Real timers captured at load time: the suite waits in real time even if a test file fakes timers.
const realSetTimeout = globalThis.setTimeout;
const encoder = new TextEncoder();

/** A transaction left open by {@link ConformanceHarness.openTransaction}. */
export interface OpenTransaction {
  /** Commits it; resolves once the commit is acknowledged. */
  commit(): Promise<void>;
  /** Aborts it; resolves once the abort is acknowledged. */
  abort(): Promise<void>;
}

/**
 * What the conformance suite needs beyond the `Transport` port. The factory given to
 * {@link describeTransportConformance} creates one harness per suite run.
 */
export interface ConformanceHarness {
  /** A new group member, not yet connected. The suite connects it and closes it after each test. */
  createTransport(): Promise<Transport>;
  /**
   * Creates a topic with a unique name chosen by the suite; resolves once producers and consumers
   * can use it (on a real broker: after the metadata has propagated).
   */
  createTopic(name: string, partitions: number, options?: { readonly compacted?: boolean }): Promise<void>;
  /**
   * Compacts a compacted topic now; resolves once consumers see the result. Optional: cases that
   * need it are skipped with a note when absent. A real-broker harness should rather provide
   * {@link ConformanceHarness.deleteRecords}: Kafka's cleaner runs when it likes, and Kafka keeps
   * the low watermark where it was after compaction (the FakeBroker moves it to the first survivor).
   */
  compact?(topic: string): Promise<void>;
  /**
   * Removes every record of a partition below `beforeOffset` (Kafka's DeleteRecords admin call),
   * moving its low watermark there. Optional; when absent, the "low > 0" case uses `compact`.
   */
  deleteRecords?(tp: TopicPartition, beforeOffset: number): Promise<void>;
  /**
   * Writes `records` in a transaction of `transactionalId` and leaves it open (neither committed
   * nor aborted) until the returned handle says so. Optional: the open-transaction case is skipped
   * when absent, and the aborted-transaction case falls back to a send that fails mid-transaction.
   */
  openTransaction?(transactionalId: string, records: readonly ProduceRecord[]): Promise<OpenTransaction>;
  /** Releases everything the harness created (topics, admin clients). Called once after the suite. */
  cleanup(): Promise<void>;
  /** How long the suite waits for something to happen, real ms. Defaults to 4000 (raise it for a real broker). */
  readonly timeoutMs?: number;
  /** Prefix of the topic, group and transactional id names. Defaults to `ksched-conformance`. */
  readonly namePrefix?: string;
}

/** Options of {@link describeTransportConformance}. */
export interface ConformanceOptions {
  /** Per-test timeout for vitest, ms. Defaults to the vitest configuration. */
  readonly testTimeoutMs?: number;
}

/** Wire vectors (`wire-v1.json`, "partitioner"): Java-compatible murmur2 partitioning. */
const PARTITIONER_VECTORS: readonly { readonly key: string; readonly partitions: number; readonly partition: number }[] = [
  { key: '21', partitions: 5, partition: 0 },
  { key: '21', partitions: 12, partition: 0 },
  { key: 'foobar', partitions: 5, partition: 1 },
  { key: 'foobar', partitions: 12, partition: 6 },
  { key: 'abc', partitions: 5, partition: 2 },
  { key: 'abc', partitions: 12, partition: 3 },
  { key: 'order-42-reminder', partitions: 5, partition: 0 },
  { key: 'order-42-reminder', partitions: 12, partition: 0 },
  { key: 'customer-9', partitions: 5, partition: 0 },
  { key: 'customer-9', partitions: 12, partition: 11 },
  { key: '3', partitions: 5, partition: 3 },
  { key: '3', partitions: 12, partition: 11 },
  { key: 'orders-5b1c0f9e-2f5e-4c51-9d55-0f6f1a8c3b7e', partitions: 5, partition: 1 },
  { key: 'orders-5b1c0f9e-2f5e-4c51-9d55-0f6f1a8c3b7e', partitions: 12, partition: 9 },
];

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, ms));
}

function bytes(value: HeaderValue | null | undefined): number[] | null | undefined {
  if (value === null || value === undefined) return value;
  return Array.from(typeof value === 'string' ? encoder.encode(value) : value);
}

function text(value: Uint8Array | null): string | null {
  return value === null ? null : new TextDecoder().decode(value);
}

function key(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}

function isUnsupported(error: unknown): boolean {
  return SchedulerError.isInstance(error) && error.code === 'KSM_UNSUPPORTED';
}

type Event = { readonly seq: number; readonly kind: 'assigned' | 'revoked'; readonly tp: string };

/** A listener that records everything and checks the callback-ordering rules as it goes. */
class Collector implements GroupListener {
  readonly batches: PartitionBatch[] = [];
  readonly events: Event[] = [];
  readonly owned = new Set<string>();
  readonly violations: string[] = [];
  readonly errors: unknown[] = [];
  readonly #settling = new Set<string>();
  readonly #inBatch = new Set<string>();
  readonly #sequence: { value: number };
  readonly #transport: Transport;
  /** Runs inside onAssigned, e.g. to produce to the partitions while the assignment settles. */
  duringAssign: ((partitions: readonly TopicPartition[]) => Promise<void>) | undefined;

  constructor(sequence: { value: number }, transport: Transport) {
    this.#sequence = sequence;
    this.#transport = transport;
  }

  async onAssigned(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      this.events.push({ seq: ++this.#sequence.value, kind: 'assigned', tp: key(tp) });
      this.#settling.add(key(tp));
    }
    // Like the engine: every assigned partition is read from its logical beginning.
    for (const tp of partitions) {
      const wm = await this.#transport.seekToBeginning(tp);
      if (!(wm.low <= wm.high)) this.violations.push(`seekToBeginning(${key(tp)}) in onAssigned returned low > high`);
    }
    await this.duringAssign?.(partitions);
    // Give a broken transport the chance to deliver before onAssigned settled.
    await sleep(20);
    for (const tp of partitions) {
      this.#settling.delete(key(tp));
      this.owned.add(key(tp));
    }
  }

  async onRevoked(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      this.events.push({ seq: ++this.#sequence.value, kind: 'revoked', tp: key(tp) });
      this.owned.delete(key(tp));
    }
  }

  async onBatch(batch: PartitionBatch): Promise<void> {
    const k = key(batch);
    if (this.#settling.has(k)) this.violations.push(`batch for ${k} before onAssigned settled`);
    else if (!this.owned.has(k)) this.violations.push(`batch for ${k}, which is not assigned`);
    if (this.#inBatch.has(k)) this.violations.push(`batch for ${k} while onBatch for the previous one had not settled`);
    for (const record of batch.records) {
      if (key(record) !== k) this.violations.push(`record of ${key(record)} in a batch of ${k}`);
    }
    this.#inBatch.add(k);
    this.batches.push(batch);
    await sleep(1);
    this.#inBatch.delete(k);
  }

  onError(error: unknown): void {
    this.errors.push(error);
  }

  /** Records delivered for a partition, in delivery order, from batch index `from` on. */
  records(tp: TopicPartition, from = 0): ConsumedRecord[] {
    return this.batches
      .slice(from)
      .filter((b) => key(b) === key(tp))
      .flatMap((b) => b.records);
  }

  values(tp: TopicPartition, from = 0): (string | null)[] {
    return this.records(tp, from).map((r) => text(r.value));
  }

  /** Index of the first EOF notice (no records) for `tp` with `position >= atLeast`, from batch `from`; -1 if none. */
  eofIndex(tp: TopicPartition, atLeast: number, from = 0): number {
    for (let i = from; i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (key(b) === key(tp) && b.records.length === 0 && b.position >= atLeast) return i;
    }
    return -1;
  }

  lastSeq(kind: Event['kind'], tp: string): number {
    let seq = -1;
    for (const e of this.events) if (e.kind === kind && e.tp === tp) seq = e.seq;
    return seq;
  }
}

/**
 * Declares the `Transport` conformance suite (vitest `describe`/`it`) for one adapter. `factory`
 * is called once before the suite; every test uses fresh topics, groups and transactional ids,
 * waits by polling (no fixed sleeps), and closes the transports it opened. Like the engine, the
 * suite's listener calls `seekToBeginning` in `onAssigned`, so where an adapter starts a newly
 * assigned partition is not part of the contract.
 *
 * Cases: per-partition ordering, header/key/value/null round trip, watermarks, produce
 * visibility, partitioner agreement with the wire vectors, EOF notices (empty partition, log
 * ending in a commit marker, new records after EOF), seekToBeginning (also after the head of the
 * log was removed), seek (middle, below low, beyond high, unowned partition), openReader (whole
 * log, trailing commit marker, aborted transactions, from a middle offset or below low, alongside
 * group members and for unowned partitions, live records, close), compaction, read committed (aborted and open transactions), fencing, group
 * assignment and revocation, produceNoWait and commitOffsets. Cases needing an optional harness
 * hook, or transactions from an adapter without them, are skipped with a note.
 *
 * @example
 * ```ts
 * describeTransportConformance('kafkajs', async () => ({
 *   createTransport: async () => createKafkaJsTransport({ brokers }),
 *   createTopic: (name, partitions, { compacted } = {}) => admin.createTopic(name, partitions, compacted),
 *   deleteRecords: (tp, offset) => admin.deleteRecords(tp, offset),
 *   cleanup: () => admin.close(),
 *   timeoutMs: 60_000,
 * }), { testTimeoutMs: 120_000 });
 * ```
 */
export function describeTransportConformance(
  name: string,
  factory: () => Promise<ConformanceHarness>,
  options: ConformanceOptions = {},
): void {
  describe(`Transport conformance: ${name}`, () => {
    let harness: ConformanceHarness | undefined;
    const toClose: Transport[] = [];
    const readers: PartitionReader[] = [];
    const producers: TransactionalProducer[] = [];
    const sequence = { value: 0 };
    const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
    let names = 0;

    const h = (): ConformanceHarness => {
      if (harness === undefined) throw new Error('the conformance harness factory failed');
      return harness;
    };
    const timeoutMs = (): number => h().timeoutMs ?? 4000;
    const unique = (label: string): string => `${h().namePrefix ?? 'ksched-conformance'}-${label}-${run}-${++names}`;

    async function waitUntil(check: () => boolean | Promise<boolean>, what: string | (() => string)): Promise<void> {
      const deadline = Date.now() + timeoutMs();
      for (;;) {
        if (await check()) return;
        if (Date.now() > deadline) {
          throw new Error(`timed out after ${timeoutMs()} ms waiting for ${typeof what === 'string' ? what : what()}`);
        }
        await sleep(5);
      }
    }

    async function topic(label: string, partitions: number, compacted = false): Promise<string> {
      const topicName = unique(label);
      await h().createTopic(topicName, partitions, { compacted });
      return topicName;
    }

    async function transport(): Promise<Transport> {
      const t = await h().createTransport();
      toClose.push(t);
      expect(t.specificationVersion).toBe('v1');
      await t.connect();
      return t;
    }

    /** A transactional producer, or a skipped test when the adapter has no transactions. */
    async function transactional(ctx: TestContext, t: Transport, transactionalId: string): Promise<TransactionalProducer> {
      try {
        const producer = await t.createTransactionalProducer(transactionalId);
        producers.push(producer);
        return producer;
      } catch (error) {
        if (isUnsupported(error)) return ctx.skip(`${name} does not support transactions (KSM_UNSUPPORTED)`);
        throw error;
      }
    }

    interface Consumer {
      readonly transport: Transport;
      readonly collector: Collector;
      readonly subscription: Subscription;
    }

    /** A new member consuming `topicNames` in a fresh group, once it owns all their partitions. */
    async function consume(...topicNames: string[]): Promise<Consumer> {
      const t = await transport();
      const collector = new Collector(sequence, t);
      const subscription = await t.subscribe({ groupId: unique('group'), topics: topicNames, listener: collector });
      let total = 0;
      for (const topicName of topicNames) total += await t.partitionCount(topicName);
      await waitUntil(
        () => collector.owned.size === total,
        () => `assignment of ${total} partitions (got ${collector.owned.size})`,
      );
      return { transport: t, collector, subscription };
    }

    /**
     * The end offset once it has reached `atLeast`. After a transaction commits, the coordinator
     * writes the markers a moment after EndTxn has answered, so a read-committed end offset read
     * at once may still stop before them.
     */
    async function settledEnd(t: Transport, tp: TopicPartition, atLeast: number): Promise<{ low: number; high: number }> {
      let wm = await t.fetchWatermarks(tp);
      await waitUntil(
        async () => (wm = await t.fetchWatermarks(tp)).high >= atLeast,
        () => `the end offset of ${key(tp)} to reach ${atLeast} (at ${wm.high})`,
      );
      return wm;
    }

    async function waitForEof(c: Collector, tp: TopicPartition, atLeast: number, from = 0): Promise<number> {
      let index = -1;
      await waitUntil(
        () => (index = c.eofIndex(tp, atLeast, from)) >= 0,
        () =>
          `an EOF notice for ${key(tp)} at position >= ${atLeast} (batches: ${JSON.stringify(
            c.batches
              .slice(from)
              .filter((b) => key(b) === key(tp))
              .map((b) => ({ records: b.records.length, position: b.position })),
          )})`,
      );
      return index;
    }

    /** Index of the first batch (from `from`) delivering the record at `offset` of `tp`, once there is one. */
    async function waitForRecord(c: Collector, tp: TopicPartition, offset: number, from = 0): Promise<number> {
      const find = (): number => {
        for (let i = from; i < c.batches.length; i++) {
          const b = c.batches[i]!;
          if (key(b) === key(tp) && b.records.some((r) => r.offset === offset)) return i;
        }
        return -1;
      };
      let index = -1;
      await waitUntil(
        () => (index = find()) >= 0,
        () => `the record at offset ${offset} of ${key(tp)} (delivered since: ${JSON.stringify(c.records(tp, from).map((r) => r.offset))})`,
      );
      return index;
    }

    /** A reader closed after the test. */
    async function openReader(t: Transport, tp: TopicPartition, fromOffset: number): Promise<PartitionReader> {
      const reader = await t.openReader(tp, { fromOffset });
      readers.push(reader);
      return reader;
    }

    /** `reader.read()`, failing the test with a clear message when it does not settle in time. */
    async function read(reader: PartitionReader): Promise<PartitionBatch> {
      let timer: ReturnType<typeof realSetTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = realSetTimeout(() => reject(new Error(`read() of ${key(reader)} did not settle within ${timeoutMs()} ms`)), timeoutMs());
      });
      try {
        return await Promise.race([reader.read(), timeout]);
      } finally {
        clearTimeout(timer);
      }
    }

    /**
     * Reads until the reader's position reaches `end`, checking each batch on the way (its
     * partition, offset order, `position` past its records and never moving back).
     */
    async function readUntil(reader: PartitionReader, end: number): Promise<{ records: ConsumedRecord[]; batches: PartitionBatch[] }> {
      const records: ConsumedRecord[] = [];
      const batches: PartitionBatch[] = [];
      const deadline = Date.now() + timeoutMs();
      let position = -1;
      while (position < end) {
        if (Date.now() > deadline) {
          throw new Error(
            `timed out after ${timeoutMs()} ms reading ${key(reader)} up to ${end} (at ${position}, ${records.length} records)`,
          );
        }
        const batch = await read(reader);
        expect(key(batch), 'a reader batch is of the reader partition').toBe(key(reader));
        for (const record of batch.records) {
          expect(key(record)).toBe(key(reader));
          const previous = records[records.length - 1];
          if (previous) expect(record.offset, 'reader records in offset order').toBeGreaterThan(previous.offset);
          records.push(record);
        }
        const lastRecord = batch.records[batch.records.length - 1];
        if (lastRecord) expect(batch.position, 'position past the batch records').toBeGreaterThan(lastRecord.offset);
        expect(batch.position, 'a reader position never moves back').toBeGreaterThanOrEqual(position);
        position = batch.position;
        batches.push(batch);
      }
      return { records, batches };
    }

    /** Writes `records` in a transaction that is aborted (or fails mid-way, without `openTransaction`). */
    /**
     * A one-partition topic of `key=value` records read to its end by a consumer, then its head
     * removed: DeleteRecords below `deleteBefore` (an index into the records) or, without it, a
     * compaction (which removes the superseded head). `undefined` (the case is skipped) when the
     * harness can do neither.
     */
    async function withHeadRemoved(ctx: TestContext, label: string, values: readonly string[], deleteBefore: number) {
      const hk = h();
      const removal = hk.deleteRecords ? 'deleteRecords' : hk.compact ? 'compact' : undefined;
      if (removal === undefined) {
        ctx.skip(`the ${name} harness has neither deleteRecords() nor compact()`);
        return undefined;
      }
      const t1 = await topic(label, 1, removal === 'compact');
      const t = await transport();
      const tp = { topic: t1, partition: 0 };
      const metas = await t.produce(values.map((kv) => ({ topic: t1, partition: 0, key: kv.split('=')[0]!, value: kv })));
      const consumer = await consume(t1);
      await waitForEof(consumer.collector, tp, (await settledEnd(t, tp, metas[metas.length - 1]!.offset + 1)).high);
      if (removal === 'deleteRecords') await hk.deleteRecords!(tp, metas[deleteBefore]!.offset);
      else await hk.compact!(t1);
      return { removal, t, tp, metas, consumer };
    }

    /**
     * A one-partition topic holding committed c1, c2, an aborted transaction (x1, x2) and committed
     * c3, with its settled watermarks: what a read-committed reader must see as c1, c2, c3.
     */
    async function committedAroundAborted(
      ctx: TestContext,
      label: string,
    ): Promise<{ readonly t: Transport; readonly tp: TopicPartition; readonly wm: { low: number; high: number } }> {
      const t1 = await topic(label, 1);
      const t = await transport();
      const tp = { topic: t1, partition: 0 };
      const committer = await transactional(ctx, t, unique('txn'));
      await committer.init();
      await committer.sendInTransaction([
        { topic: t1, partition: 0, key: 'k', value: 'c1' },
        { topic: t1, partition: 0, key: 'k', value: 'c2' },
      ]);
      await abortedTransaction(ctx, t, [
        { topic: t1, partition: 0, key: 'x', value: 'x1' },
        { topic: t1, partition: 0, key: 'x', value: 'x2' },
      ]);
      const [c3] = await committer.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'c3' }]);
      return { t, tp, wm: await settledEnd(t, tp, c3!.offset + 2) };
    }

    async function abortedTransaction(ctx: TestContext, t: Transport, records: readonly ProduceRecord[]): Promise<void> {
      const open = h().openTransaction;
      if (open) {
        const txn = await open.call(h(), unique('txn'), records);
        await txn.abort();
        return;
      }
      // A send that fails mid-transaction must abort the records already sent.
      const failing = await transactional(ctx, t, unique('txn'));
      await failing.init();
      const first = records[0];
      const error = await failing
        .sendInTransaction([...records, { topic: first?.topic ?? 'missing', partition: 999, key: 'x', value: 'bad partition' }])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(error).toBeDefined();
    }

    function expectNoViolations(...collectors: Collector[]): void {
      for (const c of collectors) {
        expect(c.violations).toEqual([]);
        expect(c.errors).toEqual([]);
      }
    }

    const test = (title: string, fn: (ctx: TestContext) => Promise<void>): void => {
      it(title, fn, options.testTimeoutMs);
    };

    beforeAll(async () => {
      harness = await factory();
    });

    afterEach(async () => {
      for (const r of readers.splice(0)) await r.close().catch(() => {});
      for (const p of producers.splice(0)) await p.close().catch(() => {});
      for (const t of toClose.splice(0).reverse()) await t.close().catch(() => {});
    });

    afterAll(async () => {
      await harness?.cleanup();
    });

    test('declares specificationVersion v1, counts partitions, and rejects an unknown topic with a TransportError', async () => {
      const t3 = await topic('count', 3);
      const t = await transport();
      expect(await t.partitionCount(t3)).toBe(3);
      const error = await t.partitionCount(unique('missing')).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(TransportError.isInstance(error)).toBe(true);
    });

    test('watermarks: an empty partition has low === high; N records raise high by N with consecutive offsets', async () => {
      const t2 = await topic('watermarks', 2);
      const t = await transport();
      const p0 = { topic: t2, partition: 0 };
      const p1 = { topic: t2, partition: 1 };
      const before0 = await t.fetchWatermarks(p0);
      const before1 = await t.fetchWatermarks(p1);
      expect(before0.low).toBe(before0.high);
      expect(before1.low).toBe(before1.high);
      const metas = await t.produce(Array.from({ length: 5 }, (_, i) => ({ topic: t2, partition: 0, key: `k${i}`, value: `v${i}` })));
      expect(metas.map((m) => [m.topic, m.partition, m.offset])).toEqual(metas.map((_, i) => [t2, 0, before0.high + i]));
      const after0 = await t.fetchWatermarks(p0);
      expect(after0).toMatchObject({ low: before0.low, high: before0.high + 5 });
      expect(await t.fetchWatermarks(p1)).toMatchObject({ low: before1.low, high: before1.high });
    });

    test('produce resolves only once its records are readable (fetchWatermarks shows them at once)', async () => {
      const t2 = await topic('visible', 2);
      const t = await transport();
      for (let i = 0; i < 6; i++) {
        const [meta] = await t.produce([{ topic: t2, partition: i % 2, key: `k${i}`, value: `v${i}` }]);
        expect(meta).toBeDefined();
        expect(meta!.partition).toBe(i % 2);
        const wm = await t.fetchWatermarks({ topic: t2, partition: i % 2 });
        expect(wm.high).toBeGreaterThan(meta!.offset);
      }
    });

    test('delivers every partition in offset order, as produced, at the offsets produce reported', async () => {
      const t3 = await topic('order', 3);
      const t = await transport();
      const produced: { meta: RecordMetadata; value: string }[] = [];
      for (let round = 0; round < 4; round++) {
        const records = Array.from({ length: 10 }, (_, i) => ({ topic: t3, key: `key-${i}`, value: `r${round}-k${i}` }));
        const metas = await t.produce(records);
        metas.forEach((meta, i) => produced.push({ meta, value: records[i]!.value }));
      }
      const { collector } = await consume(t3);
      for (let p = 0; p < 3; p++) {
        const tp = { topic: t3, partition: p };
        const expected = produced.filter((x) => x.meta.partition === p);
        await waitUntil(() => collector.records(tp).length >= expected.length, `${expected.length} records of ${key(tp)}`);
        const records = collector.records(tp);
        expect(records.map((r) => r.offset)).toEqual(expected.map((x) => x.meta.offset));
        expect(records.map((r) => text(r.value))).toEqual(expected.map((x) => x.value));
        for (const batch of collector.batches.filter((b) => key(b) === key(tp) && b.records.length > 0)) {
          expect(batch.position).toBeGreaterThan(batch.records[batch.records.length - 1]!.offset);
        }
      }
      expectNoViolations(collector);
    });

    test('round-trips string and binary headers, null keys, null values, byte keys and timestamps', async () => {
      const t1 = await topic('roundtrip', 1);
      const t = await transport();
      const binary = new Uint8Array([0, 1, 127, 128, 254, 255]);
      const timestamp = 1_767_225_600_123;
      await t.produce([
        { topic: t1, partition: 0, key: null, value: null, headers: { text: 'héllo wörld ✓', binary } },
        { topic: t1, partition: 0, key: 'k', value: new Uint8Array([0, 255, 10]), timestamp },
        { topic: t1, partition: 0, key: new Uint8Array([1, 2, 3]), value: 'v', headers: {} },
      ]);
      const { collector } = await consume(t1);
      const tp = { topic: t1, partition: 0 };
      await waitUntil(() => collector.records(tp).length >= 3, '3 records');
      const [r0, r1, r2] = collector.records(tp);
      expect(r0!.key).toBeNull();
      expect(r0!.value).toBeNull();
      expect(bytes(r0!.headers['text'])).toEqual(bytes('héllo wörld ✓'));
      expect(bytes(r0!.headers['binary'])).toEqual(Array.from(binary));
      expect(bytes(r1!.key)).toEqual(bytes('k'));
      expect(bytes(r1!.value)).toEqual([0, 255, 10]);
      expect(r1!.timestamp).toBe(timestamp);
      expect(bytes(r2!.key)).toEqual([1, 2, 3]);
      expect(bytes(r2!.value)).toEqual(bytes('v'));
      expect(Object.keys(r2!.headers)).toEqual([]);
      expectNoViolations(collector);
    });

    test('partitions like the Java client (wire-v1 murmur2 vectors): explicit partition > partitionKey > key', async () => {
      const t12 = await topic('partitioner12', 12);
      const t5 = await topic('partitioner5', 5);
      const t = await transport();
      for (const vector of PARTITIONER_VECTORS) {
        expect(partitionForKey(vector.key, vector.partitions)).toBe(vector.partition);
        const topicName = vector.partitions === 12 ? t12 : t5;
        const [byKey, byPartitionKey, keyless] = await t.produce([
          { topic: topicName, key: vector.key, value: 'by key' },
          { topic: topicName, key: 'unrelated-key', partitionKey: vector.key, value: 'partitionKey wins over key' },
          { topic: topicName, key: null, partitionKey: vector.key, value: 'partitionKey without key' },
        ]);
        expect([byKey!.partition, byPartitionKey!.partition, keyless!.partition], `key ${vector.key}`).toEqual([
          vector.partition,
          vector.partition,
          vector.partition,
        ]);
      }
      const [explicit] = await t.produce([{ topic: t12, key: 'foobar', partitionKey: 'foobar', partition: 2, value: 'explicit' }]);
      expect(explicit!.partition).toBe(2);
      // The records are where the metadata says.
      const wm = await t.fetchWatermarks({ topic: t12, partition: 2 });
      expect(wm.high).toBeGreaterThan(explicit!.offset);
    });

    test('delivers an EOF notice (no records, position === high): for an empty partition, after the records, and again after new records', async () => {
      const t2 = await topic('eof', 2);
      const t = await transport();
      const p0 = { topic: t2, partition: 0 };
      const p1 = { topic: t2, partition: 1 };
      await t.produce([0, 1, 2].map((i) => ({ topic: t2, partition: 0, key: `k${i}`, value: `v${i}` })));
      const wm0 = await t.fetchWatermarks(p0);
      const wm1 = await t.fetchWatermarks(p1);
      const { collector } = await consume(t2);
      const eof0 = await waitForEof(collector, p0, wm0.high);
      const eof1 = await waitForEof(collector, p1, wm1.high);
      expect(collector.batches[eof0]!.position).toBe(wm0.high);
      expect(collector.batches[eof1]!.position).toBe(wm1.high);
      expect(wm1.low).toBe(wm1.high);
      // Every record came before the EOF notice.
      expect(collector.records(p0).length).toBe(3);
      expect(collector.batches.slice(eof0 + 1).some((b) => key(b) === key(p0) && b.records.length > 0)).toBe(false);
      // Records produced after EOF are delivered (delivery wakes up), then a new EOF notice.
      const mark = collector.batches.length;
      const [late] = await t.produce([{ topic: t2, partition: 0, key: 'late', value: 'late' }]);
      await waitForEof(collector, p0, late!.offset + 1, mark);
      expect(collector.values(p0, mark)).toEqual(['late']);
      expectNoViolations(collector);
    });

    test('reaches the end of a log ending in a transaction commit marker: EOF position >= high > last record offset + 1', async (ctx) => {
      const t1 = await topic('eof-marker', 1);
      const t = await transport();
      const tp = { topic: t1, partition: 0 };
      const producer = await transactional(ctx, t, unique('txn'));
      await producer.init();
      const metas = await producer.sendInTransaction([
        { topic: t1, partition: 0, key: 'a', value: '1' },
        { topic: t1, partition: 0, key: 'b', value: '2' },
      ]);
      const lastOffset = metas[metas.length - 1]!.offset;
      const wm = await settledEnd(t, tp, lastOffset + 2); // the commit marker takes an offset
      expect(wm.high).toBeGreaterThan(lastOffset + 1);
      const { collector } = await consume(t1);
      const eof = await waitForEof(collector, tp, wm.high);
      expect(collector.batches[eof]!.position).toBeGreaterThanOrEqual(wm.high);
      expect(collector.values(tp)).toEqual(['1', '2']);
      expectNoViolations(collector);
    });

    test('seekToBeginning returns the watermarks and redelivers everything from low, then a new EOF notice', async () => {
      const t1 = await topic('seek', 1);
      const t = await transport();
      const tp = { topic: t1, partition: 0 };
      await t.produce([0, 1, 2, 3].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
      const consumer = await consume(t1);
      const wm = await consumer.transport.fetchWatermarks(tp);
      await waitForEof(consumer.collector, tp, wm.high);
      const firstPass = consumer.collector.records(tp).map((r) => r.offset);
      const mark = consumer.collector.batches.length;
      const seek = await consumer.transport.seekToBeginning(tp);
      expect({ low: seek.low, high: seek.high }).toEqual({ low: wm.low, high: wm.high });
      await waitForEof(consumer.collector, tp, seek.high, mark);
      expect(consumer.collector.records(tp, mark).map((r) => r.offset)).toEqual(firstPass);
      expect(consumer.collector.values(tp, mark)).toEqual(['v0', 'v1', 'v2', 'v3']);
      await consumer.transport.commitOffsets([{ topic: t1, partition: 0, offset: seek.high }]);
      expectNoViolations(consumer.collector);
    });

    test('seekToBeginning after the head of the log was removed returns low > 0 and redelivers from low', async (ctx) => {
      // With compaction, the head (a=1) is superseded; with delete-records, the first 3 go.
      const setup = await withHeadRemoved(ctx, 'seek-low', ['a=1', 'a=2', 'b=1', 'c=1', 'b=2'], 3);
      if (setup === undefined) return;
      const { removal, tp, consumer } = setup;
      const mark = consumer.collector.batches.length;
      const seek = await consumer.transport.seekToBeginning(tp);
      expect(seek.low).toBeGreaterThan(0);
      const wm = await consumer.transport.fetchWatermarks(tp);
      expect({ low: seek.low, high: seek.high }).toEqual({ low: wm.low, high: wm.high });
      await waitForEof(consumer.collector, tp, seek.high, mark);
      const again = consumer.collector.records(tp, mark);
      expect(again.length).toBeGreaterThan(0);
      for (const record of again) expect(record.offset).toBeGreaterThanOrEqual(seek.low);
      if (removal === 'deleteRecords') {
        expect(again[0]!.offset).toBe(seek.low);
        expect(again.map((r) => text(r.value))).toEqual(['c=1', 'b=2']);
      } else {
        expect(again.map((r) => text(r.value))).toEqual(['a=2', 'c=1', 'b=2']);
      }
      expectNoViolations(consumer.collector);
    });

    describe('seek', () => {
      test('seek to a middle offset returns the watermarks and redelivers from that offset, then an EOF notice at high', async () => {
        const t1 = await topic('seek-middle', 1);
        const t = await transport();
        const tp = { topic: t1, partition: 0 };
        const metas = await t.produce([0, 1, 2, 3, 4, 5].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
        const consumer = await consume(t1);
        const wm = await settledEnd(t, tp, metas[5]!.offset + 1);
        await waitForEof(consumer.collector, tp, wm.high);
        const mark = consumer.collector.batches.length;
        const seek = await consumer.transport.seek(tp, metas[3]!.offset);
        expect({ low: seek.low, high: seek.high }).toEqual({ low: wm.low, high: wm.high });
        const last = await waitForRecord(consumer.collector, tp, metas[5]!.offset, mark);
        const again = consumer.collector.records(tp, mark);
        expect(again.map((r) => r.offset)).toEqual(metas.slice(3).map((m) => m.offset));
        expect(again.map((r) => text(r.value))).toEqual(['v3', 'v4', 'v5']);
        const eof = await waitForEof(consumer.collector, tp, wm.high, last + 1);
        expect(consumer.collector.batches[eof]!.position).toBe(wm.high);
        expectNoViolations(consumer.collector);
      });

      test('seek below the low watermark starts at low and returns the watermarks', async (ctx) => {
        // With compaction, the head (a=1) is superseded; with delete-records, the first 2 go.
        const setup = await withHeadRemoved(ctx, 'seek-below-low', ['a=1', 'a=2', 'b=1', 'c=1'], 2);
        if (setup === undefined) return;
        const { removal, t, tp, metas, consumer } = setup;
        const wm = await t.fetchWatermarks(tp);
        expect(wm.low).toBeGreaterThan(metas[0]!.offset);
        const mark = consumer.collector.batches.length;
        const seek = await consumer.transport.seek(tp, metas[0]!.offset);
        expect({ low: seek.low, high: seek.high }).toEqual({ low: wm.low, high: wm.high });
        const last = await waitForRecord(consumer.collector, tp, metas[3]!.offset, mark);
        const again = consumer.collector.records(tp, mark);
        for (const record of again) expect(record.offset).toBeGreaterThanOrEqual(seek.low);
        expect(again.map((r) => text(r.value))).toEqual(removal === 'deleteRecords' ? ['b=1', 'c=1'] : ['a=2', 'b=1', 'c=1']);
        await waitForEof(consumer.collector, tp, seek.high, last + 1);
        expectNoViolations(consumer.collector);
      });

      test('seek beyond high starts at high: an EOF notice at high, then the records produced later (none skipped)', async () => {
        const t1 = await topic('seek-beyond', 1);
        const t = await transport();
        const tp = { topic: t1, partition: 0 };
        const metas = await t.produce([0, 1, 2].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
        const consumer = await consume(t1);
        const wm = await settledEnd(t, tp, metas[2]!.offset + 1);
        await waitForEof(consumer.collector, tp, wm.high);
        const mark = consumer.collector.batches.length;
        const seek = await consumer.transport.seek(tp, wm.high + 100);
        expect({ low: seek.low, high: seek.high }).toEqual({ low: wm.low, high: wm.high });
        const eof = await waitForEof(consumer.collector, tp, wm.high, mark);
        expect(consumer.collector.batches[eof]!.position).toBe(wm.high);
        expect(consumer.collector.records(tp, mark)).toEqual([]);
        // The next record lands at high, below the sought offset: it must be delivered.
        const [late] = await t.produce([{ topic: t1, partition: 0, key: 'late', value: 'late' }]);
        expect(late!.offset).toBe(wm.high);
        await waitForRecord(consumer.collector, tp, late!.offset, mark);
        expect(consumer.collector.values(tp, mark)).toEqual(['late']);
        expectNoViolations(consumer.collector);
      });

      test('seek of a partition this member does not own rejects with a TransportError', async () => {
        const t1 = await topic('seek-unowned', 1);
        const t = await transport();
        const error = await t.seek({ topic: t1, partition: 0 }, 0).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(TransportError.isInstance(error), `expected a TransportError, got ${String(error)}`).toBe(true);
      });
    });

    describe('openReader', () => {
      test('reads every record from low to the end in offset order, then EOF: no records, position === high', async () => {
        const t1 = await topic('reader-all', 1);
        const t = await transport();
        const tp = { topic: t1, partition: 0 };
        const metas = await t.produce(Array.from({ length: 7 }, (_, i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
        const wm = await settledEnd(t, tp, metas[6]!.offset + 1);
        const reader = await openReader(t, tp, wm.low);
        expect({ topic: reader.topic, partition: reader.partition }).toEqual(tp);
        const { records } = await readUntil(reader, wm.high);
        expect(records.map((r) => r.offset)).toEqual(metas.map((m) => m.offset));
        expect(records.map((r) => text(r.value))).toEqual(metas.map((_, i) => `v${i}`));
        expect(records.map((r) => text(r.key))).toEqual(metas.map((_, i) => `k${i}`));
        const eof = await reader.read();
        expect(eof.records).toEqual([]);
        expect(eof.position).toBe(wm.high);
        await reader.close();
      });

      test('a log ending in a transaction commit marker: EOF position === the read-committed end > last record offset + 1', async (ctx) => {
        const t1 = await topic('reader-marker', 1);
        const t = await transport();
        const tp = { topic: t1, partition: 0 };
        await t.produce([{ topic: t1, partition: 0, key: 'p', value: 'plain' }]);
        const producer = await transactional(ctx, t, unique('txn'));
        await producer.init();
        const metas = await producer.sendInTransaction([
          { topic: t1, partition: 0, key: 'a', value: '1' },
          { topic: t1, partition: 0, key: 'b', value: '2' },
        ]);
        const lastOffset = metas[metas.length - 1]!.offset;
        const wm = await settledEnd(t, tp, lastOffset + 2); // the commit marker takes an offset
        expect(wm.high).toBeGreaterThan(lastOffset + 1);
        const reader = await openReader(t, tp, wm.low);
        const { records, batches } = await readUntil(reader, wm.high);
        expect(records.map((r) => text(r.value))).toEqual(['plain', '1', '2']);
        expect(batches[batches.length - 1]!.position).toBe(wm.high);
        const eof = await reader.read();
        expect(eof.records).toEqual([]);
        expect(eof.position).toBe(wm.high);
      });

      test('skips the records of an aborted transaction and its markers', async (ctx) => {
        const { t, tp, wm } = await committedAroundAborted(ctx, 'reader-aborted');
        const reader = await openReader(t, tp, wm.low);
        const { records } = await readUntil(reader, wm.high);
        expect(records.map((r) => text(r.value))).toEqual(['c1', 'c2', 'c3']);
        const eof = await reader.read();
        expect(eof.records).toEqual([]);
        expect(eof.position).toBe(wm.high);
      });

      test('starts at fromOffset: a middle offset reads from there', async () => {
        const t1 = await topic('reader-middle', 1);
        const t = await transport();
        const tp = { topic: t1, partition: 0 };
        const metas = await t.produce(Array.from({ length: 6 }, (_, i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
        const wm = await settledEnd(t, tp, metas[5]!.offset + 1);
        const reader = await openReader(t, tp, metas[2]!.offset);
        const { records } = await readUntil(reader, wm.high);
        expect(records.map((r) => r.offset)).toEqual(metas.slice(2).map((m) => m.offset));
        expect(records.map((r) => text(r.value))).toEqual(['v2', 'v3', 'v4', 'v5']);
      });

      test('fromOffset below the low watermark starts at low', async (ctx) => {
        const deleteRecords = h().deleteRecords;
        if (deleteRecords === undefined) return ctx.skip(`the ${name} harness has no deleteRecords(): below-low reader case skipped`);
        const t1 = await topic('reader-below-low', 1);
        const t = await transport();
        const tp = { topic: t1, partition: 0 };
        const metas = await t.produce(Array.from({ length: 5 }, (_, i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `v${i}` })));
        await settledEnd(t, tp, metas[4]!.offset + 1);
        await deleteRecords.call(h(), tp, metas[2]!.offset);
        const wm = await t.fetchWatermarks(tp);
        expect(wm.low).toBe(metas[2]!.offset);
        const reader = await openReader(t, tp, metas[0]!.offset);
        const { records } = await readUntil(reader, wm.high);
        expect(records.map((r) => text(r.value))).toEqual(['v2', 'v3', 'v4']);
      });

      test('does not disturb group members (no rebalance, positions kept) and reads partitions owned by no one', async () => {
        const t2 = await topic('reader-group', 2);
        const other = await topic('reader-unowned', 1);
        const t = await transport();
        const p0 = { topic: t2, partition: 0 };
        const p1 = { topic: t2, partition: 1 };
        const unowned = { topic: other, partition: 0 };
        const produced = await t.produce([
          ...[0, 1, 2].map((i) => ({ topic: t2, partition: 0, key: `k${i}`, value: `p0-${i}` })),
          ...[0, 1].map((i) => ({ topic: t2, partition: 1, key: `k${i}`, value: `p1-${i}` })),
          ...[0, 1].map((i) => ({ topic: other, partition: 0, key: `k${i}`, value: `o-${i}` })),
        ]);
        const end = async (tp: TopicPartition): Promise<number> =>
          (await settledEnd(t, tp, Math.max(...produced.filter((m) => key(m) === key(tp)).map((m) => m.offset)) + 1)).high;
        const consumer = await consume(t2);
        const { collector } = consumer;
        await waitForEof(collector, p0, await end(p0));
        await waitForEof(collector, p1, await end(p1));
        const events = collector.events.length;
        const mark = collector.batches.length;
        // A reader through the member's own transport, of a partition it owns...
        const own = await openReader(consumer.transport, p0, 0);
        expect((await readUntil(own, await end(p0))).records.map((r) => text(r.value))).toEqual(['p0-0', 'p0-1', 'p0-2']);
        // ...and readers through another transport, of an owned partition and of one nobody owns.
        const foreign = await openReader(t, p1, 0);
        expect((await readUntil(foreign, await end(p1))).records.map((r) => text(r.value))).toEqual(['p1-0', 'p1-1']);
        const lonely = await openReader(t, unowned, 0);
        expect((await readUntil(lonely, await end(unowned))).records.map((r) => text(r.value))).toEqual(['o-0', 'o-1']);
        // The member keeps its partitions and positions: new records arrive once, nothing is redelivered.
        const [n0, n1] = await t.produce([
          { topic: t2, partition: 0, key: 'n', value: 'p0-new' },
          { topic: t2, partition: 1, key: 'n', value: 'p1-new' },
        ]);
        await waitForRecord(collector, p0, n0!.offset, mark);
        await waitForRecord(collector, p1, n1!.offset, mark);
        expect(collector.values(p0, mark)).toEqual(['p0-new']);
        expect(collector.values(p1, mark)).toEqual(['p1-new']);
        expect(collector.events.slice(events), 'no onRevoked / onAssigned because of the readers').toEqual([]);
        expect([...collector.owned].sort()).toEqual([key(p0), key(p1)].sort());
        expectNoViolations(collector);
      });

      test('sees records produced after it was opened (and after it reached the end)', async () => {
        const t1 = await topic('reader-live', 1);
        const t = await transport();
        const tp = { topic: t1, partition: 0 };
        const first = await t.produce([0, 1].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `early-${i}` })));
        const wm = await settledEnd(t, tp, first[1]!.offset + 1);
        const reader = await openReader(t, tp, wm.low);
        const before = await readUntil(reader, wm.high);
        expect(before.records.map((r) => text(r.value))).toEqual(['early-0', 'early-1']);
        const eof = await reader.read();
        expect(eof).toMatchObject({ records: [], position: wm.high });
        const later = await t.produce([0, 1, 2].map((i) => ({ topic: t1, partition: 0, key: `k${i}`, value: `late-${i}` })));
        const wm2 = await settledEnd(t, tp, later[2]!.offset + 1);
        const after = await readUntil(reader, wm2.high);
        expect(after.records.map((r) => r.offset)).toEqual(later.map((m) => m.offset));
        expect(after.records.map((r) => text(r.value))).toEqual(['late-0', 'late-1', 'late-2']);
      });

      test('close() is idempotent; a read after close rejects with a TransportError; a pending read settles', async () => {
        const t1 = await topic('reader-close', 1);
        const t = await transport();
        const tp = { topic: t1, partition: 0 };
        const [meta] = await t.produce([{ topic: t1, partition: 0, key: 'k', value: 'v' }]);
        const wm = await settledEnd(t, tp, meta!.offset + 1);
        const reader = await openReader(t, tp, wm.low);
        await readUntil(reader, wm.high);
        // At the end: the read waits for new records (or answers EOF at once); close settles it.
        const pending = reader.read().then(
          (batch) => ({ batch }),
          (error: unknown) => ({ error }),
        );
        await reader.close();
        const outcome = await pending;
        if ('error' in outcome) expect(TransportError.isInstance(outcome.error), `pending read: ${String(outcome.error)}`).toBe(true);
        else expect(outcome.batch.records).toEqual([]);
        await reader.close();
        const error = await reader.read().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(TransportError.isInstance(error), `read after close: expected a TransportError, got ${String(error)}`).toBe(true);
      });

      test('a reader of a partition that does not exist rejects with a TransportError (at open or first read)', async () => {
        const t1 = await topic('reader-missing', 1);
        const t = await transport();
        const error = await (async () => {
          const reader = await t.openReader({ topic: t1, partition: 7 }, { fromOffset: 0 });
          readers.push(reader);
          await reader.read();
        })().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(TransportError.isInstance(error), `expected a TransportError, got ${String(error)}`).toBe(true);
      });
    });

    test('compaction keeps the latest record per key at its original offset; offsets have gaps', async (ctx) => {
      const compact = h().compact;
      if (compact === undefined) return ctx.skip(`the ${name} harness has no compact(): compaction case skipped`);
      const t1 = await topic('compaction', 1, true);
      const t = await transport();
      const tp = { topic: t1, partition: 0 };
      const sequence: [string, string | null][] = [
        ['a', 'a1'],
        ['b', 'b1'],
        ['a', 'a2'],
        ['c', 'c1'],
        ['b', null],
        ['a', 'a3'],
      ];
      const metas = await t.produce(sequence.map(([k, v]) => ({ topic: t1, partition: 0, key: k, value: v })));
      await compact.call(h(), t1);
      const { collector } = await consume(t1);
      const wm = await t.fetchWatermarks(tp);
      await waitForEof(collector, tp, wm.high);
      const records = collector.records(tp);
      const byOffset = new Map(records.map((r) => [r.offset, r]));
      const offsets = records.map((r) => r.offset);
      expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
      // Superseded records are gone; survivors keep their offsets.
      for (const i of [0, 1, 2]) expect(byOffset.has(metas[i]!.offset)).toBe(false);
      expect(text(byOffset.get(metas[3]!.offset)?.value ?? null)).toBe('c1');
      expect(text(byOffset.get(metas[5]!.offset)?.value ?? null)).toBe('a3');
      // The tombstone of b may have been removed already (retention), but nothing else of b is left.
      const b = records.filter((r) => text(r.key) === 'b');
      expect(b.every((r) => r.offset === metas[4]!.offset && r.value === null)).toBe(true);
      expect(wm.low).toBeLessThanOrEqual(offsets[0]!);
      expectNoViolations(collector);
    });

    test('read committed: records of an aborted transaction are never delivered, committed ones are', async (ctx) => {
      const { tp, wm } = await committedAroundAborted(ctx, 'aborted');
      const { collector } = await consume(tp.topic);
      await waitForEof(collector, tp, wm.high);
      expect(collector.values(tp)).toEqual(['c1', 'c2', 'c3']);
      expectNoViolations(collector);
    });

    test('read committed: the end offset stops before an open transaction, whose records arrive once it commits', async (ctx) => {
      const open = h().openTransaction;
      if (open === undefined) return ctx.skip(`the ${name} harness has no openTransaction(): open-transaction case skipped`);
      const t1 = await topic('open-txn', 1);
      const t = await transport();
      const tp = { topic: t1, partition: 0 };
      const [before] = await t.produce([{ topic: t1, partition: 0, key: 'k', value: 'before' }]);
      const txn = await open.call(h(), unique('txn'), [{ topic: t1, partition: 0, key: 'k', value: 'in-txn' }]);
      let settled = false;
      try {
        await t.produce([{ topic: t1, partition: 0, key: 'k', value: 'after' }]);
        const wm = await t.fetchWatermarks(tp);
        expect(wm.high).toBe(before!.offset + 1);
        const { collector } = await consume(t1);
        const eof = await waitForEof(collector, tp, wm.high);
        expect(collector.batches[eof]!.position).toBe(wm.high);
        expect(collector.values(tp)).toEqual(['before']);
        const mark = collector.batches.length;
        await txn.commit();
        settled = true;
        const wm2 = await settledEnd(t, tp, before!.offset + 4); // in-txn, marker, after
        await waitForEof(collector, tp, wm2.high, mark);
        expect(collector.values(tp)).toEqual(['before', 'in-txn', 'after']);
        expectNoViolations(collector);
      } finally {
        if (!settled) await txn.abort().catch(() => {});
      }
    });

    test('fencing: init() of a second producer with the same transactional id makes the first one fail', async (ctx) => {
      const t1 = await topic('fencing', 1);
      const first = await transport();
      const second = await transport();
      const tp = { topic: t1, partition: 0 };
      const transactionalId = unique('txn');
      const zombie = await transactional(ctx, first, transactionalId);
      await zombie.init();
      await zombie.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'first' }]);
      const successor = await transactional(ctx, second, transactionalId);
      await successor.init();
      const error = await zombie.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'zombie' }]).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error, 'the fenced producer must reject').toBeDefined();
      expect(FencedError.isInstance(error), 'a fenced send rejects with FencedError (KSM_FENCED)').toBe(true);
      const [secondMeta] = await successor.sendInTransaction([{ topic: t1, partition: 0, key: 'k', value: 'second' }]);
      const wm = await settledEnd(first, tp, secondMeta!.offset + 2);
      const { collector } = await consume(t1);
      await waitForEof(collector, tp, wm.high);
      expect(collector.values(tp)).toEqual(['first', 'second']);
      expectNoViolations(collector);
    });

    test('group: two members split the partitions (revoke before reassign, batches only for owned partitions); one leaves, the other gets all', async () => {
      const t4 = await topic('group', 4);
      const groupId = unique('group');
      const all = [0, 1, 2, 3].map((p) => key({ topic: t4, partition: p }));
      const producer = await transport();
      const a = await transport();
      const b = await transport();
      const ca = new Collector(sequence, a);
      const cb = new Collector(sequence, b);
      await a.subscribe({ groupId, topics: [t4], listener: ca });
      await waitUntil(
        () => ca.owned.size === 4,
        () => `member A owning all 4 partitions (owns ${[...ca.owned].join(', ')})`,
      );
      // Records arriving while B's onAssigned runs must wait until it settled.
      cb.duringAssign = async (tps) => {
        await producer.produce(
          tps.map((tp) => ({ topic: tp.topic, partition: tp.partition, key: 'k', value: `during-assign-${tp.partition}` })),
        );
      };
      const subB = await b.subscribe({ groupId, topics: [t4], listener: cb });
      const split = (): boolean =>
        ca.owned.size > 0 &&
        cb.owned.size > 0 &&
        ca.owned.size + cb.owned.size === 4 &&
        all.every((k) => ca.owned.has(k) || cb.owned.has(k));
      await waitUntil(split, () => `a split (A owns ${[...ca.owned].join(', ')}; B owns ${[...cb.owned].join(', ')})`);
      for (const k of cb.owned) expect(ca.lastSeq('revoked', k), `A revoked ${k} before B got it`).toBeLessThan(cb.lastSeq('assigned', k));

      const owner = (p: number): Collector => (ca.owned.has(key({ topic: t4, partition: p })) ? ca : cb);
      await producer.produce([0, 1, 2, 3].map((p) => ({ topic: t4, partition: p, key: `k${p}`, value: `split-${p}` })));
      for (let p = 0; p < 4; p++) {
        const tp = { topic: t4, partition: p };
        await waitUntil(() => owner(p).values(tp).includes(`split-${p}`), `split-${p} delivered to its owner`);
        if (owner(p) === cb) expect(cb.values(tp)).toContain(`during-assign-${p}`);
      }

      await subB.close();
      expect(cb.owned.size, 'close() revokes every partition before resolving').toBe(0);
      await waitUntil(
        () => ca.owned.size === 4,
        () => `A owning all 4 partitions after B left (owns ${[...ca.owned].join(', ')})`,
      );
      for (const k of all) {
        const revokedByB = cb.lastSeq('revoked', k);
        if (revokedByB >= 0) expect(revokedByB, `B revoked ${k} before A got it back`).toBeLessThan(ca.lastSeq('assigned', k));
      }
      await producer.produce([0, 1, 2, 3].map((p) => ({ topic: t4, partition: p, key: `k${p}`, value: `alone-${p}` })));
      for (let p = 0; p < 4; p++) {
        const tp = { topic: t4, partition: p };
        await waitUntil(() => ca.values(tp).includes(`alone-${p}`), `alone-${p} delivered to A`);
      }
      expectNoViolations(ca, cb);
    });

    test('produceNoWait never throws: its records become readable, and failures go to onError', async () => {
      const t1 = await topic('nowait', 1);
      const t = await transport();
      const tp = { topic: t1, partition: 0 };
      const before = await t.fetchWatermarks(tp);
      const errors: unknown[] = [];
      expect(() =>
        t.produceNoWait(
          [
            { topic: t1, partition: 0, key: 'a', value: '1' },
            { topic: t1, partition: 0, key: 'b', value: '2' },
          ],
          (e) => errors.push(e),
        ),
      ).not.toThrow();
      await waitUntil(async () => (await t.fetchWatermarks(tp)).high >= before.high + 2, 'the produceNoWait records');
      expect(errors).toEqual([]);
      const failures: unknown[] = [];
      expect(() => t.produceNoWait([{ topic: 'not a valid topic name!', key: 'a', value: '1' }], (e) => failures.push(e))).not.toThrow();
      await waitUntil(() => failures.length > 0, 'onError for a record to an invalid topic');
      const { collector } = await consume(t1);
      await waitForEof(collector, tp, before.high + 2);
      expect(collector.values(tp)).toEqual(['1', '2']);
      expectNoViolations(collector);
    });
  });
}
