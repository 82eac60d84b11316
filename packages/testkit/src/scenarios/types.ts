/**
 * The types of the engine scenarios: what an adapter gives the suite, and what a scenario gets.
 *
 * @module
 */
import type {
  ConsumedRecord,
  DispatchedEvent,
  ErrorEvent,
  FlushEvent,
  InvalidEvent,
  LoadedEvent,
  ProduceRecord,
  RecordMetadata,
  RefillEvent,
  ReloadEvent,
  Scheduler,
  SchedulerOptionsInput,
  StatesReport,
  TopicPartition,
  Transport,
} from '@ksched/core';
import type { Reader } from './reader.js';

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
export interface RawInput {
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
export interface BuiltInput {
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
export interface Scenario {
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
