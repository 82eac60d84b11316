import {
  cancel as buildCancel,
  decodeStates,
  headerText,
  Header,
  schedule as buildSchedule,
  Scheduler,
  statesTopic,
  TOPIC_NAME_PATTERN,
  type DispatchedEvent,
  type EnvelopeInput,
  type EnvelopeRecord,
  type ErrorEvent,
  type FlushEvent,
  type InvalidEvent,
  type LoadedEvent,
  type Logger,
  type ProduceRecord,
  type RecordMetadata,
  type ReloadEvent,
  type ScheduleInput,
  type SchedulerOptionsInput,
  type StateEvent,
  type SkippedEvent,
  type UndeliverableEvent,
  type StatesReport,
  type Transport,
} from '@ksched/core';
import { FakeBroker } from './fake-broker/index.js';
import type { FakeBrokerOptions, FakeReadSpeed, FakeTransport } from './fake-broker/index.js';
import { FakeClock } from './fake-clock.js';

/** Options of {@link createTestEnvironment}. */
export interface TestEnvironmentOptions {
  /** Fake "now" at the start, Unix ms or a Date. Default: 2026-01-01T12:00:00Z. */
  readonly startAt?: number | Date;
  /** The schedules topic. Default `scheduled_messages`. */
  readonly topic?: string;
  /** Partitions of the schedules and states topics. Default 1. */
  readonly partitions?: number;
  /**
   * Whether the schedules topic is created compacted. Default true. `false` models a misconfigured
   * topic, the only way keyless records reach the scheduler (a compacted topic refuses them).
   */
  readonly compacted?: boolean;
  /**
   * Target topics to create up front (with `targetPartitions` partitions), for code under test
   * that produces envelopes itself instead of through `env.schedule`.
   */
  readonly targetTopics?: readonly string[];
  /** Partitions of target topics created on first use. Default 1. */
  readonly targetPartitions?: number;
  /** Scheduler settings beyond `topics` (which defaults to `[topic]`). */
  readonly scheduler?: Partial<SchedulerOptionsInput>;
  /** Start one scheduler member right away. Default true. */
  readonly start?: boolean;
  /** Logger given to the schedulers. */
  readonly logger?: Logger;
  /** The fake broker to use (to share one between environments). Default: a new one on the fake clock. */
  readonly broker?: FakeBroker;
  /**
   * Options of the environment's own broker (ignored with `broker`), e.g. `{ maxBatchSize: 1 }` to
   * make a load take one batch per record. Its clock is always the environment's fake clock.
   */
  readonly brokerOptions?: Omit<FakeBrokerOptions, 'clock'>;
  /**
   * How fast the environment's broker serves reads on the fake clock (ignored with `broker`), e.g.
   * `{ recordsPerSecond: 1_000 }` so that loading 10,000 schedules takes 10 s of fake time: the
   * scheduler's batches and partition reads only arrive as `env.advance` moves the clock.
   * Shorthand for `brokerOptions.readSpeed`. Default: reads take no fake time.
   */
  readonly readSpeed?: FakeReadSpeed;
}

/** A message the scheduler produced to a target topic, decoded for assertions. */
export interface DispatchedMessage {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  /** Key as text, `null` when keyless. */
  readonly key: string | null;
  /** Value as UTF-8 text, `null` for a null value. */
  readonly value: string | null;
  /** Headers as text. */
  readonly headers: Readonly<Record<string, string>>;
  /** When it was written (fake clock), Unix ms. */
  readonly timestamp: number;
  /** Its due time from the headers, Unix ms. */
  readonly dueMs: number;
  /** The schedule's key (`schedule_source_key`). */
  readonly scheduleKey: string | undefined;
}

