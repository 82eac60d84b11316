/**
 * The engine scenarios on a real transport: core's `Scheduler` with `systemClock`, against real
 * time with short horizons (schedules due in one to three seconds). The FakeBroker scenarios
 * (testkit's own tests) prove the engine on fake time; these run the same stories through an
 * adapter and a broker, where fake time is impossible.
 *
 * @module
 */
import { inflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import {
  cancel as buildCancel,
  decodeStates,
  Header,
  IncompatibleSchemaError,
  schedule as buildSchedule,
  Scheduler,
  statesTopic,
  systemClock,
  utcDateString,
  DAY_MS,
} from '@ksched/core';
import type {
  ConsumedRecord,
  DispatchedEvent,
  ErrorEvent,
  FlushEvent,
  GroupListener,
  HeaderValue,
  InvalidEvent,
  LoadedEvent,
  PartitionBatch,
  ProduceRecord,
  RecordHeaders,
  RefillEvent,
  ReloadEvent,
  RecordMetadata,
  SchedulerOptionsInput,
  StatesReport,
  Subscription,
  TopicPartition,
  Transport,
} from '@ksched/core';

// Real timers captured at load time: the suite waits in real time even if a test file fakes timers.
const realSetTimeout = globalThis.setTimeout;
const realDateNow = Date.now.bind(Date);
const decoder = new TextDecoder();

/**
 * What the engine scenarios need from an adapter. The factory given to
 * {@link describeEngineScenarios} creates one harness per suite run. Same shape as the transport
 * conformance harness.
 */
export interface EngineScenarioHarness {
  /** A new transport (one group member), not yet connected. Used for schedulers, the producer and the readers. */
  createTransport(): Promise<Transport>;
  /**
   * Creates a topic with a unique name chosen by the suite; resolves once producers and consumers
   * can use it. `compacted` topics are the schedules and states topics: create them with the
   * production settings (compaction must not run within a test's few seconds).
   */
  createTopic(name: string, partitions: number, options?: { readonly compacted?: boolean }): Promise<void>;
  /** Compacts a compacted topic now. Optional: only the "head removed" scenario uses it, when `deleteRecords` is absent. */
  compact?(topic: string): Promise<void>;
  /**
   * Removes every record of a partition below `beforeOffset` (Kafka DeleteRecords). Optional: the
   * "head removed" scenario is skipped without it (and without `compact`). Kafka refuses it on a
   * compact-only topic, so that scenario's schedules topic is then created with `compacted: false`.
   */
  deleteRecords?(tp: TopicPartition, beforeOffset: number): Promise<void>;
  /** Releases everything the harness created (topics, admin clients). Called once after the suite. */
  cleanup(): Promise<void>;
  /** How long the suite waits for something to happen, real ms. Defaults to 30 000. */
  readonly timeoutMs?: number;
  /** Prefix of the topic and group names. Defaults to `ksched-engine`. */
  readonly namePrefix?: string;
}

/** Options of {@link describeEngineScenarios}. */
export interface EngineScenarioOptions {
  /** Per-test timeout for vitest, ms. Defaults to the vitest configuration. */
  readonly testTimeoutMs?: number;
  /**
   * Run the scenarios concurrently (vitest `describe.concurrent`; at most `maxConcurrency` at
   * once). They use their own topics and groups, so they do not interfere, but every scenario
   * then waits for a busier machine. Default false.
   */
  readonly concurrent?: boolean;
}

/** A record a reader saw, with when it saw it (real clock). */
export interface ObservedRecord extends ConsumedRecord {
  readonly observedAtMs: number;
}

const HOUR = 3_600_000;
/** Scenarios that need "later today" are skipped this close to UTC midnight. */
const MIDNIGHT_MARGIN_MS = 2 * 60_000;

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => realSetTimeout(resolve, Math.max(0, ms)));
}

function text(value: HeaderValue | Uint8Array | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : decoder.decode(value);
}

function headerTexts(headers: RecordHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = text(value) ?? '';
  return out;
}

