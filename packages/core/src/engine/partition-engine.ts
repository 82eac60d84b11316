import { Header, SCHEMA_VERSION } from '../contracts/headers.js';
import type { SchedulerOptions } from '../contracts/options.js';
import { DailyBuffer } from '../domain/daily-buffer.js';
import { Day } from '../domain/day.js';
import { MaxEpoch } from '../domain/max-epoch.js';
import { State } from '../domain/state.js';
import { Tracker } from '../domain/tracker.js';
import { MAX_TIMER_DELAY_MS, type Clock, type TimerHandle } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type {
  ConsumedRecord,
  PartitionBatch,
  ProduceRecord,
  TransactionalProducer,
  Transport,
} from '../ports/transport.js';
import { decodeRecord, type InvalidReason, type TargetRouting } from '../wire/decode.js';
import { dispatchPair } from '../wire/dispatch.js';
import { statesRecord } from '../wire/states.js';
import type { ErrorEvent, SchedulerEvents } from './events.js';
import { FencedError, IncompatibleSchemaError } from '../errors.js';

/** What the engine keeps per buffered schedule: the record (for the target) and its routing. */
interface Pending {
  readonly record: ConsumedRecord;
  readonly target: TargetRouting;
}

/** Dependencies of one partition's engine. */
export interface PartitionEngineOptions {
  readonly topic: string;
  readonly partition: number;
  readonly transport: Transport;
  readonly clock: Clock;
  readonly options: SchedulerOptions;
  readonly events: SchedulerEvents;
  readonly logger: Logger;
  /** Set in transactional mode: the partition's own producer, initialised by {@link PartitionEngine.start}. */
  readonly transactionalProducer?: TransactionalProducer;
}

/** A point-in-time view of one partition, for health checks and metrics. */
export interface PartitionStatus {
  readonly topic: string;
  readonly partition: number;
  readonly state: 'fresh' | 'loading' | 'loaded' | 'stopped';
  readonly halted: boolean;
  readonly buffered: number;
  readonly reloads: number;
  /** The end offset the current load waits for. */
  readonly endOffset: number;
  /** The consumer position after the last handled batch. */
  readonly position: number;
  readonly invalid: number;
  readonly dispatched: number;
  /** Due time of the earliest buffered schedule, Unix ms. */
  readonly nextDueMs?: number;
}

const MAX_BACKOFF_MS = 30_000;
const MAX_REMEMBERED_INVALID = 100_000;
const COMMIT_INTERVAL_MS = 1000;

/**
 * The scheduler of one schedules-topic partition (reference §4–5 with ksched's fixes).
 *
 * `fresh` → `start()` → `loading` (re-reads the partition from its logical beginning, holding
 * only today's and overdue schedules) → `loaded` once the consumer position reaches the end
 * offset seen when the load began (or by the reference's 15 s heuristic on a partition that is
 * never idle) → dispatches each schedule when its due millisecond comes, from one timer armed for
 * the earliest entry → `stopped` on revocation, shutdown, or a record of a newer schema (halted).
 *
 * Dispatch produces target + tombstone pairs in batches of at most `flushBatchSize` records that
 * never split a pair; each batch is one transaction when a transactional producer is given. A key
 * leaves the buffer only after its batch succeeded, and a failed batch leaves nothing behind: the
 * retry re-derives from the buffer after a back-off.
 */
export class PartitionEngine {
  readonly topic: string;
  readonly partition: number;
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #options: SchedulerOptions;
  readonly #events: SchedulerEvents;
  readonly #logger: Logger;
  readonly #tx: TransactionalProducer | undefined;
  readonly #pairsPerBatch: number;

  readonly #state = new State();
  readonly #maxEpoch = new MaxEpoch();
  #buffer = new DailyBuffer<Pending>();
  #today: Day;
  #tracker: Tracker;
  #reloads = 0;
  /** Bumped by every reload and stop: async work started under an older generation is dropped. */
  #generation = 0;
  #seeking = false;
  #halted = false;
  #endOffset = 0;
  #position = 0;
  #loadStartedMs: number;

