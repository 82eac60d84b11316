/**
 * The shared state and helpers of the conformance suite's groups: fresh names, transports that
 * are closed after each test, consumers, waits by polling, readers and the setups several cases
 * share. {@link createConformanceContext} builds them for one suite run.
 *
 * @module
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import type {
  ConsumedRecord,
  PartitionBatch,
  PartitionReader,
  ProduceRecord,
  Subscription,
  TopicPartition,
  TransactionalProducer,
  Transport,
} from '@ksched/core';
import { Collector } from './collector.js';
import type { ConformanceHarness, ConformanceOptions } from './harness.js';
import { isUnsupported, key, realSetTimeout, sleep } from './support.js';

/** A member consuming in a fresh group (see `consume`). */
export interface Consumer {
  readonly transport: Transport;
  readonly collector: Collector;
  readonly subscription: Subscription;
}

/** What one suite run keeps between its hooks and its cases. */
interface SuiteState {
  harness: ConformanceHarness | undefined;
  readonly toClose: Transport[];
  readonly readers: PartitionReader[];
  readonly producers: TransactionalProducer[];
  readonly sequence: { value: number };
}

/** Names, waits, topics, transports and consumers. */
function baseHelpers(name: string, options: ConformanceOptions, state: SuiteState) {
  const { toClose, producers, sequence } = state;
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  let names = 0;

  const h = (): ConformanceHarness => {
    if (state.harness === undefined) throw new Error('the conformance harness factory failed');
    return state.harness;
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

  function expectNoViolations(...collectors: Collector[]): void {
    for (const c of collectors) {
      expect(c.violations).toEqual([]);
      expect(c.errors).toEqual([]);
    }
  }

  /** A case; `retry` re-runs it from scratch (new topics, new group) when it fails, for a known, still open flake. */
  const test = (title: string, fn: (ctx: TestContext) => Promise<void>, caseOptions: { readonly retry?: number } = {}): void => {
    const unsupported = options.unsupported?.find((u) => u.case.test(title));
    it(
      title,
      {
        ...(options.testTimeoutMs !== undefined ? { timeout: options.testTimeoutMs } : {}),
        ...(caseOptions.retry !== undefined ? { retry: caseOptions.retry } : {}),
      },
      unsupported ? (ctx) => ctx.skip(unsupported.reason) : fn,
    );
  };

  /** A collector of this suite run (its callback sequence numbers are shared by every collector). */
  const collector = (t: Transport): Collector => new Collector(sequence, t);

  return {
    name,
    h,
    timeoutMs,
    unique,
    waitUntil,
    topic,
    transport,
    transactional,
    consume,
    settledEnd,
    expectNoViolations,
    test,
    collector,
  };
}

type BaseHelpers = ReturnType<typeof baseHelpers>;

/** Waiting for EOF notices and records, and reading partitions with readers closed after each test. */
function readHelpers(base: BaseHelpers, state: SuiteState) {
  const { timeoutMs, waitUntil } = base;
  const { readers } = state;

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

  return { waitForEof, waitForRecord, openReader, read, readUntil };
}

/** Setups several cases share: a log whose head was removed, committed records around an aborted transaction. */
function setupHelpers(base: BaseHelpers & ReturnType<typeof readHelpers>) {
  const { name, h, unique, topic, transport, transactional, consume, settledEnd, waitForEof } = base;

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

  return { withHeadRemoved, committedAroundAborted, abortedTransaction };
}

/**
 * The helpers of one suite run. Call it inside the suite's `describe` callback: it registers the
 * hooks that create the harness before the suite, close the transports, readers and transactional
 * producers after each test, and clean the harness up after the suite.
 */
export function createConformanceContext(name: string, factory: () => Promise<ConformanceHarness>, options: ConformanceOptions) {
  const state: SuiteState = { harness: undefined, toClose: [], readers: [], producers: [], sequence: { value: 0 } };
  const base = baseHelpers(name, options, state);
  const reading = readHelpers(base, state);
  const setups = setupHelpers({ ...base, ...reading });
  registerHooks(state, factory);
  return { ...base, ...reading, ...setups, readers: state.readers };
}

/** What every group of cases receives. */
export type ConformanceContext = ReturnType<typeof createConformanceContext>;

function registerHooks(state: SuiteState, factory: () => Promise<ConformanceHarness>): void {
  const { toClose, readers, producers } = state;

  beforeAll(async () => {
    state.harness = await factory();
  });

  afterEach(async () => {
    for (const r of readers.splice(0)) await r.close().catch(() => {});
    for (const p of producers.splice(0)) await p.close().catch(() => {});
    for (const t of toClose.splice(0).reverse()) await t.close().catch(() => {});
  });

  afterAll(async () => {
    await state.harness?.cleanup();
  });
}
