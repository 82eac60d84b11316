/**
 * Prometheus metrics of the scheduler, fed by the core scheduler's events and its partition
 * snapshots, rendered in the Prometheus text exposition format by prom-client.
 *
 * @module
 */
import type { PartitionStatus, SchedulerEventMap, SchedulerListener, StateName } from '@ksched/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the metrics read from: a `Scheduler` (or anything with its `on` and `partitions`). */
export interface MetricsSource {
  on<K extends keyof SchedulerEventMap>(name: K, listener: SchedulerListener<K>): () => void;
  partitions(): PartitionStatus[];
}

/** Options of {@link SchedulerMetrics}. */
export interface SchedulerMetricsOptions {
  /**
   * The prom-client registry to register the metrics in: your application's, when you embed the
   * scheduler, so one `/metrics` shows both. Default a registry of their own.
   */
  readonly registry?: Registry;
  /** Also export Node.js process metrics (`process_*`, `nodejs_*`). Default true with a registry of their own, false with yours (you likely collect them already). */
  readonly processMetrics?: boolean;
  /** "Now" for `ksched_window_ahead_seconds`, Unix ms: the scheduler's clock. Default `Date.now`. */
  readonly now?: () => number;
}

/** Readiness as `/readyz` computes it. */
export interface Readiness {
  readonly ready: boolean;
  /** Result of the last broker check; undefined before the first. */
  readonly brokerReachable?: boolean;
}

const STATES: readonly StateName[] = ['fresh', 'loading', 'loaded', 'stopped'];
const tpLabels = (e: { topic: string; partition: number }) => ({ topic: e.topic, partition: String(e.partition) });

/**
 * The scheduler's metrics registry.
 *
 * | metric | type | labels |
 * | --- | --- | --- |
 * | `ksched_schedules_buffered` | gauge | topic, partition |
 * | `ksched_partition_state` | gauge (1 = current state) | topic, partition, state |
 * | `ksched_partition_halted` | gauge | topic, partition |
 * | `ksched_dispatched_total` | counter | topic, partition |
 * | `ksched_possible_duplicates_total` | counter | topic, partition |
 * | `ksched_dispatch_lateness_seconds` | histogram | topic |
 * | `ksched_invalid_records_total` | counter | topic, partition, reason |
 * | `ksched_dead_lettered_total` | counter | topic, partition |
 * | `ksched_undeliverable_total` | counter | topic, partition, reason, action |
 * | `ksched_skipped_schedules_total` | counter | topic, partition, reason |
 * | `ksched_load_duration_seconds` | histogram | topic |
 * | `ksched_reloads_total` | counter | topic, partition, reason |
 * | `ksched_flushes_total` | counter | topic, partition |
 * | `ksched_flush_duration_seconds` | histogram | topic |
 * | `ksched_flush_errors_total` | counter | topic, partition |
 * | `ksched_errors_total` | counter | topic, partition, phase |
 * | `ksched_ready` | gauge | — |
 * | `ksched_broker_reachable` | gauge | — |
 *
 * @example
 * ```ts
 * const metrics = new SchedulerMetrics();
 * metrics.attach(scheduler);
 * response.setHeader('content-type', metrics.contentType);
 * response.end(await metrics.render());
 * ```
 */
export class SchedulerMetrics {
  readonly registry: Registry;
  readonly #states = new Map<string, { topic: string; partition: number; state: StateName; halted: boolean }>();
  #source: MetricsSource | undefined;
  #readiness: (() => Readiness) | undefined;

  readonly dispatched: Counter<'topic' | 'partition'>;
  readonly possibleDuplicates: Counter<'topic' | 'partition'>;
  readonly lateness: Histogram<'topic'>;
  readonly invalid: Counter<'topic' | 'partition' | 'reason'>;
  readonly deadLettered: Counter<'topic' | 'partition'>;
  readonly undeliverable: Counter<'topic' | 'partition' | 'reason' | 'action'>;
  readonly skipped: Counter<'topic' | 'partition' | 'reason'>;
  readonly loadDuration: Histogram<'topic'>;
  readonly reloads: Counter<'topic' | 'partition' | 'reason'>;
  readonly flushes: Counter<'topic' | 'partition'>;
  readonly flushDuration: Histogram<'topic'>;
  readonly flushErrors: Counter<'topic' | 'partition'>;
  readonly errors: Counter<'topic' | 'partition' | 'phase'>;
  readonly refills: Counter<'topic' | 'partition' | 'result'>;
  readonly refillDuration: Histogram<'topic'>;
  readonly horizonShortened: Counter<'topic' | 'partition'>;