function tpKey(tp: TopicPartition): string {
  return `${tp.topic}\u0000${tp.partition}`;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Due time of a target or schedule record from its headers, Unix ms (the ms header wins, as in the engine). */
function dueOf(headers: RecordHeaders): number {
  const ms = text(headers[Header.targetEpochMs]);
  if (ms !== null) return Number(ms);
  return Number(text(headers[Header.targetEpoch])) * 1000;
}

function counts(keys: readonly (string | null)[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const k of keys) out.set(k ?? '(null)', (out.get(k ?? '(null)') ?? 0) + 1);
  return out;
}

/** A consumer in a group of its own that reads its topics from the beginning and keeps everything. */
class Reader implements GroupListener {
  readonly #transport: Transport;
  readonly #records = new Map<string, ObservedRecord[]>();
  readonly #positions = new Map<string, number>();
  readonly errors: unknown[] = [];
  subscription: Subscription | undefined;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  get assigned(): number {
    return this.#positions.size;
  }

  async onAssigned(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      const wm = await this.#transport.seekToBeginning(tp);
      const k = tpKey(tp);
      if (!this.#records.has(k)) this.#records.set(k, []);
      this.#positions.set(k, Math.min(this.#positions.get(k) ?? wm.low, wm.low));
    }
  }

  onRevoked(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.#positions.delete(tpKey(tp));
  }

  onBatch(batch: PartitionBatch): void {
    const k = tpKey(batch);
    const list = this.#records.get(k) ?? [];
    this.#records.set(k, list);
    const seen = list.length > 0 ? list[list.length - 1]!.offset : -1;
    const now = realDateNow();
    // A re-delivery (a seek, a rebalance) is not a second copy: keep each offset once.
    for (const record of batch.records) if (record.offset > seen) list.push({ ...record, observedAtMs: now });
    this.#positions.set(k, Math.max(this.#positions.get(k) ?? 0, batch.position));
  }

  onError(error: unknown): void {
    this.errors.push(error);
  }

  position(tp: TopicPartition): number | undefined {
    return this.#positions.get(tpKey(tp));
  }

  /** Records of `topic` (all partitions, or one), by partition then offset. */
  of(topic: string, partition?: number): ObservedRecord[] {
    const out: ObservedRecord[] = [];
    for (const list of this.#records.values()) {
      for (const r of list) if (r.topic === topic && (partition === undefined || r.partition === partition)) out.push(r);
    }
    return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  }
}

/** A running scheduler and everything it emitted. */
export interface RunningScheduler {
  readonly scheduler: Scheduler;
  readonly dispatched: DispatchedEvent[];
  readonly invalid: InvalidEvent[];
  readonly loaded: LoadedEvent[];
  readonly errors: ErrorEvent[];
  readonly flushes: FlushEvent[];
  readonly reloads: ReloadEvent[];
  readonly refills: RefillEvent[];
  /** Stops it (graceful: the `stopped` reports are written); idempotent. */
  stop(): Promise<void>;
}

/** Input of a hand-made schedules-topic record (no builder checks: past epochs, broken headers…). */
interface RawInput {
  readonly key: string;
  /** `schedule_target_epoch`; `null` leaves it out. */
  readonly epoch: number | string | null;
  readonly epochMs?: number | string;
  /** `schedule_target_topic`; `null` leaves it out; default: the scenario's target topic. */
  readonly target?: string | null;
  readonly targetPartition?: number;
  readonly targetKey?: string;
  readonly payload?: string | null;
  readonly version?: string;
  /** `schedule_source_type`; `null` leaves it out. Default `schedule`. */
  readonly type?: string | null;
  readonly partition?: number;
}

/** Input of a schedule built with core's builder. */
interface BuiltInput {
  readonly key: string;
  /** Due time, Unix ms (`at`); or `epoch` (Unix seconds, seconds header only). */
  readonly at?: number;
  readonly epoch?: number;
  readonly payload?: string;
  readonly targetKey?: string | null;
  readonly targetPartition?: number;
  readonly headers?: Record<string, string>;
  /** Envelope partition; default 0 unless `partitionKey` or `byKey` is given. */
  readonly partition?: number;
  readonly partitionKey?: string;
  /** Route the envelope by its key only (no partition, no partition key). */
  readonly byKey?: boolean;
}

/** One scenario's topics, clients and helpers. Everything is closed when the scenario ends. */
interface Scenario {
  readonly schedules: string;
  readonly states: string;
  readonly target: string;
  readonly partitions: number;
  readonly producer: Transport;
  readonly reader: Reader;
  /**
   * Starts a scheduler on a new transport; by default waits until it is ready (every assigned
   * partition loaded or halted). `clockOffsetMs` shifts its clock (real timers, `Date.now() + offset`).
   */
  start(options?: Partial<SchedulerOptionsInput>, wait?: 'ready' | 'joined', clockOffsetMs?: number): Promise<RunningScheduler>;
  produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]>;
  raw(input: RawInput): ProduceRecord;
  built(input: BuiltInput): ProduceRecord;
  tombstone(key: string, partition?: number): ProduceRecord;
  cancel(key: string, partition?: number): ProduceRecord;
  /** Target records seen so far. */
  targets(): ObservedRecord[];
  /** States reports seen so far, decoded, with their record. */
  reports(partition?: number): { record: ObservedRecord; report: StatesReport }[];
  /** Waits until the reader has read every partition of `topic` up to its current end offset. */
  caughtUp(topic: string): Promise<void>;
  waitUntil(check: () => boolean | Promise<boolean>, what: string | (() => string)): Promise<void>;
  unique(label: string): string;
}

/**
 * Declares the engine scenarios (vitest `describe`/`it`) for one adapter: core's `Scheduler` on
 * `systemClock` and the adapter's transport, on a real broker. Every scenario uses fresh topics
 * (schedules and states topics created compacted, a target topic) and groups, reads what the
 * engine wrote with a plain consumer of the same transport type, and waits by polling with
 * timeouts; due times are one to three seconds ahead. Schedulers run with `intervalMs` and
 * `statesReportIntervalMs` 1000.
 *
 * Scenarios: an empty partition's single `loaded` report; ordered dispatches; mostly future
 * (tomorrow's not dispatched, counted in `daily`); dispatched except one (hand-made tombstones);
 * cancel before due (and a cancel on another partition doing nothing); update later within today;
 * update to tomorrow; fast close of past schedules; invalid records skipped and counted; a newer
 * schema halting one partition of two; never early; transactional exactly-once; restart without
 * re-dispatch; two schedulers splitting a group; the engine's own tombstones; a restart after the
 * head of the partition was removed (needs `deleteRecords` or `compact`); the day change on a
 * clock shifted to just before UTC midnight (no reload); background reads racing live updates
 * and cancels of the same keys; a partition returning to its member. Scenarios that need
 * "later today" are skipped within two minutes of UTC midnight.
 *
 * @example
 * ```ts
 * describeEngineScenarios('kafkajs', async () => ({
 *   createTransport: async () => createKafkaJsTransport({ brokers }),
 *   createTopic: (name, partitions, { compacted } = {}) => admin.createTopic(name, partitions, compacted),
 *   deleteRecords: (tp, offset) => admin.deleteRecords(tp, offset),
 *   cleanup: () => admin.close(),
 * }), { testTimeoutMs: 60_000 });
 * ```
 */