/** What one scheduler member reported through its events, in emission order. */
export interface RecordedEvents {
  readonly dispatched: DispatchedEvent[];
  readonly invalid: InvalidEvent[];
  readonly loaded: LoadedEvent[];
  readonly errors: ErrorEvent[];
  /** `reload` events: one per (re)load of a partition (assignment, UTC midnight). */
  readonly reloads: ReloadEvent[];
  /** `flush` events: one per successfully produced dispatch batch. */
  readonly flushes: FlushEvent[];
  /** `state` events: every state change of every partition. */
  readonly states: StateEvent[];
  /** `undeliverable` events: schedules dead-lettered (or kept, without a dead-letter topic) because they cannot be delivered. */
  readonly undeliverable: UndeliverableEvent[];
  /** `skipped` events: valid schedules not dispatched, with the reason (the epoch floor). */
  readonly skipped: SkippedEvent[];
}

/** Options of {@link TestEnvironment.addMember} beyond the scheduler settings. */
export interface AddMemberOptions {
  /**
   * Wraps the member's `FakeTransport` before the scheduler gets it, to observe or alter what the
   * engine does through the port (e.g. record each `sendInTransaction`, or produce on every batch).
   * `Member.transport` stays the unwrapped `FakeTransport` (for `broker.faults.dropMember`).
   */
  readonly wrapTransport?: (transport: FakeTransport) => Transport;
  /** Most records per batch delivered to this member (default: the broker's `maxBatchSize`). */
  readonly maxBatchSize?: number;
}

/** A scheduler member of the environment with its transport and the events it emitted. */
export interface Member {
  readonly scheduler: Scheduler;
  readonly transport: FakeTransport;
  readonly events: RecordedEvents;
}

type ScheduleArgs = Omit<ScheduleInput, 'envelope'> & { readonly envelope?: Partial<EnvelopeInput> };

const DEFAULT_START = 1_767_268_800_000; // 2026-01-01T12:00:00Z

const text = (value: string | Uint8Array | null): string | null =>
  value === null ? null : typeof value === 'string' ? value : new TextDecoder().decode(value);

/**
 * A scheduler running on fake time against an in-memory Kafka: schedule messages, move time,
 * and assert what was dispatched, in milliseconds of real time per day of fake time.
 *
 * @example
 * ```ts
 * await using env = await createTestEnvironment();
 * await env.schedule({ message: { topic: 'emails', payload: 'hi' }, delayMs: 60_000 });
 * await env.advance(59_999);
 * expect(env.dispatched('emails')).toHaveLength(0);
 * await env.advance(1);
 * expect(env.dispatched('emails')[0]?.value).toBe('hi');
 * ```
 */
export class TestEnvironment implements AsyncDisposable {
  readonly clock: FakeClock;
  readonly broker: FakeBroker;
  readonly topic: string;
  /** The transport the environment's own `schedule`/`cancel`/`produce` calls use. */
  readonly producer: FakeTransport;
  readonly members: Member[] = [];
  readonly #options: TestEnvironmentOptions;
  #closed = false;
  #memberSeq = 0;
  readonly #dropped: Member[] = [];

  private constructor(options: TestEnvironmentOptions) {
    this.#options = options;
    const start =
      options.startAt === undefined ? DEFAULT_START : typeof options.startAt === 'number' ? options.startAt : options.startAt.getTime();
    this.clock = new FakeClock({ now: start });
    const readSpeed = options.readSpeed ?? options.brokerOptions?.readSpeed;
    this.broker =
      options.broker ?? new FakeBroker({ ...options.brokerOptions, clock: this.clock, ...(readSpeed === undefined ? {} : { readSpeed }) });
    this.topic = options.topic ?? 'scheduled_messages';
    const partitions = options.partitions ?? 1;
    if (!this.broker.hasTopic(this.topic)) this.broker.createTopic(this.topic, { partitions, compacted: options.compacted ?? true });
    const states = statesTopic(this.topic, options.scheduler?.statesPostfix ?? '_states');
    if (!this.broker.hasTopic(states)) this.broker.createTopic(states, { partitions, compacted: true });
    for (const target of options.targetTopics ?? []) this.#ensureTarget(target);
    this.producer = this.broker.createTransport({ clientId: 'test-producer', clock: this.clock });
  }