  constructor(options: SchedulerMetricsOptions = {}) {
    this.registry = options.registry ?? new Registry();
    const registers = [this.registry];
    this.#partitionGauges(registers, options.now ?? Date.now);
    this.dispatched = new Counter({
      name: 'ksched_dispatched_total',
      help: 'Schedules dispatched (target and tombstone produced).',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.possibleDuplicates = new Counter({
      name: 'ksched_possible_duplicates_total',
      help: 'Dispatched schedules whose target may have been written twice (an earlier at-least-once flush failed).',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.lateness = new Histogram({
      name: 'ksched_dispatch_lateness_seconds',
      help: 'Time from the due time to the acknowledged dispatch, seconds.',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    });
    this.invalid = new Counter({
      name: 'ksched_invalid_records_total',
      help: 'Schedules-topic records that could not be used (counted once, logged and skipped), by reason.',
      labelNames: ['topic', 'partition', 'reason'],
      registers,
    });
    this.deadLettered = new Counter({
      name: 'ksched_dead_lettered_total',
      help: 'Invalid records copied to the dead-letter topic.',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.undeliverable = new Counter({
      name: 'ksched_undeliverable_total',
      help:
        'Valid schedules that cannot be delivered (reason: refused, target_missing, too_large, failing), by what was done ' +
        '(action: dead_lettered, tombstoned and no longer retried; kept, no dead-letter topic set: retried every 5 minutes).',
      labelNames: ['topic', 'partition', 'reason', 'action'],
      registers,
    });
    this.skipped = new Counter({
      name: 'ksched_skipped_schedules_total',
      help: 'Valid schedules not dispatched, by reason (epoch_floor: due more than an hour before the newest dispatched one).',
      labelNames: ['topic', 'partition', 'reason'],
      registers,
    });
    this.loadDuration = new Histogram({
      name: 'ksched_load_duration_seconds',
      help: 'Time from the start of a partition load to loaded, seconds.',
      labelNames: ['topic'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.reloads = new Counter({
      name: 'ksched_reloads_total',
      help: 'Partition loads started, by reason (assigned: from the beginning; resumed: from its position after coming back).',
      labelNames: ['topic', 'partition', 'reason'],
      registers,
    });
    this.flushes = new Counter({
      name: 'ksched_flushes_total',
      help: "Dispatch produce calls (a transaction, or one batch's tombstones with a later batch's targets).",
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.flushDuration = new Histogram({
      name: 'ksched_flush_duration_seconds',
      help: 'Time of one dispatch produce call, seconds.',
      labelNames: ['topic'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.flushErrors = new Counter({
      name: 'ksched_flush_errors_total',
      help: 'Failed dispatch batches (each is retried).',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.errors = new Counter({
      name: 'ksched_errors_total',
      help: 'Errors by phase (flush, load, incompatible, transactions, states, dead_letter, refill).',
      labelNames: ['topic', 'partition', 'phase'],
      registers,
    });
    this.refills = new Counter({
      name: 'ksched_refills_total',
      help: 'Background reads of a partition that move its window forward, by result (completed, failed).',
      labelNames: ['topic', 'partition', 'result'],
      registers,
    });
    this.refillDuration = new Histogram({
      name: 'ksched_refill_duration_seconds',
      help: 'Time from the start of a background read to its merge, seconds.',
      labelNames: ['topic'],
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers,
    });
    this.horizonShortened = new Counter({
      name: 'ksched_horizon_shortened_total',
      help: 'Times a partition reached bufferMaxBytes and its window was shortened (no schedule is dropped).',
      labelNames: ['topic', 'partition'],
      registers,
    });
    this.#readinessGauges(registers);
    if (options.processMetrics ?? options.registry === undefined) collectDefaultMetrics({ register: this.registry });
  }

  /** Gauges of each partition's current state, filled in at scrape time (prom-client calls `collect`). */
  #partitionGauges(registers: Registry[], now: () => number): void {
    const buffered: Gauge<'topic' | 'partition'> = new Gauge({
      name: 'ksched_schedules_buffered',
      help: 'Schedules held in memory (due before the window end, overdue ones included), per assigned partition.',
      labelNames: ['topic', 'partition'],
      registers,
      collect: () => {
        buffered.reset();
        for (const p of this.#source?.partitions() ?? []) buffered.set(tpLabels(p), p.buffered);
      },
    });
    const bufferedBytes: Gauge<'topic' | 'partition'> = new Gauge({
      name: 'ksched_buffer_bytes',
      help: 'Estimated bytes of the schedules held in memory, per assigned partition (bounded by bufferMaxBytes).',
      labelNames: ['topic', 'partition'],
      registers,
      collect: () => {
        bufferedBytes.reset();
        for (const p of this.#source?.partitions() ?? []) bufferedBytes.set(tpLabels(p), p.bufferedBytes);
      },
    });
    const windowAhead: Gauge<'topic' | 'partition'> = new Gauge({
      name: 'ksched_window_ahead_seconds',
      help: 'How far ahead of now every schedule is in memory (window end − now), seconds, per assigned partition.',
      labelNames: ['topic', 'partition'],
      registers,
      collect: () => {
        windowAhead.reset();
        const nowMs = now();
        for (const p of this.#source?.partitions() ?? []) windowAhead.set(tpLabels(p), (p.windowEndMs - nowMs) / 1000);
      },
    });
    const partitionState: Gauge<'topic' | 'partition' | 'state'> = new Gauge({
      name: 'ksched_partition_state',
      help: 'State of each partition this process has owned: 1 for its current state (fresh, loading, loaded, stopped), 0 otherwise.',
      labelNames: ['topic', 'partition', 'state'],
      registers,
      collect: () => {
        partitionState.reset();
        for (const s of this.#states.values()) {
          for (const state of STATES) partitionState.set({ ...tpLabels(s), state }, s.state === state ? 1 : 0);
        }
      },
    });
    const halted: Gauge<'topic' | 'partition'> = new Gauge({
      name: 'ksched_partition_halted',
      help: 'Whether the partition is halted by a record of a newer schema version (1) or not (0).',
      labelNames: ['topic', 'partition'],
      registers,
      collect: () => {
        halted.reset();
        for (const s of this.#states.values()) halted.set(tpLabels(s), s.halted ? 1 : 0);
      },
    });
  }

  /** Gauges of what `/readyz` answers, filled in at scrape time. */
  #readinessGauges(registers: Registry[]): void {
    const ready: Gauge = new Gauge({
      name: 'ksched_ready',
      help: 'Whether every assigned partition is loaded (or the member is a standby with none) and the broker is reachable (what /readyz answers).',
      registers,
      collect: () => ready.set(this.#readiness?.().ready === true ? 1 : 0),
    });
    const reachable: Gauge = new Gauge({
      name: 'ksched_broker_reachable',
      help: 'Whether the last broker check succeeded (1) or failed, or none answered yet (0).',
      registers,
      collect: () => reachable.set(this.#readiness?.().brokerReachable === true ? 1 : 0),
    });
  }

  /** Subscribes to a scheduler's events; returns the function that detaches. */
  attach(source: MetricsSource): () => void {
    this.#source = source;
    const offs = [
      source.on('dispatched', (e) => {
        this.dispatched.inc(tpLabels(e));
        if (e.possibleDuplicate) this.possibleDuplicates.inc(tpLabels(e));
        this.lateness.observe({ topic: e.topic }, Math.max(0, e.lateMs) / 1000);
      }),
      source.on('invalid', (e) => {
        this.invalid.inc({ ...tpLabels(e), reason: e.reason });
        if (e.deadLettered) this.deadLettered.inc(tpLabels(e));
      }),
      source.on('undeliverable', (e) => this.undeliverable.inc({ ...tpLabels(e), reason: e.reason, action: e.action })),
      source.on('skipped', (e) => this.skipped.inc({ ...tpLabels(e), reason: e.reason })),
      source.on('loaded', (e) => this.loadDuration.observe({ topic: e.topic }, e.durationMs / 1000)),
      source.on('reload', (e) => this.reloads.inc({ ...tpLabels(e), reason: e.reason })),
      source.on('refill', (e) => {
        if (e.phase === 'started') return;
        this.refills.inc({ ...tpLabels(e), result: e.phase });
        if (e.phase === 'completed' && e.durationMs !== undefined) this.refillDuration.observe({ topic: e.topic }, e.durationMs / 1000);
      }),
      source.on('horizon', (e) => this.horizonShortened.inc(tpLabels(e))),
      source.on('flush', (e) => {
        this.flushes.inc(tpLabels(e));
        this.flushDuration.observe({ topic: e.topic }, e.durationMs / 1000);
      }),
      source.on('error', (e) => {
        this.errors.inc({ ...tpLabels(e), phase: e.phase });
        if (e.phase === 'flush') this.flushErrors.inc(tpLabels(e));
      }),
      source.on('state', (e) =>
        this.#states.set(`${e.topic}\u0000${e.partition}`, { topic: e.topic, partition: e.partition, state: e.state, halted: e.halted }),
      ),
    ];
    return () => {
      for (const off of offs) off();
      if (this.#source === source) this.#source = undefined;
    };
  }

  /** Where `ksched_ready` and `ksched_broker_reachable` are read from at each scrape. */
  setReadiness(readiness: () => Readiness): void {
    this.#readiness = readiness;
  }

  /** The `Content-Type` of {@link SchedulerMetrics.render}'s output. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The metrics in the Prometheus text format. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