  #timer: TimerHandle | undefined;
  #timerAtMs = Number.POSITIVE_INFINITY;
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #retryAtMs = 0;
  /** `key@offset` of schedules that were in a failed at-least-once flush (possible duplicates). */
  readonly #suspects = new Set<string>();
  readonly #invalidSeen = new Set<number>();
  #invalidCount = 0;
  #dispatchedCount = 0;
  #lastReportMs = Number.NEGATIVE_INFINITY;
  #lastCommitMs = Number.NEGATIVE_INFINITY;
  #committedPosition = -1;

  constructor(deps: PartitionEngineOptions) {
    this.topic = deps.topic;
    this.partition = deps.partition;
    this.#transport = deps.transport;
    this.#clock = deps.clock;
    this.#options = deps.options;
    this.#events = deps.events;
    this.#logger = deps.logger;
    this.#tx = deps.transactionalProducer;
    this.#pairsPerBatch = Math.max(1, Math.floor(deps.options.flushBatchSize / 2));
    const now = this.#clock.now();
    this.#today = Day.containing(now);
    this.#tracker = new Tracker(now);
    this.#loadStartedMs = now;
  }

  /** Current state name. */
  get state(): PartitionStatus['state'] {
    return this.#state.name;
  }

  /** A snapshot for health checks and metrics. */
  status(): PartitionStatus {
    const next = this.#buffer.peek();
    return {
      topic: this.topic,
      partition: this.partition,
      state: this.#state.name,
      halted: this.#halted,
      buffered: this.#buffer.size,
      reloads: this.#reloads,
      endOffset: this.#endOffset,
      position: this.#position,
      invalid: this.#invalidCount,
      dispatched: this.#dispatchedCount,
      ...(next ? { nextDueMs: next.dueMs } : {}),
    };
  }

  /**
   * Starts the partition: in transactional mode first initialises its transactional producer,
   * which fences a previous owner and waits for its open transaction to end, then loads.
   */
  async start(): Promise<void> {
    if (this.#tx) {
      try {
        await this.#tx.init();
      } catch (error) {
        this.#emitError('transactions', error);
        throw error;
      }
    }
    await this.#reload('assigned');
  }