export function describeEngineScenarios(
  name: string,
  factory: () => Promise<EngineScenarioHarness>,
  options: EngineScenarioOptions = {},
): void {
  const declare = options.concurrent ? describe.concurrent : describe;
  declare(`Engine scenarios: ${name}`, () => {
    let harness: EngineScenarioHarness | undefined;
    let ready: Promise<EngineScenarioHarness> | undefined;
    const run = `${realDateNow().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
    let names = 0;

    // Created on first use rather than in beforeAll: concurrent scenarios share one harness.
    const h = (): Promise<EngineScenarioHarness> => (ready ??= factory().then((x) => (harness = x)));

    afterAll(async () => {
      if (harness) await harness.cleanup();
    });

    async function scenarioContext(
      hk: EngineScenarioHarness,
      setup: { partitions?: number; targetPartitions?: number; headRemoval?: boolean },
      dispose: (() => Promise<void>)[],
    ): Promise<Scenario> {
      const timeoutMs = hk.timeoutMs ?? 30_000;
      const unique = (label: string): string => `${hk.namePrefix ?? 'ksched-engine'}-${label}-${run}-${++names}`;
      const partitions = setup.partitions ?? 1;
      const schedules = unique('sched');
      const states = statesTopic(schedules);
      const target = unique('target');

      async function waitUntil(check: () => boolean | Promise<boolean>, what: string | (() => string)): Promise<void> {
        const deadline = realDateNow() + timeoutMs;
        for (;;) {
          if (await check()) return;
          if (realDateNow() > deadline)
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
          await sleep(10);
        }
      }

      async function transport(): Promise<Transport> {
        const t = await hk.createTransport();
        dispose.push(() => t.close());
        await t.connect();
        return t;
      }

      // Kafka refuses DeleteRecords on a compact-only topic: the head-removal scenario uses a plain
      // topic when it removes the head that way (the engine does not depend on the policy).
      const compacted = !(setup.headRemoval === true && hk.deleteRecords !== undefined);
      await Promise.all([
        hk.createTopic(schedules, partitions, { compacted }),
        hk.createTopic(states, partitions, { compacted: true }),
        hk.createTopic(target, setup.targetPartitions ?? 1),
      ]);
      const [producer, readerTransport] = await Promise.all([transport(), transport()]);
      const reader = new Reader(readerTransport);
      const total = partitions * 2 + (setup.targetPartitions ?? 1);
      reader.subscription = await readerTransport.subscribe({
        groupId: unique('reader'),
        topics: [schedules, states, target],
        listener: reader,
      });
      await waitUntil(
        () => reader.assigned === total,
        () => `the reader owning all ${total} partitions (owns ${reader.assigned})`,
      );

      const s: Scenario = {
        schedules,
        states,
        target,
        partitions,
        producer,
        reader,
        unique,
        waitUntil,
        async start(overrides = {}, wait = 'ready', clockOffsetMs = 0) {
          const t = await hk.createTransport();
          const clock = clockOffsetMs === 0 ? systemClock : { ...systemClock, now: () => systemClock.now() + clockOffsetMs };
          const scheduler = new Scheduler({
            transport: t,
            clock,
            options: { topics: [schedules], groupId: unique('group'), intervalMs: 1000, statesReportIntervalMs: 1000, ...overrides },
          });
          const running: RunningScheduler = {
            scheduler,
            dispatched: [],
            invalid: [],
            loaded: [],
            errors: [],
            flushes: [],
            reloads: [],
            refills: [],
            stop: (() => {
              let stopped: Promise<void> | undefined;
              return () => (stopped ??= scheduler.stop().catch(() => t.close()));
            })(),
          };
          scheduler.on('dispatched', (e) => running.dispatched.push(e));
          scheduler.on('invalid', (e) => running.invalid.push(e));
          scheduler.on('loaded', (e) => running.loaded.push(e));
          scheduler.on('error', (e) => running.errors.push(e));
          scheduler.on('flush', (e) => running.flushes.push(e));
          scheduler.on('reload', (e) => running.reloads.push(e));
          scheduler.on('refill', (e) => running.refills.push(e));
          dispose.push(() => running.stop());
          await scheduler.start();
          if (wait === 'ready') {
            await waitUntil(
              () => scheduler.isReady(),
              () => `the scheduler ready (${JSON.stringify(scheduler.partitions())})`,
            );
          }
          return running;
        },
        produce: (records) => producer.produce(records),
        raw(input) {
          const headers: Record<string, string> = {};
          if (input.version !== '') headers[Header.schemaVersion] = input.version ?? '1.0.0';
          if (input.type !== null) headers[Header.sourceType] = input.type ?? 'schedule';
          if (input.epoch !== null) headers[Header.targetEpoch] = String(input.epoch);
          if (input.epochMs !== undefined) headers[Header.targetEpochMs] = String(input.epochMs);
          if (input.target !== null) headers[Header.targetTopic] = input.target ?? target;
          if (input.targetPartition !== undefined) headers[Header.targetPartition] = String(input.targetPartition);
          if (input.targetKey !== undefined) headers[Header.targetKey] = input.targetKey;
          return {
            topic: schedules,
            partition: input.partition ?? 0,
            key: input.key,
            value: input.payload === undefined ? `payload-${input.key}` : input.payload,
            headers,
          };
        },
        built(input) {
          const due = input.at !== undefined ? { at: input.at } : { epoch: input.epoch! };
          const envelope =
            input.byKey === true
              ? { topic: schedules, key: input.key }
              : input.partitionKey !== undefined
                ? { topic: schedules, key: input.key, partitionKey: input.partitionKey }
                : { topic: schedules, key: input.key, partition: input.partition ?? 0 };
          return buildSchedule({
            message: {
              topic: target,
              payload: input.payload ?? `payload-${input.key}`,
              ...(input.targetKey === null ? {} : { key: input.targetKey ?? input.key }),
              ...(input.targetPartition !== undefined ? { partition: input.targetPartition } : {}),
              ...(input.headers !== undefined ? { headers: input.headers } : {}),
            },
            envelope,
            ...due,
          } as Parameters<typeof buildSchedule>[0]);
        },
        tombstone: (key, partition = 0) => ({
          topic: schedules,
          partition,
          key,
          value: null,
          headers: { [Header.schemaVersion]: '1.0.0', [Header.sourceType]: 'tombstone' },
        }),
        cancel: (key, partition = 0) => buildCancel({ key, envelope: { topic: schedules, partition } }),
        targets: () => reader.of(target),
        reports: (partition) => reader.of(states, partition).map((record) => ({ record, report: decodeStates(record.value!) })),
        async caughtUp(topic) {
          const count = await producer.partitionCount(topic);
          for (let partition = 0; partition < count; partition++) {
            const tp = { topic, partition };
            const { high } = await producer.fetchWatermarks(tp);
            await waitUntil(
              () => (reader.position(tp) ?? -1) >= high,
              () => `the reader reaching offset ${high} of ${topic}/${partition} (at ${reader.position(tp)})`,
            );
          }
        },
      };
      return s;
    }

    /** Declares one scenario: its own topics, reader and producer, closed when it ends. */
    const scenario = (
      title: string,
      setup: { partitions?: number; targetPartitions?: number; laterToday?: boolean; headRemoval?: boolean },
      body: (s: Scenario, ctx: TestContext) => Promise<void>,
    ): void => {
      it(
        title,
        async (ctx) => {
          if (setup.laterToday !== false) {
            const toMidnight = DAY_MS - (realDateNow() % DAY_MS);
            if (toMidnight < MIDNIGHT_MARGIN_MS) return ctx.skip('too close to UTC midnight for a "later today" scenario');
          }
          const hk = await h();
          const dispose: (() => Promise<void>)[] = [];
          try {
            const s = await scenarioContext(hk, setup, dispose);
            await body(s, ctx);
            expect(s.reader.errors).toEqual([]);
          } finally {
            for (const d of dispose.reverse()) await d().catch(() => {});
          }
        },
        options.testTimeoutMs,
      );
    };

    scenario('an empty schedules partition publishes one `loaded` states report (zlib, schema 1.0.0, daily {today: 0})', {}, async (s) => {
      const before = realDateNow();
      // No idle ticks within the test: the load's forced report is the only one.
      const sched = await s.start({ intervalMs: 60_000, statesReportIntervalMs: 60_000 });
      const after = realDateNow();
      await sleep(1500);
      await s.caughtUp(s.states);
      const raw = s.reader.of(s.states);
      expect(raw.map((r) => [text(r.key), r.partition])).toEqual([['loaded_state', 0]]);
      const [record] = raw;
      expect(text(record!.headers['zlib'])).toBe('true');
      // RFC 1950: a zlib header (CMF 0x78), then a deflate stream that inflates to the JSON report.
      expect(record!.value![0]).toBe(0x78);
      const json = JSON.parse(inflateSync(record!.value!).toString('utf8')) as Record<string, unknown>;
      expect(Object.keys(json)).toEqual(['schema_version', 'dispatched_at', 'state', 'offsets', 'daily', 'started_at', 'reloads']);
      expect(json).toMatchObject({
        schema_version: '1.0.0',
        state: 'loaded',
        daily: { [utcDateString(after)]: 0 },
        offsets: { low: -1, high: -1 },
        reloads: 1,
      });
      expect(json['dispatched_at']).toBeGreaterThanOrEqual(before / 1000);
      expect(json['dispatched_at']).toBeLessThanOrEqual(after / 1000);
      expect(sched.loaded).toEqual([expect.objectContaining({ by: 'end_offset', buffered: 0, reloads: 1 })]);
      expect(sched.dispatched).toEqual([]);
      // Shutdown forces a `stopped` report.
      await sched.stop();
      await s.waitUntil(() => s.reader.of(s.states).length >= 2, 'the stopped report');
      expect(s.reports().map((r) => [text(r.record.key), r.report.state])).toEqual([
        ['loaded_state', 'loaded'],
        ['stopped_state', 'stopped'],
      ]);
      expect(sched.errors).toEqual([]);
    });

    scenario('ordered dispatches: 20 schedules due at the same millisecond are delivered in production order, once each', {}, async (s) => {
      const sched = await s.start();
      const at = realDateNow() + 2000;
      const records = Array.from({ length: 20 }, (_, i) => s.built({ key: `k${i}`, targetKey: String(i), payload: `p${i}`, at }));
      await s.produce(records);
      await s.waitUntil(
        () => s.targets().length >= 20,
        () => `20 deliveries (got ${s.targets().length})`,
      );
      await s.waitUntil(() => sched.dispatched.length >= 20, '20 dispatched events');
      await sleep(500);
      await s.caughtUp(s.target);
      const delivered = s.targets();
      expect(delivered.map((r) => text(r.key))).toEqual(Array.from({ length: 20 }, (_, i) => String(i)));
      expect(delivered.map((r) => text(r.value))).toEqual(Array.from({ length: 20 }, (_, i) => `p${i}`));
      for (const r of delivered) expect(r.timestamp).toBeGreaterThanOrEqual(at);
      expect(sched.dispatched.map((e) => e.key)).toEqual(Array.from({ length: 20 }, (_, i) => `k${i}`));
      expect(sched.errors).toEqual([]);
    });

    scenario('mostly future: schedules due tomorrow are not dispatched, today’s are; states count tomorrow', {}, async (s) => {
      const sched = await s.start();
      const now = realDateNow();
      const today = utcDateString(now);
      const tomorrowStart = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
      const tomorrow = utcDateString(tomorrowStart);
      const future = Array.from({ length: 5 }, (_, i) => s.built({ key: `future-${i}`, at: tomorrowStart + HOUR + i * 60_000 }));
      const due = now + 1500;
      const soon = Array.from({ length: 2 }, (_, i) => s.built({ key: `now-${i}`, at: due }));
      await s.produce([...future.slice(0, 3), soon[0]!, ...future.slice(3), soon[1]!]);
      await s.waitUntil(() => s.targets().length >= 2, 'the two schedules due now');
      await sleep(due + 1000 - realDateNow());
      await s.caughtUp(s.target);
      expect(
        s
          .targets()
          .map((r) => text(r.key))
          .sort(),
      ).toEqual(['now-0', 'now-1']);
      // A throttled report after the dispatches: loaded, today's pending 0, tomorrow's 5.
      await s.waitUntil(
        () => {
          const last = s.reports(0).at(-1)?.report;
          return last !== undefined && last.state === 'loaded' && last.daily[today] === 0 && last.daily[tomorrow] === 5;
        },
        () => `a states report with daily {${today}: 0, ${tomorrow}: 5} (last: ${JSON.stringify(s.reports(0).at(-1)?.report)})`,
      );
      expect(s.reports().some((r) => r.report.state === 'loading')).toBe(false);
      expect(sched.scheduler.partitions()[0]).toMatchObject({ buffered: 0, state: 'loaded' });
      expect(sched.errors).toEqual([]);
    });

    scenario(
      'dispatched except one: overdue schedules closed by hand-made tombstones stay closed; the open one is delivered intact',
      {},
      async (s) => {
        const nowS = seconds(realDateNow());
        const records: ProduceRecord[] = [];
        for (let i = 0; i < 5; i++) {
          records.push(s.raw({ key: `old-${i}`, epoch: nowS - 600, targetPartition: 0, targetKey: `t-old-${i}` }));
          records.push(s.tombstone(`old-${i}`));
        }
        await s.produce(records);
        const epoch = nowS + 3;
        const [meta] = await s.produce([
          s.built({ key: 'the-key', targetKey: 'target-key', targetPartition: 0, payload: 'the one', headers: { id: 'the-id' }, epoch }),
        ]);
        const sched = await s.start();
        expect(sched.loaded).toEqual([expect.objectContaining({ buffered: 1, by: 'end_offset' })]);
        await s.waitUntil(() => s.targets().length >= 1 && sched.dispatched.length >= 1, 'the open schedule');
        await sleep(500);
        await s.caughtUp(s.target);
        const delivered = s.targets();
        expect(delivered).toHaveLength(1);
        const [m] = delivered;
        expect(m!.timestamp).toBeGreaterThanOrEqual(epoch * 1000);
        expect([m!.partition, text(m!.key), text(m!.value)]).toEqual([0, 'target-key', 'the one']);
        expect(headerTexts(m!.headers)).toEqual({
          id: 'the-id',
          [Header.schemaVersion]: '1.0.0',
          [Header.sourceType]: 'schedule',
          [Header.targetEpoch]: String(epoch),
          [Header.targetTopic]: s.target,
          [Header.targetPartition]: '0',
          [Header.targetKey]: 'target-key',
          [Header.sourceTopic]: s.schedules,
          [Header.sourcePartition]: '0',
          [Header.sourceOffset]: String(meta!.offset),
          [Header.sourceKey]: 'the-key',
        });
        expect(sched.dispatched.map((e) => e.key)).toEqual(['the-key']);
        expect(sched.errors).toEqual([]);
      },
    );

    scenario(
      'cancel before due: the cancelled schedule is never delivered; a cancel on another partition does nothing',
      { partitions: 2 },
      async (s) => {
        const sched = await s.start();
        const due = realDateNow() + 2000;
        await s.produce([s.built({ key: 'cancelled', at: due, partition: 1 }), s.built({ key: 'kept', at: due, partition: 1 })]);
        await s.produce([s.cancel('cancelled', 1), s.cancel('kept', 0)]);
        await s.waitUntil(() => s.targets().length >= 1 && sched.dispatched.length >= 1, 'the kept schedule');
        await sleep(due + 1000 - realDateNow());
        await s.caughtUp(s.target);
        expect(s.targets().map((r) => text(r.key))).toEqual(['kept']);
        expect(sched.dispatched.map((e) => e.key)).toEqual(['kept']);
        expect(sched.scheduler.partitions().map((p) => p.buffered)).toEqual([0, 0]);
        expect(sched.errors).toEqual([]);
      },
    );

    scenario(
      'an update to a later time today is delivered once, at the new time, with the new payload (not at the old time)',
      {},
      async (s) => {
        const sched = await s.start();
        const oldDue = realDateNow() + 1500;
        const newDue = oldDue + 2000;
        await s.produce([s.built({ key: 'moved', payload: 'old', at: oldDue })]);
        await s.produce([s.built({ key: 'moved', payload: 'new', at: newDue })]);
        // Past the old due time: nothing yet.
        await sleep(oldDue + 1000 - realDateNow());
        await s.caughtUp(s.target);
        expect(s.targets()).toEqual([]);
        await s.waitUntil(() => s.targets().length >= 1 && sched.dispatched.length >= 1, 'the moved schedule');
        await sleep(500);
        await s.caughtUp(s.target);
        const delivered = s.targets();
        expect(delivered.map((r) => text(r.value))).toEqual(['new']);
        expect(delivered[0]!.timestamp).toBeGreaterThanOrEqual(newDue);
        expect(sched.dispatched).toEqual([expect.objectContaining({ key: 'moved', dueMs: newDue })]);
        expect(sched.errors).toEqual([]);
      },
    );

    scenario('an update to tomorrow is not delivered today', {}, async (s) => {
      const sched = await s.start();
      const now = realDateNow();
      const due = now + 1500;
      const tomorrowStart = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
      await s.produce([s.built({ key: 'postponed', at: due }), s.built({ key: 'control', at: due })]);
      await s.produce([s.built({ key: 'postponed', at: tomorrowStart + HOUR })]);
      await s.waitUntil(() => s.targets().length >= 1 && sched.dispatched.length >= 1, 'the control schedule');
      await sleep(due + 1000 - realDateNow());
      await s.caughtUp(s.target);
      expect(s.targets().map((r) => text(r.key))).toEqual(['control']);
      expect(sched.dispatched.map((e) => e.key)).toEqual(['control']);
      expect(sched.scheduler.partitions()[0]!.buffered).toBe(0);
      expect(sched.errors).toEqual([]);
    });

    scenario('fast close past schedules: schedules due 5–9 s ago (loaded and live) are all delivered once', {}, async (s) => {
      const keys: string[] = [];
      const batch = (round: number): ProduceRecord[] => {
        const nowS = seconds(realDateNow());
        return Array.from({ length: 10 }, (_, j) => {
          const i = round * 10 + j;
          keys.push(`past-${i}`);
          return s.raw({ key: `past-${i}`, epoch: nowS - 5 - (i % 5), targetPartition: 0, targetKey: `past-${i}` });
        });
      };
      await s.produce(batch(0));
      const sched = await s.start();
      for (let round = 1; round < 4; round++) {
        await s.produce(batch(round));
        await sleep(150);
      }
      await s.waitUntil(
        () => s.targets().length >= keys.length,
        () => `${keys.length} deliveries (got ${s.targets().length})`,
      );
      await sleep(500);
      await s.caughtUp(s.target);
      const delivered = s.targets().map((r) => text(r.key));
      expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
      expect([...delivered].sort()).toEqual([...keys].sort());
      for (const e of sched.dispatched) expect(e.dispatchedAtMs).toBeGreaterThanOrEqual(e.dueMs);
      expect(sched.errors).toEqual([]);
    });

    scenario(
      'invalid records are skipped and counted (invalid event per reason); the valid schedules around them are delivered',
      {},
      async (s) => {
        const sched = await s.start();
        const nowS = seconds(realDateNow());
        const epoch = nowS + 2;
        const metas = await s.produce([
          s.raw({ key: 'valid-1', epoch }),
          s.raw({ key: 'no-type', epoch, type: null }),
          s.raw({ key: 'valid-2', epoch }),
          s.raw({ key: 'bad-epoch', epoch: 'soon' }),
          s.raw({ key: 'mismatch', epoch, epochMs: epoch * 1000 + 5000 }),
          s.raw({ key: 'no-target', epoch, target: null }),
          s.raw({ key: 'valid-3', epoch }),
        ]);
        await s.waitUntil(() => s.targets().length >= 3 && sched.dispatched.length >= 3, 'the three valid schedules');
        await s.waitUntil(
          () => sched.invalid.length >= 4,
          () => `four invalid events (got ${JSON.stringify(sched.invalid)})`,
        );
        await sleep(500);
        await s.caughtUp(s.target);
        expect(sched.invalid.map((e) => [e.offset, e.reason])).toEqual([
          [metas[1]!.offset, 'missing_source_type'],
          [metas[3]!.offset, 'bad_epoch'],
          [metas[4]!.offset, 'epoch_mismatch'],
          [metas[5]!.offset, 'missing_target_topic'],
        ]);
        expect(s.targets().map((r) => text(r.value))).toEqual(['payload-valid-1', 'payload-valid-2', 'payload-valid-3']);
        expect(sched.scheduler.partitions()[0]).toMatchObject({ invalid: 4, dispatched: 3, halted: false });
        expect(sched.errors).toEqual([]);
      },
    );

    scenario(
      'a newer schema (2.0.0) on one partition of two halts that partition only; the other keeps dispatching',
      { partitions: 2 },
      async (s) => {
        const sched = await s.start();
        const due = realDateNow() + 1500;
        await s.produce([
          s.built({ key: 'p1-before', at: due, partition: 1 }),
          s.raw({ key: 'p1-v2', epoch: seconds(due) + 1, version: '2.0.0', partition: 1 }),
          s.built({ key: 'p1-after', at: due, partition: 1 }),
          s.built({ key: 'p0-a', at: due, partition: 0 }),
        ]);
        await s.waitUntil(() => sched.errors.some((e) => e.phase === 'incompatible'), 'the halt');
        await s.waitUntil(() => s.targets().length >= 1, 'p0-a');
        const [error] = sched.errors;
        expect(sched.errors).toHaveLength(1);
        expect(error).toMatchObject({ partition: 1, phase: 'incompatible' });
        expect(IncompatibleSchemaError.isInstance(error!.error)).toBe(true);
        expect((error!.error as Error).message).toContain('2.0.0');
        const status = sched.scheduler.partitions();
        expect(status.find((p) => p.partition === 1)).toMatchObject({ state: 'stopped', halted: true });
        expect(status.find((p) => p.partition === 0)).toMatchObject({ state: 'loaded', halted: false });
        expect(sched.scheduler.isReady()).toBe(true);
        await s.waitUntil(() => s.reports(1).at(-1)?.report.state === 'stopped', 'the stopped report of partition 1');
        expect(text(s.reports(1).at(-1)!.record.key)).toBe('stopped_state');
        // The healthy partition goes on.
        await s.produce([s.built({ key: 'p0-b', at: realDateNow() + 1000, partition: 0 })]);
        await s.waitUntil(() => s.targets().length >= 2, 'p0-b');
        await sleep(due + 1500 - realDateNow());
        await s.caughtUp(s.target);
        expect(
          s
            .targets()
            .map((r) => text(r.key))
            .sort(),
        ).toEqual(['p0-a', 'p0-b']);
        expect(s.reports(0).at(-1)!.report.state).toBe('loaded');
      },
    );

    scenario(
      'never early: every delivered record was written and observed at or after its due millisecond',
      { partitions: 2 },
      async (s) => {
        const sched = await s.start();
        const now = realDateNow();
        const records: ProduceRecord[] = [];
        for (let i = 0; i < 16; i++) records.push(s.built({ key: `ms-${i}`, at: now + 700 + i * 131, partition: i % 2 }));
        // Seconds-only schedules (no ms header, as the reference writes them): due at the start of their second.
        for (let i = 0; i < 4; i++) records.push(s.raw({ key: `s-${i}`, epoch: seconds(now) + 2 + (i % 2), partition: i % 2 }));
        await s.produce(records);
        await s.waitUntil(
          () => s.targets().length >= records.length,
          () => `${records.length} deliveries (got ${s.targets().length})`,
        );
        // A batch's `dispatched` events follow its tombstones, which follow its targets.
        await s.waitUntil(
          () => sched.dispatched.length >= records.length,
          () => `${records.length} dispatched events (got ${sched.dispatched.length})`,
        );
        let maxLate = 0;
        for (const r of s.targets()) {
          const due = dueOf(r.headers);
          expect(Number.isFinite(due)).toBe(true);
          expect(r.timestamp, `CreateTime of ${text(r.key)}`).toBeGreaterThanOrEqual(due);
          expect(r.observedAtMs, `observed time of ${text(r.key)}`).toBeGreaterThanOrEqual(due);
          maxLate = Math.max(maxLate, r.timestamp - due);
        }
        for (const e of sched.dispatched) expect(e.dispatchedAtMs).toBeGreaterThanOrEqual(e.dueMs);
        expect(sched.dispatched).toHaveLength(records.length);
        expect(maxLate, 'latest CreateTime after due').toBeLessThan(10_000);
        expect(sched.errors).toEqual([]);
      },
    );

    scenario(
      'transactional: every schedule is delivered exactly once in the read-committed output, with one tombstone each',
      { partitions: 2 },
      async (s) => {
        const early = Array.from({ length: 6 }, (_, i) => s.built({ key: `early-${i}`, at: realDateNow() + 2500, partition: i % 2 }));
        await s.produce(early);
        const sched = await s.start({ transactional: true });
        const live = Array.from({ length: 6 }, (_, i) =>
          s.built({ key: `live-${i}`, at: realDateNow() + 1500 + i * 100, partition: i % 2 }),
        );
        await s.produce(live);
        const keys = [...early, ...live].map((r) => text(r.key as string)!);
        await s.waitUntil(
          () => s.targets().length >= keys.length,
          () => `${keys.length} deliveries (got ${s.targets().length})`,
        );
        await sleep(1000);
        await s.caughtUp(s.target);
        await s.caughtUp(s.schedules);
        const delivered = s.targets().map((r) => text(r.key));
        expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
        expect([...delivered].sort()).toEqual([...keys].sort());
        const tombstones = s.reader.of(s.schedules).filter((r) => r.value === null && text(r.headers[Header.sourceType]) === 'tombstone');
        expect(tombstones.map((r) => text(r.key)).sort()).toEqual([...keys].sort());
        expect(sched.flushes.length).toBeGreaterThan(0);
        expect(sched.flushes.every((f) => f.transactional)).toBe(true);
        expect(sched.dispatched.every((e) => !e.possibleDuplicate)).toBe(true);
        expect(sched.errors).toEqual([]);
      },
    );

    for (const transactional of [false, true]) {
      scenario(
        `a restarted scheduler reloads from the earliest offset: what was dispatched is not again, what is due is (transactional: ${transactional})`,
        {},
        async (s) => {
          const early = Array.from({ length: 5 }, (_, i) => s.built({ key: `early-${i}`, at: realDateNow() + 1500 }));
          await s.produce(early);
          const groupId = s.unique('group');
          const a = await s.start({ groupId, transactional });
          await s.waitUntil(() => a.dispatched.length >= 5, 'the first scheduler dispatching the early schedules');
          await a.stop();
          // Written while no scheduler runs: only the next one can dispatch them.
          const late = Array.from({ length: 3 }, (_, i) => s.built({ key: `late-${i}`, at: realDateNow() + 1500 }));
          await s.produce(late);
          const b = await s.start({ groupId, transactional });
          expect(b.loaded).toEqual([expect.objectContaining({ buffered: 3, by: 'end_offset' })]);
          await s.waitUntil(() => b.dispatched.length >= 3, 'the restarted scheduler dispatching the late schedules');
          await sleep(1000);
          await s.caughtUp(s.target);
          const delivered = s.targets().map((r) => text(r.key));
          expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
          expect([...delivered].sort()).toEqual([...early, ...late].map((r) => r.key as string).sort());
          expect(a.dispatched.map((e) => e.key).sort()).toEqual(early.map((r) => r.key as string).sort());
          expect(b.dispatched.map((e) => e.key).sort()).toEqual(late.map((r) => r.key as string).sort());
          expect([...a.errors, ...b.errors]).toEqual([]);
        },
      );
    }

    for (const transactional of [false, true]) {
      scenario(
        `two schedulers in one group split the partitions and together dispatch everything (${transactional ? 'transactional: exactly once' : 'at least once'})`,
        { partitions: 4 },
        async (s, ctx) => {
          const groupId = s.unique('group');
          const before = Array.from({ length: 8 }, (_, i) => s.built({ key: `before-${i}`, at: realDateNow() + 3000, partition: i % 4 }));
          await s.produce(before);
          const a = await s.start({ groupId, transactional });
          const b = await s.start({ groupId, transactional }, 'joined');
          const owned = (x: RunningScheduler): number => x.scheduler.partitions().length;
          await s.waitUntil(
            () => owned(a) > 0 && owned(b) > 0 && owned(a) + owned(b) === 4 && a.scheduler.isReady() && b.scheduler.isReady(),
            () =>
              `a split of the 4 partitions, all loaded (A: ${JSON.stringify(a.scheduler.partitions())}; B: ${JSON.stringify(b.scheduler.partitions())})`,
          );
          const after = Array.from({ length: 8 }, (_, i) => s.built({ key: `after-${i}`, at: realDateNow() + 1500, partition: i % 4 }));
          await s.produce(after);
          const keys = [...before, ...after].map((r) => r.key as string);
          await s.waitUntil(
            () => new Set(s.targets().map((r) => text(r.key))).size >= keys.length,
            () => `${keys.length} distinct deliveries (got ${new Set(s.targets().map((r) => text(r.key))).size})`,
          );
          await sleep(1000);
          await s.caughtUp(s.target);
          const c = counts(s.targets().map((r) => text(r.key)));
          for (const k of keys) expect(c.get(k) ?? 0, `deliveries of ${k}`).toBeGreaterThanOrEqual(1);
          expect([...c.keys()].sort()).toEqual([...keys].sort());
          const duplicates = [...c].filter(([, n]) => n > 1);
          // Transactional hand-over fences the previous owner: no duplicate in the read-committed output.
          if (transactional) expect(duplicates, 'duplicates in transactional mode').toEqual([]);
          else if (duplicates.length > 0) await ctx.annotate(`at-least-once duplicates: ${JSON.stringify(duplicates)}`);
          // Each member dispatched only from partitions it owned at the end, and both did some.
          const ownedBy = (x: RunningScheduler): Set<number> => new Set(x.scheduler.partitions().map((p) => p.partition));
          const afterKeys = new Set(after.map((r) => r.key as string));
          for (const [x, label] of [
            [a, 'A'],
            [b, 'B'],
          ] as const) {
            for (const e of x.dispatched.filter((d) => afterKeys.has(d.key)))
              expect(ownedBy(x).has(e.partition), `${label} dispatched ${e.key} of partition ${e.partition}`).toBe(true);
          }
          expect(a.dispatched.length).toBeGreaterThan(0);
          expect(b.dispatched.length).toBeGreaterThan(0);
          expect([...a.errors, ...b.errors]).toEqual([]);
        },
      );
    }

    scenario(
      'the engine’s own tombstones land on the schedule’s partition with the spec headers',
      { partitions: 3, targetPartitions: 2 },
      async (s) => {
        const sched = await s.start();
        const due = realDateNow() + 1500;
        const inputs: BuiltInput[] = [
          { key: 'explicit-0', at: due, partition: 0, targetPartition: 1, headers: { trace: 'a' } },
          { key: 'explicit-2', at: due, partition: 2, targetPartition: 0 },
          { key: 'by-partition-key', at: due, partitionKey: 'customer-9' },
          { key: 'order-42-reminder', at: due, byKey: true, targetKey: null, targetPartition: 1 },
          { key: 'foobar', at: due, byKey: true, headers: { trace: 'b' } },
        ];
        const records = inputs.map((i) => s.built(i));
        const metas = await s.produce(records);
        expect(new Set(metas.map((m) => m.partition)).size).toBeGreaterThan(1);
        await s.waitUntil(
          () => s.targets().length >= records.length,
          () => `${records.length} deliveries (got ${s.targets().length})`,
        );
        await sleep(500);
        await s.caughtUp(s.target);
        await s.caughtUp(s.schedules);
        for (const [i, record] of records.entries()) {
          const meta = metas[i]!;
          const key = record.key as string;
          const scheduleHeaders = headerTexts(record.headers ?? {});
          const tombstones = s.reader.of(s.schedules).filter((r) => text(r.key) === key && r.value === null);
          expect(
            tombstones.map((r) => r.partition),
            `tombstones of ${key}`,
          ).toEqual([meta.partition]);
          const [t] = tombstones;
          expect(t!.offset).toBeGreaterThan(meta.offset);
          expect(headerTexts(t!.headers), `tombstone headers of ${key}`).toEqual({
            ...scheduleHeaders,
            [Header.schemaVersion]: '1.0.0',
            [Header.sourceType]: 'tombstone',
            [Header.sourceOffset]: String(meta.offset),
          });
          const targets = s.targets().filter((r) => text(r.headers[Header.sourceKey]) === key);
          expect(targets, `target of ${key}`).toHaveLength(1);
          const [m] = targets;
          if (inputs[i]!.targetPartition !== undefined) expect(m!.partition).toBe(inputs[i]!.targetPartition);
          expect(text(m!.key)).toBe(inputs[i]!.targetKey === null ? null : (inputs[i]!.targetKey ?? key));
          expect(headerTexts(m!.headers)).toEqual({
            ...scheduleHeaders,
            [Header.sourceTopic]: s.schedules,
            [Header.sourcePartition]: String(meta.partition),
            [Header.sourceOffset]: String(meta.offset),
            [Header.sourceKey]: key,
          });
        }
        expect(sched.errors).toEqual([]);
      },
    );

    scenario(
      'after the head of the partition was removed, a restart reloads from low > 0 and dispatches only what is left',
      { headRemoval: true },
      async (s, ctx) => {
        const hk = await h();
        const removal = hk.deleteRecords ? 'deleteRecords' : hk.compact ? 'compact' : undefined;
        if (removal === undefined) return ctx.skip(`the ${name} harness has neither deleteRecords() nor compact()`);
        const early = Array.from({ length: 3 }, (_, i) => s.built({ key: `early-${i}`, at: realDateNow() + 1500 }));
        const metas = await s.produce(early);
        const groupId = s.unique('group');
        const a = await s.start({ groupId });
        await s.waitUntil(() => a.dispatched.length >= 3, 'the early dispatches');
        await a.stop();
        // Remove the schedules, keep their tombstones (compaction would keep the tombstones too).
        const tp = { topic: s.schedules, partition: 0 };
        const low = metas[metas.length - 1]!.offset + 1;
        if (removal === 'deleteRecords') await hk.deleteRecords!(tp, low);
        else await hk.compact!(s.schedules);
        const late = Array.from({ length: 2 }, (_, i) => s.built({ key: `late-${i}`, at: realDateNow() + 1500 }));
        await s.produce(late);
        const b = await s.start({ groupId });
        expect(b.loaded).toEqual([expect.objectContaining({ buffered: 2 })]);
        await s.waitUntil(() => b.dispatched.length >= 2, 'the late dispatches');
        await sleep(1000);
        await s.caughtUp(s.target);
        expect(b.dispatched.map((e) => e.key).sort()).toEqual(['late-0', 'late-1']);
        const delivered = s.targets().map((r) => text(r.key));
        expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
        expect(delivered).toHaveLength(5);
        // B's report: its load's first offset is past the removed head.
        await s.waitUntil(
          () => s.reports(0).some((r) => r.report.reloads === 1 && (r.report.offsets?.low ?? -1) >= low),
          'a report of the reload from low',
        );
        expect([...a.errors, ...b.errors]).toEqual([]);
      },
    );

    scenario(
      'the day change: a scheduler whose clock stands 4 s before UTC midnight dispatches across it without a reload, once each, never early',
      { laterToday: false },
      async (s) => {
        const now = realDateNow();
        const midnight = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
        // The scheduler's clock: 4 s before the next midnight (a few seconds more once loaded).
        const offset = midnight - 4000 - now;
        const filler = Array.from({ length: 2000 }, (_, i) => s.built({ key: `later-${i}`, at: midnight + 3 * DAY_MS + i }));
        for (let i = 0; i < filler.length; i += 500) await s.produce(filler.slice(i, i + 500));
        const before = Array.from({ length: 5 }, (_, i) => s.built({ key: `before-${i}`, at: midnight - 2500 + i * 100 }));
        const after = Array.from({ length: 20 }, (_, i) => s.built({ key: `after-${i}`, at: midnight + 500 + i * 100 }));
        await s.produce([...before, ...after]);
        const sched = await s.start({}, 'ready', offset);
        const keys = [...before, ...after].map((r) => text(r.key as string)!);
        await s.waitUntil(
          () => sched.dispatched.length >= keys.length,
          () => `${keys.length} dispatches across midnight (got ${sched.dispatched.length})`,
        );
        await sleep(500);
        await s.caughtUp(s.target);
        const delivered = s.targets().map((r) => text(r.key));
        expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
        expect([...delivered].sort()).toEqual([...keys].sort());
        for (const e of sched.dispatched) expect(e.dispatchedAtMs, e.key).toBeGreaterThanOrEqual(e.dueMs);
        expect(sched.dispatched.filter((e) => e.dueMs >= midnight)).toHaveLength(after.length);
        // No reload at the day change: the only read from the beginning is the first one.
        expect(sched.reloads.map((r) => r.reason)).toEqual(['assigned']);
        expect(sched.scheduler.partitions()[0]!.state).toBe('loaded');
        expect(sched.errors).toEqual([]);
      },
    );

    scenario(
      'background reads racing live updates and cancels of the same keys: the latest version of each key is dispatched once, cancelled and superseded ones never',
      {},
      async (s) => {
        // A 10 s horizon: a background read every ~5 s, each reading the 3,000 filler records.
        const filler = Array.from({ length: 3000 }, (_, i) => s.built({ key: `later-${i}`, at: realDateNow() + 3 * DAY_MS + i }));
        for (let i = 0; i < filler.length; i += 500) await s.produce(filler.slice(i, i + 500));
        const start = realDateNow();
        const sched = await s.start({ bufferHorizonMs: 10_000 });
        // Every version is due after the mutation phase ends, most of them beyond the window at
        // the time they are written: they reach the buffer through the live path or a read.
        const dueFrom = start + 14_000;
        const latest = new Map<string, string | null>();
        let version = 0;
        let seed = 7;
        const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
        while (realDateNow() < start + 11_000) {
          const key = `k-${Math.floor(random() * 25)}`;
          if (latest.get(key) && random() < 0.25) {
            await s.produce([s.cancel(key)]);
            latest.set(key, null);
          } else {
            const payload = `${key}-v${++version}`;
            await s.produce([s.built({ key, payload, at: dueFrom + Math.floor(random() * 6000) })]);
            latest.set(key, payload);
          }
          await sleep(40 + Math.floor(random() * 80));
        }
        const expected = [...latest.values()].filter((p): p is string => p !== null).sort();
        await s.waitUntil(
          () => sched.dispatched.length >= expected.length && realDateNow() > dueFrom + 6500,
          () => `${expected.length} dispatches (got ${sched.dispatched.length})`,
        );
        await sleep(1000);
        await s.caughtUp(s.target);
        const payloads = s.targets().map((r) => text(r.value));
        expect([...payloads].sort()).toEqual(expected);
        expect(sched.refills.filter((r) => r.phase === 'completed').length).toBeGreaterThanOrEqual(2);
        expect(sched.refills.filter((r) => r.phase === 'failed')).toEqual([]);
        expect(sched.reloads.map((r) => r.reason)).toEqual(['assigned']);
        for (const e of sched.dispatched) expect(e.dispatchedAtMs, e.key).toBeGreaterThanOrEqual(e.dueMs);
        expect(sched.errors).toEqual([]);
      },
    );

    for (const transactional of [false, true]) {
      scenario(
        `a partition returning to its member resumes from its position instead of re-reading (transactional: ${transactional})`,
        { partitions: 4 },
        async (s) => {
          const groupId = s.unique('group');
          const start = realDateNow();
          const scheduled = Array.from({ length: 40 }, (_, i) => s.built({ key: `s-${i}`, at: start + 2000 + i * 250, partition: i % 4 }));
          await s.produce(scheduled);
          const a = await s.start({ groupId, transactional });
          const b = await s.start({ groupId, transactional }, 'joined');
          const owned = (x: RunningScheduler): number => x.scheduler.partitions().length;
          await s.waitUntil(
            () => owned(a) > 0 && owned(b) > 0 && owned(a) + owned(b) === 4 && a.scheduler.isReady() && b.scheduler.isReady(),
            () => `a split of the 4 partitions (A: ${JSON.stringify(a.scheduler.partitions())})`,
          );
          await b.stop();
          await s.waitUntil(
            () => owned(a) === 4 && a.scheduler.isReady(),
            () => `A owning all 4 partitions again (${JSON.stringify(a.scheduler.partitions())})`,
          );
          // Each partition was read from its beginning once; every later assignment resumed.
          expect(a.reloads.filter((r) => r.reason === 'assigned')).toHaveLength(4);
          // At least the partitions B gave back (A owned them until B joined, well within 60 s).
          expect(a.reloads.filter((r) => r.reason === 'resumed').length).toBeGreaterThanOrEqual(2);
          const keys = scheduled.map((r) => text(r.key as string)!);
          await s.waitUntil(
            () => new Set(s.targets().map((r) => text(r.key))).size >= keys.length,
            () => `${keys.length} deliveries (got ${s.targets().length})`,
          );
          await sleep(1000);
          await s.caughtUp(s.target);
          const delivered = s.targets().map((r) => text(r.key));
          expect([...new Set(delivered)].sort()).toEqual([...keys].sort());
          if (transactional) expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
          expect([...a.errors, ...b.errors].filter((e) => e.phase !== 'flush')).toEqual([]);
        },
      );
    }
  });
}
