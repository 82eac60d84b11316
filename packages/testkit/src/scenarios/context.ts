/**
 * The engine scenarios' machinery: the harness shared by a suite run, and each scenario's own
 * topics, reader, producer and record builders ({@link Scenario}), closed when the scenario ends.
 *
 * @module
 */
import { afterAll, expect, it } from 'vitest';
import type { TestContext } from 'vitest';
import {
  cancel as buildCancel,
  decodeStates,
  DAY_MS,
  Header,
  schedule as buildSchedule,
  Scheduler,
  statesTopic,
  systemClock,
} from '@ksched/core';
import type { ProduceRecord, SchedulerOptionsInput, Transport } from '@ksched/core';
import { Reader } from './reader.js';
import { MIDNIGHT_MARGIN_MS, realDateNow, sleep } from './support.js';
import type { BuiltInput, EngineScenarioHarness, EngineScenarioOptions, RawInput, RunningScheduler, Scenario } from './types.js';

/** What a scenario asks for: its partition counts, whether it needs "later today", whether it removes the head. */
export interface ScenarioSetup {
  readonly partitions?: number;
  readonly targetPartitions?: number;
  readonly laterToday?: boolean;
  readonly headRemoval?: boolean;
}

/** Declares one scenario (a vitest `it`): its own topics, reader and producer, closed when it ends. */
export type DeclareScenario = (title: string, setup: ScenarioSetup, body: (s: Scenario, ctx: TestContext) => Promise<void>) => void;

/** What every group of scenarios receives. */
export interface ScenarioContext {
  readonly scenario: DeclareScenario;
  /** The adapter's name, as given to `describeEngineScenarios`. */
  readonly name: string;
  /** The suite run's harness, created on first use. */
  harness(): Promise<EngineScenarioHarness>;
}

/** Unique names within one suite run. */
type Namer = (hk: EngineScenarioHarness, label: string) => string;

/**
 * The context of one suite run. Call it inside the suite's `describe` callback: the harness is
 * created on first use (concurrent scenarios share it) and cleaned up after the suite.
 */
export function createScenarioContext(
  name: string,
  factory: () => Promise<EngineScenarioHarness>,
  options: EngineScenarioOptions,
): ScenarioContext {
  let harness: EngineScenarioHarness | undefined;
  let ready: Promise<EngineScenarioHarness> | undefined;
  const run = `${realDateNow().toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`;
  let names = 0;
  const namer: Namer = (hk, label) => `${hk.namePrefix ?? 'ksched-engine'}-${label}-${run}-${++names}`;

  // Created on first use rather than in beforeAll: concurrent scenarios share one harness.
  const h = (): Promise<EngineScenarioHarness> => (ready ??= factory().then((x) => (harness = x)));

  afterAll(async () => {
    if (harness) await harness.cleanup();
  });

  const scenario: DeclareScenario = (title, setup, body) => {
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
          const s = await openScenario(hk, setup, dispose, (label) => namer(hk, label));
          await body(s, ctx);
          expect(s.reader.errors).toEqual([]);
        } finally {
          for (const d of dispose.reverse()) await d().catch(() => {});
        }
      },
      options.testTimeoutMs,
    );
  };
  return { scenario, name, harness: h };
}

type WaitUntil = Scenario['waitUntil'];

function poller(timeoutMs: number): WaitUntil {
  return async (check, what) => {
    const deadline = realDateNow() + timeoutMs;
    for (;;) {
      if (await check()) return;
      if (realDateNow() > deadline)
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
      await sleep(10);
    }
  };
}

/** Creates the scenario's topics, its producer and its reader (once it owns every partition), and its helpers. */
async function openScenario(
  hk: EngineScenarioHarness,
  setup: ScenarioSetup,
  dispose: (() => Promise<void>)[],
  unique: (label: string) => string,
): Promise<Scenario> {
  const waitUntil = poller(hk.timeoutMs ?? 30_000);
  const partitions = setup.partitions ?? 1;
  const schedules = unique('sched');
  const states = statesTopic(schedules);
  const target = unique('target');

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

  return {
    schedules,
    states,
    target,
    partitions,
    producer,
    reader,
    unique,
    waitUntil,
    start: (overrides = {}, wait = 'ready', clockOffsetMs = 0) =>
      startScheduler({ hk, dispose, waitUntil, schedules, unique }, overrides, wait, clockOffsetMs),
    produce: (records) => producer.produce(records),
    raw: (input) => rawRecord(input, schedules, target),
    built: (input) => builtRecord(input, schedules, target),
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
}

interface StartDeps {
  readonly hk: EngineScenarioHarness;
  readonly dispose: (() => Promise<void>)[];
  readonly waitUntil: WaitUntil;
  readonly schedules: string;
  readonly unique: (label: string) => string;
}

/** `Scenario.start`: a scheduler on a new transport, recording its events, stopped when the scenario ends. */
async function startScheduler(
  { hk, dispose, waitUntil, schedules, unique }: StartDeps,
  overrides: Partial<SchedulerOptionsInput>,
  wait: 'ready' | 'joined',
  clockOffsetMs: number,
): Promise<RunningScheduler> {
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
}

/** `Scenario.raw`: a hand-made schedules-topic record (no builder checks). */
function rawRecord(input: RawInput, schedules: string, target: string): ProduceRecord {
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
}

/** `Scenario.built`: a schedule built with core's builder. */
function builtRecord(input: BuiltInput, schedules: string, target: string): ProduceRecord {
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
}