  /**
   * Stops the partition: no more dispatches, timers cleared, an in-flight flush awaited. With
   * `report`, a final `stopped` states report is produced (shutdown); revocation passes false.
   */
  async stop(options: { report: boolean }): Promise<void> {
    if (this.#state.isStopped() && !this.#halted) return;
    this.#generation++;
    this.#clearTimer();
    const wasHalted = this.#halted;
    this.#setState('stopped');
    if (this.#flushing) await this.#flushing.catch(() => {});
    if (options.report && !wasHalted) await this.#reportNow();
    this.#buffer.clear();
    if (this.#tx) await this.#tx.close().catch((error: unknown) => this.#logger.warn({ ...this.#where(), error }, 'closing the transactional producer failed'));
  }

  /** Handles one delivery from the transport (records, or an EOF notice). */
  async handleBatch(batch: PartitionBatch): Promise<void> {
    if (this.#state.isStopped() || this.#state.isFresh() || this.#seeking) return;
    const now = this.#clock.now();
    if (this.#state.isLoaded() && this.#today.ended(now)) {
      // The batch is dropped: the reload re-reads it from the beginning.
      await this.#reload('day_rollover');
      return;
    }
    const generation = this.#generation;
    for (const record of batch.records) {
      this.#tracker.offset(record.offset);
      await this.#process(record);
      if (this.#halted || generation !== this.#generation) return;
    }
    this.#position = Math.max(this.#position, batch.position);

    if (this.#state.isLoading()) {
      if (this.#position >= this.#endOffset) {
        this.#markLoaded('end_offset');
      } else if (batch.records.length > 0) {
        // Reference heuristic for partitions that never go idle, with the CreateTime clamped to
        // our clock so a future-dated record cannot end the load early (#3250).
        const last = batch.records[batch.records.length - 1]!;
        const recent = Math.min(last.timestamp, now);
        if (recent > this.#loadStartedMs + this.#options.loadedGraceMs) this.#markLoaded('heuristic');
      }
    }
    if (!this.#state.isLoaded()) {
      this.#report(false);
      return;
    }
    this.#commit(now);
    this.#report(false);
    this.#kick();
  }

  // ---- loading -------------------------------------------------------------------------------

  async #reload(reason: 'assigned' | 'day_rollover'): Promise<void> {
    const generation = ++this.#generation;
    this.#clearTimer();
    this.#seeking = true;
    // A flush still producing tombstones must land before the end offset is read again, or the
    // reload could finish without them and dispatch the same schedules twice.
    if (this.#flushing) await this.#flushing.catch(() => {});
    if (generation !== this.#generation) return;
    const now = this.#clock.now();
    this.#buffer = new DailyBuffer<Pending>();
    this.#today = Day.containing(now);
    this.#tracker = new Tracker(now);
    this.#loadStartedMs = now;
    this.#reloads++;
    this.#position = 0;
    this.#setState('loading');
    this.#events.emit('reload', { topic: this.topic, partition: this.partition, reason, reloads: this.#reloads });
    this.#logger.info({ ...this.#where(), reason, reloads: this.#reloads }, 'loading partition from its beginning');
    let low: number;
    let high: number;
    try {
      ({ low, high } = await this.#transport.seekToBeginning({ topic: this.topic, partition: this.partition }));
    } catch (error) {
      if (generation === this.#generation) {
        this.#seeking = false;
        this.#emitError('load', error);
      }
      throw error;
    } finally {
      if (generation === this.#generation) this.#seeking = false;
    }
    if (generation !== this.#generation) return;
    this.#endOffset = high;
    this.#position = low;
    if (low >= high) {
      this.#markLoaded('end_offset');
    } else {
      this.#report(false);
      this.#arm();
    }
  }

  #markLoaded(by: 'end_offset' | 'heuristic'): void {
    this.#setState('loaded');
    const now = this.#clock.now();
    this.#events.emit('loaded', {
      topic: this.topic,
      partition: this.partition,
      durationMs: now - this.#loadStartedMs,
      buffered: this.#buffer.size,
      reloads: this.#reloads,
      by,
    });
    this.#logger.info({ ...this.#where(), buffered: this.#buffer.size, by, durationMs: now - this.#loadStartedMs }, 'partition loaded');
    this.#report(true);
    this.#kick();
  }

  async #process(record: ConsumedRecord): Promise<void> {
    const decoded = decodeRecord(record);
    switch (decoded.kind) {
      case 'schedule': {
        if (decoded.dueMs >= this.#today.startMs) this.#tracker.future(decoded.dueMs);
        if (this.#today.isBefore(decoded.dueMs) || decoded.epoch < this.#maxEpoch.value) {
          // Not for today, or already dispatched: not held. An older version of the same key
          // buffered for today is dropped too (the reference kept and dispatched it).
          this.#buffer.delete(decoded.key);
          return;
        }
        this.#buffer.add({ key: decoded.key, dueMs: decoded.dueMs, offset: record.offset, value: { record, target: decoded.target } });
        return;
      }
      case 'tombstone': {
        this.#maxEpoch.update(decoded.epoch);
        const entry = this.#buffer.get(decoded.key);
        // A tombstone closes the schedule it names (schedule_source_offset) and any older one;
        // a newer schedule that reused the key after the dispatch is kept.
        if (entry && (decoded.sourceOffset === undefined || entry.offset <= decoded.sourceOffset)) this.#buffer.delete(decoded.key);
        return;
      }
      case 'cancel':
      case 'unknown':
        this.#buffer.delete(decoded.key);
        return;
      case 'incompatible':
        this.#halt(record, decoded.schemaVersion);
        return;
      case 'invalid':
        await this.#invalid(record, decoded.reason, decoded.detail);
        return;
    }
  }

  async #invalid(record: ConsumedRecord, reason: InvalidReason, detail: string): Promise<void> {
    // Counted, logged and dead-lettered once per record for the life of this engine, not again
    // on every reload.
    if (this.#invalidSeen.has(record.offset)) return;
    if (this.#invalidSeen.size < MAX_REMEMBERED_INVALID) this.#invalidSeen.add(record.offset);
    this.#invalidCount++;
    this.#logger.warn({ ...this.#where(), offset: record.offset, reason, detail }, 'skipping invalid schedules record');
    let deadLettered = false;
    const dlq = this.#options.deadLetterTopic;
    if (dlq !== undefined) {
      try {
        await this.#transport.produce([
          {
            topic: dlq,
            key: record.key,
            value: record.value,
            headers: {
              ...record.headers,
              ksched_invalid_reason: reason,
              ksched_invalid_detail: detail,
              [Header.sourceTopic]: record.topic,
              [Header.sourcePartition]: String(record.partition),
              [Header.sourceOffset]: String(record.offset),
            },
          },
        ]);
        deadLettered = true;
      } catch (error) {
        this.#emitError('dead_letter', error);
      }
    }
    this.#events.emit('invalid', { topic: this.topic, partition: this.partition, offset: record.offset, reason, detail, deadLettered });
  }

  #halt(record: ConsumedRecord, version: string): void {
    this.#halted = true;
    this.#generation++;
    this.#clearTimer();
    const error = new IncompatibleSchemaError(version, SCHEMA_VERSION);
    this.#logger.error(
      { ...this.#where(), offset: record.offset, schemaVersion: version },
      `partition halted at offset ${record.offset}: ${error.message}`,
    );
    this.#setState('stopped');
    this.#emitError('incompatible', error);
    void this.#reportNow();
  }

  // ---- dispatch ------------------------------------------------------------------------------

  /** Dispatches what is due now (unless a flush is running) and re-arms the timer. */
  #kick(): void {
    if (!this.#state.isLoaded() || this.#flushing) {
      this.#arm();
      return;
    }
    const now = this.#clock.now();
    const first = this.#buffer.peek();
    if (first === undefined || first.dueMs > now || now < this.#retryAtMs) {
      this.#arm();
      return;
    }
    const generation = this.#generation;
    this.#flushing = this.#flushDue(generation).finally(() => {
      this.#flushing = undefined;
      if (generation === this.#generation) this.#kick();
    });
  }

  async #flushDue(generation: number): Promise<void> {
    for (;;) {
      const now = this.#clock.now();
      const entries = this.#buffer.due(now, this.#pairsPerBatch);
      if (entries.length === 0) return;
      const records: ProduceRecord[] = [];
      for (const entry of entries) {
        const pair = dispatchPair(entry.value.record, entry.value.target);
        records.push(pair.target, pair.tombstone);
      }
      const started = this.#clock.now();
      try {
        if (this.#tx) await this.#tx.sendInTransaction(records);
        else await this.#transport.produce(records);
      } catch (error) {
        if (FencedError.isInstance(error)) {
          // A newer owner initialised this partition's transactional id: it is no longer ours.
          // Stop dispatching; the revocation that follows drops the engine.
          this.#logger.warn({ ...this.#where() }, 'transactional producer fenced by a newer owner; partition stops dispatching');
          this.#emitError('flush', error);
          this.#generation++;
          this.#clearTimer();
          this.#setState('stopped');
          return;
        }
        this.#failures++;
        const backoff = Math.min(MAX_BACKOFF_MS, this.#options.retryBackoffMs * 2 ** (this.#failures - 1));
        this.#retryAtMs = this.#clock.now() + backoff;
        if (!this.#tx) for (const entry of entries) this.#suspects.add(`${entry.key}@${entry.offset}`);
        this.#logger.error({ ...this.#where(), error, records: records.length, retryInMs: backoff }, 'dispatch flush failed; will retry');
        this.#emitError('flush', error);
        return;
      }
      this.#failures = 0;
      this.#retryAtMs = 0;
      const done = this.#clock.now();
      this.#events.emit('flush', {
        topic: this.topic,
        partition: this.partition,
        records: records.length,
        durationMs: done - started,
        transactional: this.#tx !== undefined,
      });
      const current = generation === this.#generation;
      for (const entry of entries) {
        // Keep an update that arrived while this version was being produced.
        if (current) this.#buffer.deleteIfOffset(entry.key, entry.offset);
        const suspectKey = `${entry.key}@${entry.offset}`;
        const possibleDuplicate = this.#suspects.delete(suspectKey);
        this.#dispatchedCount++;
        this.#events.emit('dispatched', {
          topic: this.topic,
          partition: this.partition,
          key: entry.key,
          offset: entry.offset,
          targetTopic: entry.value.target.topic,
          dueMs: entry.dueMs,
          dispatchedAtMs: done,
          lateMs: Math.max(0, done - entry.dueMs),
          possibleDuplicate,
        });
      }
      if (!current) return;
      this.#report(false);
    }
  }

  /**
   * Arms the one timer for the next thing to do: the earliest due schedule, a flush retry, the
   * end of the day (reload), or the idle safety tick, whichever comes first; never longer than
   * {@link MAX_TIMER_DELAY_MS} (long waits are re-armed in steps).
   */
  #arm(): void {
    if (this.#state.isStopped()) return;
    const now = this.#clock.now();
    let at = now + this.#options.intervalMs;
    if (this.#state.isLoaded()) {
      at = Math.min(at, this.#today.nextStartMs);
      const first = this.#buffer.peek();
      if (first) at = Math.min(at, Math.max(first.dueMs, this.#retryAtMs));
    }
    at = Math.min(at, now + MAX_TIMER_DELAY_MS);
    if (this.#timer !== undefined && this.#timerAtMs <= at) return;
    this.#clearTimer();
    this.#timerAtMs = at;
    const generation = this.#generation;
    this.#timer = this.#clock.setTimeout(() => this.#onTimer(generation), Math.max(0, at - now));
  }

  #onTimer(generation: number): void {
    this.#timer = undefined;
    this.#timerAtMs = Number.POSITIVE_INFINITY;
    if (generation !== this.#generation || this.#state.isStopped()) return;
    const now = this.#clock.now();
    if (this.#state.isLoaded() && this.#today.ended(now)) {
      this.#reload('day_rollover').catch(() => {});
      return;
    }
    this.#report(false);
    this.#kick();
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAtMs = Number.POSITIVE_INFINITY;
  }

  // ---- reporting and offsets ------------------------------------------------------------------

  #report(force: boolean): void {
    const now = this.#clock.now();
    if (!force && now - this.#lastReportMs < this.#options.statesReportIntervalMs) return;
    this.#lastReportMs = now;
    this.#transport.produceNoWait([this.#statesRecord(now)], (error) => this.#emitError('states', error));
  }

  async #reportNow(): Promise<void> {
    const now = this.#clock.now();
    this.#lastReportMs = now;
    try {
      await this.#transport.produce([this.#statesRecord(now)]);
    } catch (error) {
      this.#emitError('states', error);
    }
  }

  #statesRecord(now: number): ProduceRecord {
    this.#tracker.setToday(this.#buffer.size);
    this.#tracker.state = this.#state.name;
    this.#tracker.reloads = this.#reloads;
    return statesRecord(this.topic, this.partition, this.#tracker.snapshot(), now, this.#options.statesPostfix);
  }

  #commit(now: number): void {
    if (!this.#options.commitOffsets || this.#position <= this.#committedPosition) return;
    if (now - this.#lastCommitMs < COMMIT_INTERVAL_MS) return;
    this.#lastCommitMs = now;
    this.#committedPosition = this.#position;
    this.#transport
      .commitOffsets([{ topic: this.topic, partition: this.partition, offset: this.#position }])
      .catch((error: unknown) => this.#logger.debug({ ...this.#where(), error }, 'informational offset commit failed'));
  }

  // ---- helpers ---------------------------------------------------------------------------------

  #setState(name: 'loading' | 'loaded' | 'stopped'): void {
    this.#state[name]();
    this.#events.emit('state', { topic: this.topic, partition: this.partition, state: name, halted: this.#halted });
  }

  #emitError(phase: ErrorEvent['phase'], error: unknown): void {
    this.#events.emit('error', { topic: this.topic, partition: this.partition, phase, error });
  }

  #where(): { topic: string; partition: number } {
    return { topic: this.topic, partition: this.partition };
  }
}