  /** Creates the environment (and, unless `start: false`, starts one scheduler member). */
  static async create(options: TestEnvironmentOptions = {}): Promise<TestEnvironment> {
    const env = new TestEnvironment(options);
    await env.producer.connect();
    if (options.start !== false) await env.addMember();
    return env;
  }

  /** The first member's scheduler. */
  get scheduler(): Scheduler {
    const first = this.members[0];
    if (!first) throw new Error('no scheduler member: create the environment with start: true or call addMember()');
    return first.scheduler;
  }

  /** The first member's events. */
  get events(): RecordedEvents {
    const first = this.members[0];
    if (!first) throw new Error('no scheduler member');
    return first.events;
  }

  /**
   * Starts one more scheduler in the same group (a rebalance follows) and settles. `options`
   * override the environment's scheduler settings for this member.
   */
  async addMember(options: Partial<SchedulerOptionsInput> = {}, init: AddMemberOptions = {}): Promise<Member> {
    const transport = this.broker.createTransport({
      clientId: `scheduler-${++this.#memberSeq}`,
      clock: this.clock,
      ...(init.maxBatchSize !== undefined ? { maxBatchSize: init.maxBatchSize } : {}),
    });
    const scheduler = new Scheduler({
      transport: init.wrapTransport ? init.wrapTransport(transport) : transport,
      clock: this.clock,
      options: { topics: [this.topic], ...this.#options.scheduler, ...options },
      ...(this.#options.logger ? { logger: this.#options.logger } : {}),
    });
    const events: RecordedEvents = {
      dispatched: [],
      invalid: [],
      loaded: [],
      errors: [],
      reloads: [],
      flushes: [],
      states: [],
      undeliverable: [],
      skipped: [],
    };
    scheduler.on('dispatched', (e) => events.dispatched.push(e));
    scheduler.on('invalid', (e) => events.invalid.push(e));
    scheduler.on('loaded', (e) => events.loaded.push(e));
    scheduler.on('error', (e) => events.errors.push(e));
    scheduler.on('reload', (e) => events.reloads.push(e));
    scheduler.on('flush', (e) => events.flushes.push(e));
    scheduler.on('state', (e) => events.states.push(e));
    scheduler.on('undeliverable', (e) => events.undeliverable.push(e));
    scheduler.on('skipped', (e) => events.skipped.push(e));
    const member: Member = { scheduler, transport, events };
    this.members.push(member);
    await scheduler.start();
    await this.settle();
    return member;
  }

  /** Stops a member gracefully (reports `stopped`, leaves the group) and settles. */
  async stopMember(member: Member): Promise<void> {
    await member.scheduler.stop();
    this.members.splice(this.members.indexOf(member), 1);
    await this.settle();
  }

  /**
   * Crashes a member (session timeout, SIGKILL, SIGSTOP): it leaves the group at once without
   * `onRevoked`, its partitions move to the remaining members, and it is never called by the
   * broker again (its engines' timers and producers still run, like a zombie's). Settles.
   * {@link TestEnvironment.close} still stops it at the end.
   */
  async dropMember(member: Member): Promise<void> {
    const i = this.members.indexOf(member);
    if (i >= 0) this.members.splice(i, 1);
    this.#dropped.push(member);
    await this.broker.faults.dropMember(member.transport);
    await this.settle();
  }

  /** Builds an envelope with the core builder on the fake clock (envelope topic defaults to the schedules topic) and produces it. */
  async schedule(args: ScheduleArgs): Promise<EnvelopeRecord & { readonly partition: number; readonly offset: number }> {
    const { envelope, ...rest } = args;
    const record = buildSchedule({ ...rest, envelope: { topic: this.topic, ...envelope } } as ScheduleInput, { clock: this.clock });
    this.#ensureTarget(record.headers[Header.targetTopic]);
    const [meta] = await this.produce([record]);
    await this.settle();
    return { ...record, partition: meta!.partition, offset: meta!.offset };
  }

  /** Produces a cancel for `key` (give the schedule's `partition` or `partitionKey`) and settles. */
  async cancel(key: string, envelope: Partial<Omit<EnvelopeInput, 'key'>> = {}): Promise<RecordMetadata> {
    const record = buildCancel({ key, envelope: { topic: this.topic, ...envelope } }, { clock: this.clock });
    const [meta] = await this.produce([record]);
    await this.settle();
    return meta!;
  }

  /** Produces raw records (hand-made envelopes, garbage, tombstones) as they are. */
  async produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    for (const record of records) {
      const target = record.headers?.[Header.targetTopic];
      if (record.topic === this.topic && target !== undefined) this.#ensureTarget(target);
    }
    return this.producer.produce(records);
  }

  /** Moves fake time forward by `ms`, running due timers and the async work they start, then settles. */
  async advance(ms: number): Promise<void> {
    await this.settle();
    await this.clock.tickAsync(ms);
    await this.settle();
  }

  /** Moves fake time forward to `at` (Unix ms or Date). */
  async advanceTo(at: number | Date): Promise<void> {
    const ms = typeof at === 'number' ? at : at.getTime();
    await this.advance(Math.max(0, ms - this.clock.now()));
  }

  /** Waits until the broker has delivered everything and every callback settled. */
  async settle(): Promise<void> {
    await this.broker.settle();
  }

  /** Committed messages on a target topic (all target topics when omitted), in offset order per partition. */
  dispatched(topic?: string): DispatchedMessage[] {
    const topics = topic === undefined ? this.#targets : new Set([topic]);
    const out: DispatchedMessage[] = [];
    for (const t of topics) {
      if (!this.broker.hasTopic(t)) continue;
      for (const r of this.broker.readCommitted(t)) {
        const headers: Record<string, string> = {};
        for (const name of Object.keys(r.headers)) headers[name] = headerText(r.headers, name) ?? '';
        const ms = headers[Header.targetEpochMs];
        const s = headers[Header.targetEpoch];
        out.push({
          topic: r.topic,
          partition: r.partition,
          offset: r.offset,
          key: text(r.key),
          value: text(r.value),
          headers,
          timestamp: r.timestamp,
          dueMs: ms !== undefined ? Number(ms) : Number(s) * 1000,
          scheduleKey: headers[Header.sourceKey],
        });
      }
    }
    return out;
  }

  /** Decoded states reports of a partition (all partitions when omitted), oldest first. */
  states(partition?: number): (StatesReport & { readonly key: string; readonly partition: number })[] {
    const topic = statesTopic(this.topic, this.#options.scheduler?.statesPostfix ?? '_states');
    return this.broker
      .readCommitted(topic, partition)
      .filter((r) => r.value !== null)
      .map((r) => ({ ...decodeStates(r.value!), key: text(r.key) ?? '', partition: r.partition }));
  }

  /** The latest states report of a partition. */
  lastState(partition = 0): (StatesReport & { readonly key: string }) | undefined {
    return this.states(partition).at(-1);
  }

  /** Stops every member and closes the producer. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const member of [...this.members].reverse()) await member.scheduler.stop();
    this.members.length = 0;
    for (const member of this.#dropped.splice(0)) await member.scheduler.stop().catch(() => {});
    await this.producer.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  readonly #targets = new Set<string>();

  #ensureTarget(name: string | Uint8Array | undefined): void {
    const topic = text(name ?? null);
    if (topic === null || !TOPIC_NAME_PATTERN.test(topic)) return;
    this.#targets.add(topic);
    if (!this.broker.hasTopic(topic)) this.broker.createTopic(topic, { partitions: this.#options.targetPartitions ?? 1 });
  }
}

/** Creates a {@link TestEnvironment}. */
export function createTestEnvironment(options: TestEnvironmentOptions = {}): Promise<TestEnvironment> {
  return TestEnvironment.create(options);
}
