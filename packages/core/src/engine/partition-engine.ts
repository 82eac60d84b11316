import { Header, SCHEMA_VERSION } from '../contracts/headers.js';
import type { SchedulerOptions } from '../contracts/options.js';
import { DailyBuffer, type BufferEntry } from '../domain/daily-buffer.js';
import { DAY_MS, Day, utcDateOf } from '../domain/day.js';
import { MaxEpoch } from '../domain/max-epoch.js';
import { State } from '../domain/state.js';
import { Tracker } from '../domain/tracker.js';
import { MAX_TIMER_DELAY_MS, type Clock, type TimerHandle } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { DispatchOutcome, DispatchSpan, DispatchTracer } from '../ports/tracer.js';
import type {
  ConsumedRecord,
  PartitionBatch,
  PartitionReader,
  ProduceRecord,
  RecordHeaders,
  RecordMetadata,
  TransactionalProducer,
  Transport,
} from '../ports/transport.js';
import {
  deadLetterPair,
  decodeRecord,
  dispatchPair,
  packSchedule,
  textOnlyHeaders,
  unpackSchedule,
  utf8,
  type DispatchPair,
  type InvalidReason,
  type TargetRouting,
  type UnpackedSchedule,
} from '../wire/codec/index.js';
import { statesRecord } from '../wire/states.js';
import type { ErrorEvent, SchedulerEvents, UndeliverableReason } from './events.js';
import { FencedError, IncompatibleSchemaError, RecordRefusedError } from '../errors.js';

/**
 * What the engine keeps per buffered schedule: its record packed into one string with its decoded
 * routing (see `packSchedule`: timestamp, value and header bytes, the target partition, the key's
 * bytes only when its text would not re-encode to them). Dispatch unpacks the record and reads the
 * routing; it never decodes the envelope again.
 */
type Pending = string;

/**
 * Estimated heap bytes of one buffered schedule besides its packed string: the buffer's map entry
 * and heap slot, the frozen entry object, the key string's header (measured by bench `memory`).
 */
const ENTRY_OVERHEAD_BYTES = 112;
const sizeOfEntry = (entry: BufferEntry<Pending>): number => entry.value.length + entry.key.length + ENTRY_OVERHEAD_BYTES;
/** Schedules due this soon are never taken out of memory by the ceiling, ms. */
const EVICTION_FLOOR_MS = 60_000;
/** After the ceiling is reached, memory is brought down to this share of it (hysteresis). */
const EVICTION_TARGET = 0.9;
/**
 * Schedules a background read merges into the buffer per turn of the event loop: a large window
 * (hundreds of thousands of entries) must not hold dispatch up for the whole merge.
 */
const MERGE_CHUNK = 2000;
/** Least time between the end of one background read and the start of the next, ms. */
const MIN_REFILL_SPACING_MS = 5_000;

/** One batch of schedules being dispatched: the records of each entry, by index. */
interface Flight {
  readonly entries: BufferEntry<Pending>[];
  /** `key@offset` of each entry. */
  readonly ids: string[];
  readonly targets: ProduceRecord[];
  readonly tombstones: ProduceRecord[];
  readonly targetTopics: string[];
  /** Dead-lettered (undeliverable) instead of dispatched. */
  readonly deadLetters: boolean[];
  /** Each entry's dispatch span, only when a tracer is set. */
  readonly spans: (DispatchSpan | undefined)[] | undefined;
  /** What the produce reported for the targets, and the step between two targets in it (for the spans). */
  produced: RecordMetadata[] | undefined;
  step: number;
}

/** How a produce call of an at-least-once flush ended. */
type CallOutcome = { readonly ok: true; readonly produced: RecordMetadata[] } | { readonly ok: false; readonly error: unknown };

/** One produce call of an at-least-once flush: the tombstones of one batch and the targets of the next. */
interface FlushCall {
  /** The batch whose tombstones it carries (its targets are acknowledged). */
  readonly carry: Flight | undefined;
  /** The batch whose targets it carries. */
  readonly next: Flight | undefined;
  /** Tombstones first in the call: how many. */
  readonly carried: number;
  readonly records: number;
  /** Whether its batch is the probe after a schedule was set aside (see `#flushFailed`). */
  readonly probe: boolean;
  outcome: Promise<CallOutcome>;
  /** The outcome, once settled. */
  result: CallOutcome | undefined;
}

/**
 * Produce calls of an at-least-once flush in flight at once (see `#flushDue`): the next call is
 * prepared and handed to the client while the broker answers the previous one.
 */
const PIPELINE_DEPTH = 2;

/**
 * A background read of the partition (see {@link PartitionEngine.#refill}): it collects the
 * schedules due in `[fromMs, toMs)` as of `endOffset`, while the live path goes on.
 */
interface Refill {
  readonly startedMs: number;
  /** The window's end when the read started: the buffer already holds everything due before it. */
  readonly fromMs: number;
  /** The end the read fills up to; lowered by the memory ceiling. */
  toMs: number;
  /** The partition's end offset when the read started (+∞ until known): the read stops there. */
  endOffset: number;
  /** Keys the live path handled at or past `endOffset`, or dispatched: their live state wins. */
  readonly touched: Set<string>;
  /** Schedules found, by key. */
  readonly found: Map<string, BufferEntry<Pending>>;
  foundBytes: number;
  /** Daily counts of this full read (the live path adds what it sees past `endOffset`). */
  readonly tracker: Tracker;
  /** Of those, the schedules due at or after `toMs`, by UTC date. */
  readonly beyond: Map<string, number>;
  reader: PartitionReader | undefined;
  records: number;
  /** The read reached `endOffset`; the merge waits for the live position to reach it too. */
  read: boolean;
  /** The merge into the buffer runs, in chunks; the timer of its next chunk. */
  merging: boolean;
  mergeTimer: TimerHandle | undefined;
  added: number;
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
  /** Traces each dispatch; none by default (then dispatch does no tracing work). */
  readonly tracer?: DispatchTracer;
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
  /** Buffered schedules found undeliverable (see `undeliverableAttempts`), not yet dead-lettered. */
  readonly undeliverable: number;
  /** Due time of the earliest buffered schedule, Unix ms. */
  readonly nextDueMs?: number;
  /** Every schedule due before this is in memory, Unix ms (`now + bufferHorizonMs` at the last full read, or less after the memory ceiling shortened it). */
  readonly windowEndMs: number;
  /** Estimated bytes of the buffered schedules. */
  readonly bufferedBytes: number;
  /** A background read is in progress. */
  readonly refilling: boolean;
}

/**
 * Longest wait between two retries of a failed flush, seek, background read, dead-letter copy or
 * transaction settlement. Short on purpose: after an outage, dispatch resumes at most this long
 * after the cluster is back (a 30 s cap paused dispatch 8–13 s after the broker was back in the
 * chaos broker-restart trials), and a retry against a cluster that is down costs little.
 */
const MAX_BACKOFF_MS = 4000;
/** Longest a schedule that keeps failing on its own is set aside between two attempts. */
const MAX_SET_ASIDE_MS = 300_000;
const MAX_REMEMBERED_INVALID = 100_000;
/** Dead-letter copies of invalid records waiting for a retry at most (beyond, a copy is given up, logged). */
const MAX_DEAD_LETTER_RETRIES = 10_000;
const COMMIT_INTERVAL_MS = 1000;

/**
 * The scheduler of one schedules-topic partition (reference §4–5 with ksched's fixes).
 *
 * `fresh` → `start()` → `loading` (reads the partition from its logical beginning, holding the
 * schedules due before its *window's end*, `now + bufferHorizonMs`, overdue ones included) →
 * `loaded` once the consumer position reaches the end offset taken when the read began (by
 * position only) → dispatches each schedule when its due millisecond comes, from one timer armed
 * for the earliest entry → `stopped` on revocation, shutdown, or a record of a newer schema
 * (halted).
 *
 * The window moves without a stall: once half of it has passed, a background read (a reader
 * outside the group, see `#runRefill`) collects the schedules of the next
 * stretch while the live path keeps dispatching, and is merged when done; the live record of a key
 * wins over what the read saw. There is no day-change reload. `bufferMaxBytes` bounds the buffer by
 * shortening the window (see `#enforceCeiling`). A revoked engine can be
 * parked and resumed from its position when the partition comes back ({@link PartitionEngine.park}).
 *
 * Dispatch produces target + tombstone pairs in batches of at most `flushBatchSize / 2` pairs;
 * each batch is one transaction when a transactional producer is given. Without one, a batch's
 * targets are produced first and its tombstones only once all targets are acknowledged, so no
 * tombstone ever exists for an unwritten target; the tombstones go in the same produce call as
 * the next batch's targets (at most `flushBatchSize` records per call). A key leaves the buffer only
 * after its batch succeeded, and a failed batch leaves nothing behind: the retry re-derives from
 * the buffer after a back-off.
 */
export class PartitionEngine {
  readonly topic: string;
  readonly partition: number;
  readonly #transport: Transport;
  readonly #clock: Clock;
  readonly #options: SchedulerOptions;
  readonly #events: SchedulerEvents;
  readonly #logger: Logger;
  readonly #tracer: DispatchTracer | undefined;
  #tx: TransactionalProducer | undefined;
  readonly #pairsPerBatch: number;

  readonly #state = new State();
  readonly #maxEpoch = new MaxEpoch();
  #buffer = new DailyBuffer<Pending>({ sizeOf: sizeOfEntry });
  #tracker: Tracker;
  /** Every live schedule due before this is buffered (once loaded). */
  #windowEndMs: number;
  /** The live path buffers schedules due before this: the window's end, or a running refill's. */
  #acceptEndMs: number;
  #refill: Refill | undefined;
  #nextRefillAtMs = 0;
  #refillFailures = 0;
  /** The engine was revoked and may be resumed from `#position` (see {@link PartitionEngine.park}). */
  #parked = false;
  /** {@link PartitionEngine.park} is running (it waits for the flush in flight). */
  #parking = false;
  #ceilingWarned = false;
  /**
   * Schedule records seen due at or after the window's end, by UTC date (raw, like the
   * reference's future-day counts): with the buffer's own count, today's figure in the states.
   */
  #beyond = new Map<string, number>();
  #reloads = 0;
  /** Bumped by every reload and stop: async work started under an older generation is dropped. */
  #generation = 0;
  /** The transactional producer was initialised (a retried start does not initialise it again). */
  #txReady = false;
  /** Set by {@link PartitionEngine.stop}: the engine is done for good. */
  #closed = false;
  #seeking = false;
  #halted = false;
  #endOffset = 0;
  #position = 0;
  #loadStartedMs: number;

  #timer: TimerHandle | undefined;
  /** A retry of a failed seek (see {@link PartitionEngine.#reload}); separate from the dispatch timer. */
  #reloadTimer: TimerHandle | undefined;
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #retryAtMs = 0;
  /**
   * `key@offset` of schedules that were in failed at-least-once flushes → how many such flushes
   * may have written their target (possible duplicates).
   */
  readonly #suspects = new Map<string, number>();
  /**
   * `key@offset` of schedules whose transaction failed with an outcome to settle: if their own
   * tombstone is read back, that transaction committed after all and they count as dispatched.
   */
  readonly #unsettled = new Set<string>();
  /** `key@offset` of buffered schedules found undeliverable, with why (dead-lettered by the next flush when a dead-letter topic is set). */
  readonly #undeliverable = new Map<string, { readonly reason: UndeliverableReason; readonly detail: string; attempts: number }>();
  /** Schedules under the epoch floor seen while loading, by key: reported once loaded unless a later record closed them. */
  #floorSkipped = new Map<string, { readonly offset: number; readonly dueMs: number }>();
  /** `key@offset` of the schedules in the flush being produced now. */
  readonly #inFlight = new Set<string>();
  /** `key@offset` of in-flight schedules whose own tombstone was already read back. */
  readonly #confirmed = new Set<string>();
  /**
   * `key@offset` → consecutive failed flushes in which the schedule was produced alone, and until
   * when it is set aside (see {@link PartitionEngine.#flushFailed}).
   */
  readonly #failing = new Map<string, { failures: number; asideUntilMs: number; sinceMs: number }>();
  /** When a flush last succeeded: a schedule failing since before then fails on its own, not with the cluster. */
  #lastSuccessMs = Number.NEGATIVE_INFINITY;
  /** After a failed multi-schedule batch: produce one schedule at a time until one succeeds. */
  #isolate = false;
  /** Set when a schedule was just set aside: the next attempt with another schedule is a probe. */
  #probeAfter: string | undefined;
  /** A probe failed too: the failures are the cluster's, not the schedules'. */
  #outage = false;
  readonly #invalidSeen = new Set<number>();
  /** Dead-letter copies waiting for a retry: their timers, and what to say when the engine stops first. */
  readonly #deadLetterRetries = new Map<TimerHandle, () => void>();
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
    this.#tracer = deps.tracer;
    this.#tx = deps.transactionalProducer;
    this.#pairsPerBatch = Math.max(1, Math.floor(deps.options.flushBatchSize / 2));
    const now = this.#clock.now();
    this.#tracker = new Tracker(now);
    this.#loadStartedMs = now;
    this.#windowEndMs = now + this.#options.bufferHorizonMs;
    this.#acceptEndMs = this.#windowEndMs;
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
      undeliverable: this.#undeliverable.size,
      ...(next ? { nextDueMs: next.dueMs } : {}),
      windowEndMs: this.#windowEndMs,
      bufferedBytes: this.#buffer.bytes,
      refilling: this.#refill !== undefined,
    };
  }

  /**
   * Starts the partition: in transactional mode first initialises its transactional producer,
   * which fences a previous owner and waits for its open transaction to end, then loads.
   */
  async start(): Promise<void> {
    if (this.#closed) return;
    if (this.#tx && !this.#txReady) {
      // Revoked (parked or stopped) while the producer initialised: its producer was closed, nothing to start.
      const generation = this.#generation;
      const revoked = () => this.#closed || generation !== this.#generation;
      try {
        await this.#tx.init();
      } catch (error) {
        if (revoked()) return;
        this.#emitError('transactions', error);
        throw error;
      }
      if (revoked()) return;
      this.#txReady = true;
    }
    this.#parking = false;
    if (this.#parked) await this.#resume();
    else await this.#reload('assigned');
  }

  /**
   * Stops the partition: no more dispatches, timers cleared, an in-flight flush awaited. With
   * `report`, a final `stopped` states report is produced (shutdown); revocation passes false.
   */
  async stop(options: { report: boolean }): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#dropDeadLetterRetries();
    // Already stopped by a newer schema (halted: it reported then) or by fencing (another member
    // owns the partition now and reports for it): no second report, but still release everything.
    const wasStopped = this.#state.isStopped();
    this.#generation++;
    this.#clearTimer();
    this.#cancelRefill();
    if (!wasStopped) this.#setState('stopped');
    if (this.#flushing) await this.#flushing.catch(() => {});
    if (options.report && !wasStopped) await this.#reportNow();
    this.#buffer.clear();
    if (this.#tx)
      await this.#tx
        .close()
        .catch((error: unknown) => this.#logger.warn({ ...this.#where(), error }, 'closing the transactional producer failed'));
  }

  /**
   * The partition was revoked, and may come back to this member soon: stops dispatching (timers
   * cleared, an in-flight flush awaited, a background read cancelled, the transactional producer
   * closed) but keeps the buffer and the position, so that {@link PartitionEngine.start} with a
   * new producer ({@link PartitionEngine.useTransactionalProducer}) resumes from there. Drop a
   * parked engine with {@link PartitionEngine.stop} when it does not come back.
   */
  async park(): Promise<void> {
    if (this.#closed || this.#parked) return;
    // A flush failing while this waits for it must not settle its transaction with a producer of
    // its own: the next owner (or this engine, resumed) fences the id and catches up anyway.
    this.#parking = true;
    const resumable = !this.#halted && !this.#seeking && (this.#state.isLoaded() || this.#state.isLoading());
    this.#generation++;
    this.#clearTimer();
    this.#cancelRefill();
    this.#setState('stopped');
    if (this.#flushing) await this.#flushing.catch(() => {});
    const tx = this.#tx;
    this.#tx = undefined;
    this.#txReady = false;
    if (tx)
      await tx
        .close()
        .catch((error: unknown) => this.#logger.warn({ ...this.#where(), error }, 'closing the transactional producer failed'));
    // A halted partition, or one revoked before it knew where it was, starts afresh next time.
    this.#parked = resumable;
    if (!resumable) {
      this.#closed = true;
      this.#dropDeadLetterRetries();
    }
  }

  /** Whether {@link PartitionEngine.start} would resume this engine from where it stopped. */
  get parked(): boolean {
    return this.#parked && !this.#closed;
  }

  /** The transactional producer for the next {@link PartitionEngine.start} of a parked engine (a new owner's fencing). */
  useTransactionalProducer(producer: TransactionalProducer | undefined): void {
    this.#tx = producer;
    this.#txReady = false;
  }

  /** Handles one delivery from the transport (records, or an EOF notice). */
  async handleBatch(batch: PartitionBatch): Promise<void> {
    if (this.#state.isStopped() || this.#state.isFresh() || this.#seeking) return;
    const now = this.#clock.now();
    const generation = this.#generation;
    for (const record of batch.records) {
      this.#tracker.offset(record.offset);
      await this.#process(record);
      if (this.#halted || generation !== this.#generation) return;
    }
    this.#position = Math.max(this.#position, batch.position);
    // Loaded by position only: the end offset taken when the read started (ksched.md §4).
    if (this.#state.isLoading() && this.#position >= this.#endOffset) this.#markLoaded('end_offset');
    this.#mergeRefill();
    if (!this.#state.isLoaded()) {
      this.#report(false);
      return;
    }
    this.#commit(now);
    this.#report(false);
    this.#kick();
  }

  // ---- loading -------------------------------------------------------------------------------

  /**
   * Clears the partition's state and re-reads it from its logical beginning. A failed seek (the
   * broker did not answer) is retried after a growing back-off for as long as the engine runs;
   * meanwhile batches are ignored, so nothing counts as loaded from the wrong offset.
   */
  async #reload(reason: 'assigned', attempt = 0): Promise<void> {
    const generation = ++this.#generation;
    this.#clearTimer();
    this.#cancelRefill();
    this.#seeking = true;
    // A flush still producing tombstones must land before the end offset is read again, or the
    // reload could finish without them and dispatch the same schedules twice.
    if (this.#flushing) await this.#flushing.catch(() => {});
    if (generation !== this.#generation) return;
    const now = this.#clock.now();
    this.#buffer = new DailyBuffer<Pending>({ sizeOf: sizeOfEntry });
    this.#beyond = new Map();
    this.#floorSkipped = new Map();
    this.#windowEndMs = now + this.#options.bufferHorizonMs;
    this.#acceptEndMs = this.#windowEndMs;
    this.#tracker = new Tracker(now);
    this.#loadStartedMs = now;
    if (attempt === 0) {
      this.#reloads++;
      this.#events.emit('reload', { topic: this.topic, partition: this.partition, reason, reloads: this.#reloads });
      this.#logger.info({ ...this.#where(), reason, reloads: this.#reloads }, 'loading partition from its beginning');
    }
    this.#tracker.reloads = this.#reloads;
    this.#position = 0;
    this.#setState('loading');
    let low: number;
    let high: number;
    try {
      ({ low, high } = await this.#transport.seekToBeginning({ topic: this.topic, partition: this.partition }));
    } catch (error) {
      if (generation === this.#generation)
        this.#retrySeek('seeking to the beginning failed; retrying', error, attempt, () => this.#reload(reason, attempt + 1));
      return;
    }
    if (generation !== this.#generation) return;
    this.#seeking = false;
    this.#endOffset = high;
    this.#position = low;
    if (low >= high) {
      this.#markLoaded('end_offset');
    } else {
      this.#report(false);
      this.#arm();
    }
  }

  /**
   * Resumes a parked engine: fences the partition again with the new transactional producer, then
   * catches up from its position (`loading` until the position reaches the end offset taken now,
   * so tombstones another owner wrote meanwhile are read before anything is dispatched). Falls
   * back to a full read when the log no longer holds that position.
   */
  async #resume(reason: 'resumed' | 'transaction' = 'resumed', attempt = 0): Promise<void> {
    const generation = ++this.#generation;
    this.#clearTimer();
    this.#seeking = true;
    const now = this.#clock.now();
    if (attempt === 0) {
      this.#events.emit('reload', { topic: this.topic, partition: this.partition, reason, reloads: this.#reloads });
      this.#logger.info(
        { ...this.#where(), position: this.#position },
        reason === 'resumed'
          ? 'partition came back: catching up from its position'
          : 'transaction settled: catching up from its position before retrying',
      );
    }
    this.#setState('loading');
    this.#loadStartedMs = now;
    let low: number;
    let high: number;
    try {
      ({ low, high } = await this.#transport.seek({ topic: this.topic, partition: this.partition }, this.#position));
    } catch (error) {
      if (generation === this.#generation)
        this.#retrySeek('seeking to the resume position failed; retrying', error, attempt, () => this.#resume(reason, attempt + 1));
      return;
    }
    if (generation !== this.#generation) return;
    this.#parked = false;
    if (low > this.#position) {
      // Records between the position and the new beginning are gone (retention, DeleteRecords).
      this.#logger.warn(
        { ...this.#where(), position: this.#position, low },
        'the resume position is no longer in the log; reading from the beginning',
      );
      this.#seeking = false;
      await this.#reload('assigned');
      return;
    }
    this.#seeking = false;
    this.#endOffset = high;
    if (this.#position >= high) this.#markLoaded('end_offset');
    else {
      this.#report(false);
      this.#arm();
    }
  }

  /**
   * A failed seek (the broker did not answer) is retried after a growing back-off for as long as
   * the engine runs; meanwhile batches are ignored, so nothing counts as loaded from the wrong offset.
   */
  #retrySeek(message: string, error: unknown, attempt: number, retry: () => Promise<void>): void {
    const generation = this.#generation;
    const delayMs = Math.min(MAX_BACKOFF_MS, this.#options.retryBackoffMs * 2 ** attempt);
    this.#logger.error({ ...this.#where(), error, retryInMs: delayMs }, message);
    this.#emitError('load', error);
    this.#reloadTimer = this.#clock.setTimeout(() => {
      this.#reloadTimer = undefined;
      if (generation === this.#generation && !this.#closed) void retry().catch(() => {});
    }, delayMs);
  }

  #markLoaded(by: 'end_offset'): void {
    this.#setState('loaded');
    const skipped = this.#floorSkipped;
    this.#floorSkipped = new Map();
    for (const [key, { offset, dueMs }] of skipped) this.#reportSkipped(key, offset, dueMs);
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

  /**
   * A schedule under the epoch floor (due more than an hour before the newest tombstoned due
   * time) is not dispatched. While loading, a later record of the log may still close it (its own
   * tombstone: it was dispatched); what is left when the partition is loaded, or one that arrives
   * after, is reported: a `skipped` event and a warning.
   */
  #skippedByFloor(key: string, offset: number, dueMs: number): void {
    if (!this.#state.isLoaded()) {
      this.#floorSkipped.set(key, { offset, dueMs });
      return;
    }
    this.#reportSkipped(key, offset, dueMs);
  }

  #reportSkipped(key: string, offset: number, dueMs: number): void {
    const newestS = this.#maxEpoch.max;
    const detail = `due at epoch ${Math.floor(dueMs / 1000)} s, more than an hour before the newest dispatched due time of the partition (epoch ${newestS} s): taken as dispatched already`;
    this.#logger.warn({ ...this.#where(), key, offset, dueMs, reason: 'epoch_floor' }, `schedule not dispatched: ${detail}`);
    this.#events.emit('skipped', { topic: this.topic, partition: this.partition, key, offset, dueMs, reason: 'epoch_floor', detail });
  }

  /** Removes the schedule buffered under `key`, if any, with its failure record. */
  #unbuffer(key: string): void {
    const entry = this.#buffer.get(key);
    if (entry === undefined) return;
    const id = `${entry.key}@${entry.offset}`;
    // Its failure records go with it: a cancelled undeliverable schedule is no longer counted.
    this.#failing.delete(id);
    this.#unsettled.delete(id);
    this.#undeliverable.delete(id);
    this.#buffer.delete(key);
  }

  async #process(record: ConsumedRecord): Promise<void> {
    const decoded = decodeRecord(record);
    switch (decoded.kind) {
      case 'schedule': {
        this.#count(decoded.dueMs, record.offset);
        this.#touch(decoded.key, record.offset);
        this.#floorSkipped.delete(decoded.key);
        if (decoded.epoch < this.#maxEpoch.value) {
          // Taken as dispatched already (the reference's rule): not held, but never silently.
          this.#unbuffer(decoded.key);
          this.#skippedByFloor(decoded.key, record.offset, decoded.dueMs);
          return;
        }
        if (decoded.dueMs >= this.#acceptEndMs) {
          // Beyond the window (a later background read brings it in): not held. An older version
          // of the same key buffered is dropped too (the reference kept and dispatched it).
          this.#unbuffer(decoded.key);
          return;
        }
        this.#unbuffer(decoded.key);
        this.#buffer.add({ key: decoded.key, dueMs: decoded.dueMs, offset: record.offset, value: this.#pending(record, decoded.target) });
        this.#enforceCeiling();
        return;
      }
      case 'tombstone': {
        this.#touch(decoded.key, record.offset);
        this.#maxEpoch.update(decoded.epoch);
        this.#floorSkipped.delete(decoded.key);
        const entry = this.#buffer.get(decoded.key);
        // A tombstone closes the schedule it names (schedule_source_offset) and any older one;
        // a newer schedule that reused the key after the dispatch is kept.
        if (entry && (decoded.sourceOffset === undefined || entry.offset <= decoded.sourceOffset)) {
          if (entry.offset === decoded.sourceOffset) this.#ownTombstone(entry);
          this.#unbuffer(decoded.key);
        }
        return;
      }
      case 'cancel':
      case 'unknown':
        this.#touch(decoded.key, record.offset);
        this.#unbuffer(decoded.key);
        this.#floorSkipped.delete(decoded.key);
        return;
      case 'incompatible':
        this.#halt(record, decoded.schemaVersion);
        return;
      case 'invalid':
        await this.#invalid(record, decoded.reason, decoded.detail);
        return;
    }
  }

  /** Counts a schedule record in the daily figures (reference semantics: every record due today or later). */
  #count(dueMs: number, offset: number): void {
    const now = this.#clock.now();
    if (dueMs < now - (now % DAY_MS)) return; // due before today
    this.#tracker.future(dueMs);
    if (dueMs >= this.#acceptEndMs) bump(this.#beyond, dueMs, 1);
    const refill = this.#refill;
    if (refill && offset >= refill.endOffset) {
      refill.tracker.future(dueMs);
      if (dueMs >= refill.toMs) bump(refill.beyond, dueMs, 1);
    }
  }

  /** The live path handled `key` past a running refill's end offset: its state wins over the refill's. */
  #touch(key: string, offset: number): void {
    const refill = this.#refill;
    if (refill && offset >= refill.endOffset) refill.touched.add(key);
  }

  // ---- the window: background reads and the memory ceiling -------------------------------------

  /**
   * Starts a background read when the window's end comes within half a horizon (and the last
   * read ended at least {@link MIN_REFILL_SPACING_MS} ago). Called from the timer and after batches.
   */
  #maybeRefill(now: number): void {
    if (!this.#state.isLoaded() || this.#refill || this.#halted || this.#closed) return;
    if (now < this.#refillDueAt()) return;
    void this.#runRefill(now);
  }

  #refillDueAt(): number {
    return Math.max(this.#windowEndMs - this.#options.bufferHorizonMs / 2, this.#nextRefillAtMs);
  }

  /**
   * A background read of the partition that moves the window's end to `now + bufferHorizonMs`.
   *
   * It takes the partition's end offset E, reads from the logical beginning to E with a reader
   * outside the group and collects, per key, the state as of E of the schedules due in
   * `[windowEnd, newEnd)` (schedules before the window's end are in the buffer already). The live
   * path goes on meanwhile: it buffers schedules due before the *new* end at once, and notes each
   * key it handles at or past E (and each key it dispatches). Once the read has reached E and the
   * live position has too, the two are merged: a key the live path touched keeps its live state,
   * every other key found goes into the buffer. Nothing is dispatched twice (a dispatched key is
   * touched) and nothing is lost (every record below E was seen by the read, every record at or past
   * E by the live path). Invalid records are not reported again: the live path reported them.
   */
  async #runRefill(now: number): Promise<void> {
    const generation = this.#generation;
    const refill: Refill = {
      startedMs: now,
      fromMs: this.#windowEndMs,
      toMs: now + this.#options.bufferHorizonMs,
      endOffset: Number.POSITIVE_INFINITY,
      touched: new Set(),
      found: new Map(),
      foundBytes: 0,
      tracker: new Tracker(now),
      beyond: new Map(),
      reader: undefined,
      records: 0,
      read: false,
      merging: false,
      mergeTimer: undefined,
      added: 0,
    };
    this.#refill = refill;
    this.#acceptEndMs = refill.toMs;
    this.#events.emit('refill', { topic: this.topic, partition: this.partition, phase: 'started', windowEndMs: refill.toMs });
    this.#logger.debug({ ...this.#where(), fromMs: refill.fromMs, toMs: refill.toMs }, 'background read of the partition started');
    const tp = { topic: this.topic, partition: this.partition };
    try {
      const { low, high } = await this.#transport.fetchWatermarks(tp);
      if (this.#refill !== refill || generation !== this.#generation) return;
      refill.endOffset = high;
      if (low < high) {
        refill.reader = await this.#transport.openReader(tp, { fromOffset: low });
        if (this.#refill !== refill || generation !== this.#generation) return;
        for (;;) {
          const batch = await refill.reader.read();
          if (this.#refill !== refill || generation !== this.#generation) return;
          for (const record of batch.records) {
            if (record.offset >= high) break;
            this.#collect(refill, record);
          }
          if (batch.position >= high) break;
        }
      }
    } catch (error) {
      if (this.#refill !== refill || generation !== this.#generation) return;
      this.#refill = undefined;
      this.#acceptEndMs = this.#windowEndMs;
      this.#refillFailures++;
      const delayMs = Math.min(MAX_BACKOFF_MS, this.#options.retryBackoffMs * 2 ** (this.#refillFailures - 1));
      this.#nextRefillAtMs = this.#clock.now() + delayMs;
      this.#logger.error({ ...this.#where(), error, retryInMs: delayMs }, 'background read of the partition failed; retrying');
      this.#events.emit('refill', {
        topic: this.topic,
        partition: this.partition,
        phase: 'failed',
        windowEndMs: this.#windowEndMs,
        durationMs: this.#clock.now() - refill.startedMs,
      });
      this.#emitError('refill', error);
      this.#arm();
      return;
    } finally {
      const reader = refill.reader;
      refill.reader = undefined;
      if (reader)
        await reader.close().catch((error: unknown) => this.#logger.debug({ ...this.#where(), error }, 'closing a reader failed'));
    }
    refill.read = true;
    this.#mergeRefill();
  }

  /** One record of a background read: the per-key state as of the read's end offset. */
  #collect(refill: Refill, record: ConsumedRecord): void {
    refill.records++;
    refill.tracker.offset(record.offset);
    const decoded = decodeRecord(record);
    let key: string;
    switch (decoded.kind) {
      case 'schedule': {
        key = decoded.key;
        if (decoded.dueMs >= refill.startedMs - (refill.startedMs % DAY_MS)) {
          refill.tracker.future(decoded.dueMs);
          if (decoded.dueMs >= refill.toMs) bump(refill.beyond, decoded.dueMs, 1);
        }
        if (decoded.dueMs >= refill.fromMs && decoded.dueMs < refill.toMs && decoded.epoch >= this.#maxEpoch.value) {
          this.#dropFound(refill, key);
          const entry: BufferEntry<Pending> = {
            key,
            dueMs: decoded.dueMs,
            offset: record.offset,
            value: this.#pending(record, decoded.target),
          };
          refill.found.set(key, entry);
          refill.foundBytes += sizeOfEntry(entry);
          this.#enforceCeiling();
          return;
        }
        break;
      }
      case 'tombstone': {
        key = decoded.key;
        const entry = refill.found.get(key);
        // As in the live path: a newer schedule that reused the key after the dispatch is kept.
        if (entry && decoded.sourceOffset !== undefined && entry.offset > decoded.sourceOffset) return;
        break;
      }
      case 'cancel':
      case 'unknown':
        key = decoded.key;
        break;
      default:
        // Invalid and incompatible records: the live path reported them (or halted) already.
        return;
    }
    this.#dropFound(refill, key);
  }

  #dropFound(refill: Refill, key: string): void {
    const entry = refill.found.get(key);
    if (entry === undefined) return;
    refill.found.delete(key);
    refill.foundBytes -= sizeOfEntry(entry);
  }

  /** Merges a finished background read once the live position has reached its end offset too. */
  #mergeRefill(): void {
    const refill = this.#refill;
    if (!refill || !refill.read || refill.merging || this.#position < refill.endOffset || this.#seeking || !this.#state.isLoaded()) return;
    refill.merging = true;
    this.#mergeChunk(refill);
  }

  /**
   * Merges up to {@link MERGE_CHUNK} found schedules, then yields (a zero-delay timer) so dispatch
   * and the live path run between chunks. The refill stays current until the last chunk, so keys
   * the live path touches or dispatches meanwhile still keep their live state.
   */
  #mergeChunk(refill: Refill): void {
    refill.mergeTimer = undefined;
    if (this.#refill !== refill) return;
    let n = 0;
    for (const [key, entry] of refill.found) {
      if (n++ >= MERGE_CHUNK) {
        refill.mergeTimer = this.#clock.setTimeout(() => this.#mergeChunk(refill), 0);
        this.#kick();
        return;
      }
      this.#dropFound(refill, key);
      if (refill.touched.has(key)) continue;
      const existing = this.#buffer.get(key);
      if (existing && existing.offset >= entry.offset) continue;
      this.#buffer.add(entry);
      refill.added++;
    }
    this.#refill = undefined;
    const added = refill.added;
    this.#windowEndMs = Math.max(this.#windowEndMs, refill.toMs);
    this.#acceptEndMs = this.#windowEndMs;
    this.#reloads++;
    refill.tracker.reloads = this.#reloads;
    refill.tracker.state = this.#state.name;
    this.#tracker = refill.tracker;
    this.#beyond = refill.beyond;
    const now = this.#clock.now();
    this.#refillFailures = 0;
    this.#nextRefillAtMs = now + MIN_REFILL_SPACING_MS;
    this.#events.emit('refill', {
      topic: this.topic,
      partition: this.partition,
      phase: 'completed',
      windowEndMs: this.#windowEndMs,
      records: refill.records,
      added,
      durationMs: now - refill.startedMs,
    });
    this.#logger.info(
      { ...this.#where(), records: refill.records, added, windowEndMs: this.#windowEndMs, durationMs: now - refill.startedMs },
      'background read merged: window moved forward',
    );
    this.#enforceCeiling();
    this.#report(false);
    this.#kick();
  }

  #cancelRefill(): void {
    const refill = this.#refill;
    if (!refill) return;
    this.#refill = undefined;
    if (refill.mergeTimer !== undefined) this.#clock.clearTimeout(refill.mergeTimer);
    this.#acceptEndMs = this.#windowEndMs;
    const reader = refill.reader;
    refill.reader = undefined;
    if (reader) void reader.close().catch(() => {});
  }

  /**
   * Keeps the buffer (plus what a running background read found) under `bufferMaxBytes` by
   * shortening the window: the latest-due schedules leave memory, first those a read found, then
   * the buffer's, down to 90 % of the ceiling; the window's end becomes the earliest due time that
   * left, so every schedule due before it is still held. Schedules due within the next minute
   * never leave: above the ceiling with only those, a warning is logged once.
   */
  #enforceCeiling(): void {
    const limit = this.#options.bufferMaxBytes;
    const refill = this.#refill;
    const total = (): number => this.#buffer.bytes + (refill?.foundBytes ?? 0);
    if (total() <= limit) return;
    const target = limit * EVICTION_TARGET;
    const floorMs = this.#clock.now() + Math.min(EVICTION_FLOOR_MS, this.#options.bufferHorizonMs);
    const previousEndMs = refill ? refill.toMs : this.#windowEndMs;
    let newEndMs = Number.POSITIVE_INFINITY;
    let evicted = 0;
    if (refill && refill.found.size > 0) {
      const found = [...refill.found.values()].sort((a, b) => b.dueMs - a.dueMs || b.offset - a.offset);
      for (const entry of found) {
        if (total() <= target && entry.dueMs !== newEndMs) break;
        if (entry.dueMs < floorMs) break;
        this.#dropFound(refill, entry.key);
        bump(refill.beyond, entry.dueMs, 1);
        newEndMs = entry.dueMs;
        evicted++;
      }
    }
    if (total() > target) {
      const out = this.#buffer.evictLatest(Math.max(0, target - (refill?.foundBytes ?? 0)), floorMs);
      if (out) {
        evicted += out.removed;
        newEndMs = Math.min(newEndMs, out.fromMs);
        for (const entry of out.entries) {
          bump(this.#beyond, entry.dueMs, 1);
          if (refill) bump(refill.beyond, entry.dueMs, 1);
        }
        for (const [key, entry] of refill?.found ?? []) {
          if (entry.dueMs < out.fromMs) continue;
          this.#dropFound(refill!, key);
          bump(refill!.beyond, entry.dueMs, 1);
        }
      }
    }
    if (evicted > 0) {
      this.#windowEndMs = Math.min(this.#windowEndMs, newEndMs);
      this.#acceptEndMs = Math.min(this.#acceptEndMs, newEndMs);
      if (refill) refill.toMs = Math.min(refill.toMs, newEndMs);
      this.#events.emit('horizon', {
        topic: this.topic,
        partition: this.partition,
        reason: 'memory',
        windowEndMs: Math.min(previousEndMs, newEndMs),
        previousEndMs,
        evicted,
      });
      this.#logger.warn(
        {
          ...this.#where(),
          windowEndMs: Math.min(previousEndMs, newEndMs),
          previousEndMs,
          evicted,
          bufferedBytes: this.#buffer.bytes,
          limit,
        },
        'buffer reached bufferMaxBytes: horizon shortened (the schedules beyond it come back with a later read)',
      );
    }
    if (total() > limit && !this.#ceilingWarned) {
      this.#ceilingWarned = true;
      this.#logger.warn(
        { ...this.#where(), bufferedBytes: this.#buffer.bytes, limit },
        'schedules due within the next minute alone exceed bufferMaxBytes: they stay in memory',
      );
    }
  }

  /** A schedule to buffer, packed with the routing it decoded to. */
  #pending(record: ConsumedRecord, target: TargetRouting): Pending {
    return packSchedule(record, target, record.key !== null && utf8(record.key) === undefined);
  }

  /** The consumed record a buffered schedule came from, rebuilt for dispatch, with its packed routing. */
  #unpack(entry: BufferEntry<Pending>): UnpackedSchedule {
    return unpackSchedule(entry.value, { topic: this.topic, partition: this.partition, offset: entry.offset, key: entry.key });
  }

  async #invalid(record: ConsumedRecord, reason: InvalidReason, detail: string): Promise<void> {
    // Counted, logged and dead-lettered once per record for the life of this engine, not again
    // on every reload.
    if (this.#invalidSeen.has(record.offset)) return;
    if (this.#invalidSeen.size < MAX_REMEMBERED_INVALID) this.#invalidSeen.add(record.offset);
    this.#invalidCount++;
    this.#logger.warn({ ...this.#where(), offset: record.offset, reason, detail }, 'skipping invalid schedules record');
    const dlq = this.#options.deadLetterTopic;
    const emit = (deadLettered: boolean) =>
      this.#events.emit('invalid', { topic: this.topic, partition: this.partition, offset: record.offset, reason, detail, deadLettered });
    if (dlq === undefined) {
      emit(false);
      return;
    }
    const copy = (headers: RecordHeaders): ProduceRecord => ({
      topic: dlq,
      key: record.key,
      value: record.value,
      headers: {
        ...headers,
        ksched_invalid_reason: reason,
        ksched_invalid_detail: detail,
        [Header.sourceTopic]: record.topic,
        [Header.sourcePartition]: String(record.partition),
        [Header.sourceOffset]: String(record.offset),
      },
    });
    const attempt = async (): Promise<void> => {
      try {
        await this.#transport.produce([copy(record.headers)]);
      } catch (error) {
        // A header value the client cannot send (node-rdkafka: bytes that are not UTF-8): the
        // copy goes with such values as base64 text instead.
        if (!RecordRefusedError.isInstance(error)) throw error;
        await this.#transport.produce([copy(textOnlyHeaders(record.headers))]);
      }
    };
    try {
      await attempt();
      emit(true);
    } catch (error) {
      this.#emitError('dead_letter', error);
      // Retried in the background (the partition goes on); the `invalid` event says how it ended.
      this.#retryDeadLetter(attempt, emit, 1);
    }
  }

  /** Retries a failed dead-letter copy with a growing back-off until it is written or the engine stops. */
  #retryDeadLetter(attempt: () => Promise<void>, emit: (deadLettered: boolean) => void, failures: number): void {
    if (this.#closed || this.#deadLetterRetries.size >= MAX_DEAD_LETTER_RETRIES) {
      if (!this.#closed) this.#logger.error({ ...this.#where() }, 'too many dead-letter copies waiting for a retry: one is given up');
      emit(false);
      return;
    }
    const delayMs = Math.min(MAX_BACKOFF_MS, this.#options.retryBackoffMs * 2 ** (failures - 1));
    const timer = this.#clock.setTimeout(() => {
      this.#deadLetterRetries.delete(timer);
      if (this.#closed) {
        emit(false);
        return;
      }
      attempt().then(
        () => emit(true),
        (error: unknown) => {
          this.#emitError('dead_letter', error);
          this.#retryDeadLetter(attempt, emit, failures + 1);
        },
      );
    }, delayMs);
    this.#deadLetterRetries.set(timer, () => emit(false));
  }

  /** The engine stops: copies still waiting for a retry are given up (reported as not dead-lettered). */
  #dropDeadLetterRetries(): void {
    for (const [timer, giveUp] of this.#deadLetterRetries) {
      this.#clock.clearTimeout(timer);
      giveUp();
    }
    this.#deadLetterRetries.clear();
  }

  #halt(record: ConsumedRecord, version: string): void {
    this.#halted = true;
    this.#generation++;
    this.#clearTimer();
    this.#cancelRefill();
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
    this.#maybeRefill(now);
    const next = this.#nextDispatchAt(now);
    if (next === undefined || next > now || now < this.#retryAtMs) {
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
    if (this.#tx) return this.#flushTransactions(generation, this.#tx);
    // At least once, pipelined. A batch's targets go first; its tombstones go once every one of
    // its targets is acknowledged, in the same produce call as the targets of a later batch, and
    // up to PIPELINE_DEPTH calls are in flight at once: call k carries the tombstones of the batch
    // whose targets call k - PIPELINE_DEPTH wrote. Per schedule the order is the one that matters:
    // never a tombstone before its target is acknowledged (a produce that fails can have written
    // any subset of its records, and a tombstone whose target was not written would lose the
    // schedule). A failure costs what it cost before: every schedule of the calls in flight whose
    // target may be written is flagged possibleDuplicate when it is sent again. While a failure
    // is being isolated (one schedule at a time) there is one call in flight, alone, so that a
    // failed call tells which schedule failed.
    const calls: FlushCall[] = [];
    /** Batches whose targets are acknowledged and whose tombstones are still to go, oldest first. */
    const acked: Flight[] = [];
    for (;;) {
      while (calls.length < (this.#isolate || this.#failing.size > 0 ? 1 : PIPELINE_DEPTH)) {
        const call = this.#sendCall(generation, acked);
        if (call === undefined) break;
        calls.push(call);
      }
      const call = calls.shift();
      if (call === undefined) return;
      const outcome = await call.outcome;
      if (outcome.ok) {
        if (call.carry !== undefined) this.#flightLanded(call.carry, this.#clock.now());
        if (call.next !== undefined) {
          call.next.produced = outcome.produced.slice(call.carried);
          acked.push(call.next);
        }
        if (generation === this.#generation) this.#report(false);
        continue;
      }
      const { error } = outcome;
      if (call.next !== undefined && RecordRefusedError.isInstance(error) && error.recordIndex >= call.carried) {
        // The client refused one target before sending anything: nothing of this call was
        // written. Its tombstones go again first; the refused schedule is set apart.
        const later = await this.#settleCalls(calls);
        if (later.length === 0 && this.#refused(call.next, error.recordIndex - call.carried, error)) {
          if (call.carry !== undefined) acked.unshift(call.carry);
          continue;
        }
        later.unshift(call);
        this.#callsFailed(later, acked, error);
        return;
      }
      const later = await this.#settleCalls(calls);
      later.unshift(call);
      this.#callsFailed(later, acked, error);
      return;
    }
  }

  /**
   * Starts the next produce call: the tombstones of the oldest acknowledged batch, and the targets
   * of the next due batch (none once the engine was parked or reloaded, or while the tombstones
   * must go alone). `undefined` when there is nothing to send.
   */
  #sendCall(generation: number, acked: Flight[]): FlushCall | undefined {
    const now = this.#clock.now();
    const carry = acked.shift();
    const combine = carry === undefined || (!this.#isolate && this.#failing.size === 0);
    const entries = generation === this.#generation && combine ? this.#nextBatch(now) : [];
    if (entries.length === 0 && carry === undefined) return undefined;
    const next = entries.length > 0 ? this.#prepareFlight(entries, now) : undefined;
    const probe = next !== undefined && this.#probeAfter !== undefined && next.ids[0] !== this.#probeAfter;
    if (next !== undefined) {
      this.#probeAfter = undefined;
      for (const id of next.ids) this.#inFlight.add(id);
    }
    const carried = carry?.tombstones.length ?? 0;
    const records = carry === undefined ? next!.targets : next === undefined ? carry.tombstones : carry.tombstones.concat(next.targets);
    const started = this.#clock.now();
    const call: FlushCall = { carry, next, carried, records: records.length, probe, outcome: undefined!, result: undefined };
    // While a failure is isolated, the call must fail only for its own records (see ProduceOptions.alone).
    const alone = this.#isolate || this.#failing.size > 0;
    call.outcome = (alone ? this.#transport.produce(records, { alone }) : this.#transport.produce(records)).then(
      (produced): CallOutcome => {
        this.#flightSucceeded(started, records.length);
        return (call.result = { ok: true, produced });
      },
      (error: unknown): CallOutcome => (call.result = { ok: false, error }),
    );
    return call;
  }

  /** Waits for the calls still in flight after one failed; returns them (their outcomes known). */
  async #settleCalls(calls: FlushCall[]): Promise<FlushCall[]> {
    const later = calls.splice(0);
    await Promise.all(later.map((call) => call.outcome));
    return later;
  }

  /**
   * A produce call failed (`calls[0]`; the others were in flight with it and have settled). What
   * a later call completed stands (its tombstones landed); every other batch of these calls, and
   * every batch whose tombstones were still to go, is retried after a back-off (see
   * {@link PartitionEngine.#flushFailed}).
   */
  #callsFailed(calls: readonly FlushCall[], acked: Flight[], error: unknown): void {
    const failed: Flight[] = [];
    for (const call of calls) {
      if (call.result?.ok === true) {
        // Completed before it was known that an earlier call failed: its tombstones landed.
        if (call.carry !== undefined) this.#flightLanded(call.carry, this.#clock.now());
        if (call.next !== undefined) failed.push(call.next);
      } else {
        if (call.carry !== undefined) failed.push(call.carry);
        if (call.next !== undefined) failed.push(call.next);
      }
    }
    failed.push(...acked.splice(0));
    this.#flightsFailed(
      failed,
      calls[0]!.probe,
      error,
      calls.reduce((n, c) => n + c.records, 0),
    );
  }

  /**
   * Transactional: each batch's targets and tombstones in one transaction, one transaction at a
   * time (a transactional producer has one open transaction). The commit is not followed by a wait
   * until read-committed readers see it (`readableTopics: []`): every read of this partition that
   * needs the flush's tombstones starts after the producer's `init()` (a new owner, a resumed
   * engine, a settled failure). Fenced by partition, that is an InitProducerId of the partition's
   * transactional id, which the coordinator answers only once the markers of the last commit are
   * written; fenced by the group, it waits until the partition's committed position is stable and
   * its last stable offset has reached its high watermark. Each transaction also passes the
   * engine's position, which a producer fenced by the group commits with it. The background read needs no tombstone of a
   * dispatched schedule (those were due before the window's end it reads from, and it skips keys
   * dispatched meanwhile).
   */
  async #flushTransactions(generation: number, tx: TransactionalProducer): Promise<void> {
    for (;;) {
      const now = this.#clock.now();
      const entries = this.#nextBatch(now);
      if (entries.length === 0) return;
      const flight = this.#prepareFlight(entries, now);
      const probe = this.#probeAfter !== undefined && flight.ids[0] !== this.#probeAfter;
      this.#probeAfter = undefined;
      for (const id of flight.ids) this.#inFlight.add(id);
      const records: ProduceRecord[] = new Array<ProduceRecord>(flight.targets.length * 2);
      for (let i = 0; i < flight.targets.length; i++) {
        records[2 * i] = flight.targets[i]!;
        records[2 * i + 1] = flight.tombstones[i]!;
      }
      const started = this.#clock.now();
      let produced: RecordMetadata[];
      try {
        produced = await tx.sendInTransaction(records, { readableTopics: [], position: this.#position });
      } catch (error) {
        // Refused before the transaction began: nothing of it was written.
        if (RecordRefusedError.isInstance(error) && this.#refused(flight, Math.floor(error.recordIndex / 2), error)) continue;
        this.#flightsFailed([flight], probe, error, records.length);
        return;
      }
      this.#flightSucceeded(started, records.length);
      flight.produced = produced;
      flight.step = 2;
      this.#flightLanded(flight, this.#clock.now());
      if (generation !== this.#generation) return;
      this.#report(false);
    }
  }

  /** Builds the target + tombstone pair of each entry of a batch (dead letters for undeliverable ones). */
  #prepareFlight(entries: BufferEntry<Pending>[], now: number): Flight {
    const n = entries.length;
    const ids = new Array<string>(n);
    const targets = new Array<ProduceRecord>(n);
    const tombstones = new Array<ProduceRecord>(n);
    const targetTopics = new Array<string>(n);
    const deadLetters = new Array<boolean>(n);
    const deadLetterTopic = this.#options.deadLetterTopic;
    const tracer = this.#tracer;
    /** Per entry: its dispatch span, only when a tracer is set (without one, tracing costs one check per schedule). */
    let spans: (DispatchSpan | undefined)[] | undefined;
    for (let i = 0; i < n; i++) {
      const entry = entries[i]!;
      const id = `${entry.key}@${entry.offset}`;
      ids[i] = id;
      const { record, target, keyText } = this.#unpack(entry);
      const gone = deadLetterTopic !== undefined ? this.#undeliverable.get(id) : undefined;
      deadLetters[i] = gone !== undefined;
      let pair: DispatchPair;
      if (gone !== undefined)
        pair = deadLetterPair(record, target, deadLetterTopic!, { ...gone, textHeadersOnly: gone.reason === 'refused' });
      else if (tracer === undefined) pair = dispatchPair(record, target, undefined, keyText);
      else {
        const span = this.#startSpan(tracer, entry, record, target, now);
        (spans ??= [])[i] = span;
        pair = dispatchPair(record, target, span?.headers, keyText);
      }
      targetTopics[i] = target.topic;
      targets[i] = pair.target;
      tombstones[i] = pair.tombstone;
    }
    return { entries, ids, targets, tombstones, targetTopics, deadLetters, spans, produced: undefined, step: 1 };
  }

  /** A batch's produce was refused before anything was sent: it is no longer in flight. */
  #flightDropped(flight: Flight, error: unknown): void {
    for (const id of flight.ids) this.#inFlight.delete(id);
    // Back in the order of the buffer, unless deleted or replaced meanwhile (see #nextBatch).
    for (const entry of flight.entries) this.#buffer.restore(entry);
    if (flight.spans !== undefined) for (const span of flight.spans) this.#endSpan(span, { ok: false, error });
  }

  /**
   * The client refused the record of `flight.entries[index]` before sending anything, so the
   * batch is dropped from flight; that schedule can never go as it is (it is marked undeliverable, or retried later when its dead
   * letter was refused too); the others go again at once. False when there is no such entry.
   */
  #refused(flight: Flight, index: number, error: RecordRefusedError): boolean {
    const entry = flight.entries[index];
    if (entry === undefined) return false;
    this.#flightDropped(flight, error);
    const id = flight.ids[index]!;
    this.#emitError('flush', error);
    if (this.#undeliverable.has(id)) {
      // Its dead letter was refused too: retry later like any failing schedule.
      this.#flushFailed([entry], [id], false, error);
    } else {
      this.#logger.warn({ ...this.#where(), key: entry.key, offset: entry.offset, error }, 'the Kafka client refused a schedule');
      this.#markUndeliverable(entry, 'refused', describeError(error), (this.#failing.get(id)?.failures ?? 0) + 1);
    }
    this.#retryAtMs = 0;
    return true;
  }

  /** A produce failed: its batches stay buffered and are retried after a back-off (see {@link PartitionEngine.#flushFailed}). */
  #flightsFailed(flights: readonly Flight[], probe: boolean, error: unknown, records: number): void {
    const entries = flights.length === 1 ? flights[0]!.entries : flights.flatMap((f) => f.entries);
    const ids = flights.length === 1 ? flights[0]!.ids : flights.flatMap((f) => f.ids);
    for (const flight of flights) this.#flightDropped(flight, error);
    if (FencedError.isInstance(error)) {
      this.#fenced(error);
      return;
    }
    const backoff = this.#flushFailed(entries, ids, probe, error);
    if (this.#tx) for (const id of ids) this.#unsettled.add(id);
    else {
      for (const flight of flights) {
        flight.entries.forEach((entry, i) => {
          const id = flight.ids[i]!;
          const earlier = this.#suspects.get(id) ?? 0;
          if (this.#confirmed.delete(id)) {
            // Its tombstone was read back while this flush was still failing: the pair is written.
            this.#suspects.delete(id);
            this.#emitDispatched(entry, this.#clock.now(), earlier > 0, flight.targetTopics[i]);
          } else {
            this.#suspects.set(id, earlier + 1);
          }
        });
      }
    }
    this.#logger.error({ ...this.#where(), error, records, retryInMs: backoff }, 'dispatch flush failed; will retry');
    this.#emitError('flush', error);
    // The transaction may have committed after all: settle its outcome before any retry.
    if (this.#tx) void this.#settleTransaction();
  }

  /** A produce succeeded: failures are forgotten. */
  #flightSucceeded(started: number, records: number): void {
    this.#failures = 0;
    this.#retryAtMs = 0;
    this.#isolate = false;
    this.#lastSuccessMs = this.#clock.now();
    if (this.#outage) {
      // The outage is over: what was set aside during it failed because of it, not on its own.
      this.#outage = false;
      this.#failing.clear();
    }
    this.#events.emit('flush', {
      topic: this.topic,
      partition: this.partition,
      records,
      durationMs: this.#lastSuccessMs - started,
      transactional: this.#tx !== undefined,
    });
  }

  /** Every record of a batch is acknowledged (targets and tombstones): its schedules are dispatched. */
  #flightLanded(flight: Flight, done: number): void {
    const { entries, ids, spans } = flight;
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i]!;
      const id = ids[i]!;
      this.#inFlight.delete(id);
      this.#confirmed.delete(id);
      this.#unsettled.delete(id);
      this.#failing.delete(id);
      // Out of the buffer even when the engine was parked or reloaded meanwhile (a revocation
      // waits for this flush): a parked engine resumes with this buffer, and its tombstone may
      // not be readable yet (finding 8). Only this version goes: an update that arrived while it
      // was being produced is kept.
      this.#buffer.deleteIfOffset(entry.key, entry.offset);
      // A background read may have found this very schedule: it must not come back.
      this.#refill?.touched.add(entry.key);
      const possibleDuplicate = this.#suspects.delete(id);
      if (flight.deadLetters[i]) this.#emitDeadLettered(entry, id, flight.targetTopics[i]!);
      else this.#emitDispatched(entry, done, possibleDuplicate, flight.targetTopics[i]);
      if (spans?.[i] !== undefined)
        this.#endSpan(spans[i], dispatchedOutcome(entry, done, possibleDuplicate, flight.produced?.[i * flight.step]));
    }
  }

  /** Starts a schedule's dispatch span; a tracer that throws is logged and the schedule goes untraced. */
  #startSpan(
    tracer: DispatchTracer,
    entry: BufferEntry<Pending>,
    record: ConsumedRecord,
    target: TargetRouting,
    now: number,
  ): DispatchSpan | undefined {
    try {
      return tracer.startDispatch({
        key: entry.key,
        topic: this.topic,
        partition: this.partition,
        offset: entry.offset,
        targetTopic: target.topic,
        targetPartition: target.partition,
        targetKey: target.key ?? null,
        dueMs: entry.dueMs,
        startedAtMs: now,
        transactional: this.#tx !== undefined,
        headers: record.headers,
      });
    } catch (error) {
      this.#logger.warn({ ...this.#where(), key: entry.key, error }, 'the dispatch tracer threw; dispatching untraced');
      return undefined;
    }
  }

  #endSpan(span: DispatchSpan | undefined, outcome: DispatchOutcome): void {
    if (span === undefined) return;
    try {
      span.end(outcome);
    } catch (error) {
      this.#logger.warn({ ...this.#where(), error }, 'the dispatch tracer threw when ending a span');
    }
  }

  /**
   * After a failed transaction nothing is retried until its outcome is known. A commit whose
   * answer was lost (the broker went down during EndTxn) may still complete, and retrying its
   * schedules at once would dispatch them twice. So the partition stops dispatching, closes the
   * producer and initialises a new one with the same transactional id (the coordinator first
   * completes a commit it had decided, or aborts what was left open: the outcome is then fixed),
   * and catches up from its position to the end offset taken after that: the tombstones of a
   * transaction that committed after all are read and take their schedules out of the buffer.
   * Whatever is still buffered then is retried as usual.
   */
  async #settleTransaction(attempt = 0): Promise<void> {
    const old = this.#tx;
    if (old === undefined || this.#closed || this.#parked || this.#parking) return;
    const generation = ++this.#generation;
    this.#clearTimer();
    this.#cancelRefill();
    this.#seeking = true;
    this.#setState('loading');
    this.#txReady = false;
    await old
      .close()
      .catch((error: unknown) => this.#logger.warn({ ...this.#where(), error }, 'closing the failed transactional producer failed'));
    if (generation !== this.#generation || this.#closed) return;
    try {
      const tx = await this.#transport.createTransactionalProducer(
        old.transactionalId,
        old.fencedByGroup !== undefined ? { fencedByGroup: old.fencedByGroup } : undefined,
      );
      if (generation !== this.#generation || this.#closed) {
        await tx.close().catch(() => {});
        return;
      }
      this.#tx = tx;
      await tx.init();
    } catch (error) {
      if (generation !== this.#generation || this.#closed) return;
      if (FencedError.isInstance(error)) {
        this.#fenced(error);
        return;
      }
      this.#retrySeek('re-initialising the transactional producer after a failed transaction failed; retrying', error, attempt, () =>
        this.#settleTransaction(attempt + 1),
      );
      return;
    }
    if (generation !== this.#generation || this.#closed) return;
    this.#txReady = true;
    this.#seeking = false;
    await this.#resume('transaction');
  }

  /** A newer owner initialised this partition's transactional id: it is no longer ours. */
  #fenced(error: unknown): void {
    // Stop dispatching; the revocation that follows drops the engine.
    this.#logger.warn({ ...this.#where() }, 'transactional producer fenced by a newer owner; partition stops dispatching');
    this.#emitError('flush', error);
    this.#generation++;
    this.#clearTimer();
    this.#cancelRefill();
    this.#setState('stopped');
  }

  /** Whether a schedule is set aside now (it kept failing on its own; see {@link PartitionEngine.#flushFailed}). */
  #isAside(entry: BufferEntry<Pending>, now: number): boolean {
    if (this.#failing.size === 0) return false;
    const failing = this.#failing.get(`${entry.key}@${entry.offset}`);
    return failing !== undefined && failing.asideUntilMs > now;
  }

  /**
   * When the next dispatch can happen: the due time of the earliest schedule not set aside, or
   * the end of the earliest set-aside period, whichever comes first. Looks at no more entries
   * than are set aside, plus one.
   */
  #nextDispatchAt(now: number): number | undefined {
    let next: number | undefined;
    const aside = [...this.#failing.values()].filter((f) => f.asideUntilMs > now).length;
    for (const entry of this.#buffer.due(Number.POSITIVE_INFINITY, aside + 1)) {
      const failing = this.#failing.get(`${entry.key}@${entry.offset}`);
      if (failing !== undefined && failing.asideUntilMs > now) {
        const at = Math.max(entry.dueMs, failing.asideUntilMs);
        next = next === undefined ? at : Math.min(next, at);
        continue;
      }
      next = next === undefined ? entry.dueMs : Math.min(next, entry.dueMs);
      break;
    }
    return next;
  }

  /**
   * The next batch: due schedules in (due time, offset) order, skipping those set aside, at most
   * `flushBatchSize / 2` of them. A schedule that already failed on its own is produced alone, and
   * so is every schedule while isolating the cause of a failed batch.
   *
   * The batch is taken out of the buffer's order while it is in flight (it stays buffered under
   * its key), so the next batch starts right after it instead of walking past every schedule in
   * flight. Landing deletes it (#flightLanded); a failed or refused produce restores it
   * (#flightDropped).
   */
  #nextBatch(now: number): BufferEntry<Pending>[] {
    const limit = this.#isolate ? 1 : this.#pairsPerBatch;
    if (this.#failing.size === 0) return this.#buffer.take(now, limit);
    const aside = [...this.#failing.values()].filter((f) => f.asideUntilMs > now).length;
    const batch: BufferEntry<Pending>[] = [];
    for (const entry of this.#buffer.due(now, limit + aside)) {
      if (this.#isAside(entry, now)) continue;
      const failedBefore = this.#failing.has(`${entry.key}@${entry.offset}`);
      if (failedBefore && batch.length > 0) break;
      batch.push(entry);
      if (failedBefore || batch.length >= limit) break;
    }
    for (const entry of batch) this.#buffer.takeEntry(entry);
    return batch;
  }

  /**
   * Decides what follows a failed flush and returns the back-off before the next attempt, ms.
   *
   * One bad schedule (its target topic or partition does not exist, its record is too large…)
   * must not stop the partition (ksched.md §4), and an outage must not be mistaken for one. So: a
   * failed batch of several schedules is retried one schedule at a time; a schedule that fails on
   * its own a second time in a row is set aside (its own back-off, up to 5 minutes, it stays
   * buffered and is retried) and the next schedule is tried at once as a probe. If the probe fails
   * too, the partition backs off as a whole (outage), and the first success after it forgets
   * what was set aside meanwhile. A one-off failure therefore never reorders dispatches; only a
   * schedule that keeps failing on its own is overtaken.
   */
  #flushFailed(entries: readonly BufferEntry<Pending>[], ids: readonly string[], probe: boolean, error: unknown): number {
    const now = this.#clock.now();
    if (probe) this.#outage = true;
    const partitionBackoff = (): number => {
      this.#failures++;
      const backoff = Math.min(MAX_BACKOFF_MS, this.#options.retryBackoffMs * 2 ** (this.#failures - 1));
      this.#retryAtMs = now + backoff;
      return backoff;
    };
    if (entries.length > 1) {
      this.#isolate = true;
      return partitionBackoff();
    }
    const id = ids[0]!;
    const failures = (this.#failing.get(id)?.failures ?? 0) + 1;
    const sinceMs = this.#failing.get(id)?.sinceMs ?? now;
    if (failures < 2) {
      this.#failing.set(id, { failures, asideUntilMs: 0, sinceMs });
      return partitionBackoff();
    }
    const known = this.#undeliverable.get(id);
    // An undeliverable schedule kept (no dead-letter topic) is retried every MAX_SET_ASIDE_MS.
    const kept = known !== undefined && this.#options.deadLetterTopic === undefined;
    const aside = kept ? MAX_SET_ASIDE_MS : Math.min(MAX_SET_ASIDE_MS, this.#options.retryBackoffMs * 2 ** (failures - 2));
    this.#failing.set(id, { failures, asideUntilMs: now + aside, sinceMs });
    const entry = entries[0]!;
    if (known !== undefined) known.attempts = failures;
    else if (
      !this.#outage &&
      this.#lastSuccessMs > sinceMs &&
      failures >= this.#options.undeliverableAttempts &&
      now - entry.dueMs >= this.#options.undeliverableAfterMs
    ) {
      // Other schedules went out since it began failing, so it fails on its own, not with the cluster.
      this.#markUndeliverable(entry, undeliverableReason(error), describeError(error), failures);
      if (this.#options.deadLetterTopic !== undefined) {
        this.#retryAtMs = 0;
        return 0;
      }
    }
    this.#logger.warn(
      { ...this.#where(), key: entries[0]!.key, offset: entries[0]!.offset, failures, asideMs: aside },
      'a schedule keeps failing on its own; set aside, the partition goes on',
    );
    if (probe) return partitionBackoff();
    // Probe: try the next schedule right away. If it fails too, the whole partition backs off.
    this.#probeAfter = id;
    this.#retryAtMs = 0;
    return 0;
  }

  /**
   * A valid schedule cannot be delivered. With a dead-letter topic it goes out with the next flush
   * as a dead letter plus its tombstone (see `deadLetterPair`); without one it is kept and retried
   * every {@link MAX_SET_ASIDE_MS}. Logged and announced once either way (`undeliverable`).
   */
  #markUndeliverable(entry: BufferEntry<Pending>, reason: UndeliverableReason, detail: string, attempts: number): void {
    const id = `${entry.key}@${entry.offset}`;
    this.#undeliverable.set(id, { reason, detail, attempts });
    const where = { ...this.#where(), key: entry.key, offset: entry.offset, dueMs: entry.dueMs, reason, detail, attempts };
    if (this.#options.deadLetterTopic !== undefined) {
      // Due already: the next flush takes it, as a dead letter.
      this.#failing.delete(id);
      this.#logger.error({ ...where, deadLetterTopic: this.#options.deadLetterTopic }, 'schedule cannot be delivered: dead-lettering it');
      return;
    }
    const now = this.#clock.now();
    this.#failing.set(id, { failures: attempts, asideUntilMs: now + MAX_SET_ASIDE_MS, sinceMs: this.#failing.get(id)?.sinceMs ?? now });
    this.#logger.error(where, 'schedule cannot be delivered and no dead-letter topic is set: kept, retried every 5 minutes');
    this.#emitUndeliverable(entry, id, 'kept');
  }

  #emitUndeliverable(entry: BufferEntry<Pending>, id: string, action: 'dead_lettered' | 'kept', targetTopic?: string): void {
    const known = this.#undeliverable.get(id);
    if (known === undefined) return;
    this.#events.emit('undeliverable', {
      topic: this.topic,
      partition: this.partition,
      key: entry.key,
      offset: entry.offset,
      targetTopic: targetTopic ?? this.#unpack(entry).target.topic,
      dueMs: entry.dueMs,
      reason: known.reason,
      detail: known.detail,
      attempts: known.attempts,
      action,
    });
  }

  /** An undeliverable schedule's dead letter and tombstone were written: it is done for good. */
  #emitDeadLettered(entry: BufferEntry<Pending>, id: string, targetTopic: string): void {
    this.#emitUndeliverable(entry, id, 'dead_lettered', targetTopic);
    this.#logger.info(
      { ...this.#where(), key: entry.key, offset: entry.offset, deadLetterTopic: this.#options.deadLetterTopic },
      'undeliverable schedule dead-lettered and tombstoned',
    );
    this.#undeliverable.delete(id);
  }

  /**
   * The schedule's own tombstone (same key, `schedule_source_offset` = its offset) was read back.
   * After a failed at-least-once flush that is how the engine learns that the pair was written
   * after all: the failed flush wrote it, and no retry will (the tombstone removes the key), so
   * the `dispatched` event is emitted here, flagged when more than one failed flush may have
   * written the target. Its `dispatchedAtMs` is when the tombstone was read.
   */
  #ownTombstone(entry: BufferEntry<Pending>): void {
    const id = `${entry.key}@${entry.offset}`;
    if (this.#inFlight.has(id)) {
      // The flush producing it decides when it settles.
      this.#confirmed.add(id);
      return;
    }
    if (this.#unsettled.delete(id)) {
      // Its transaction failed to answer but committed: dispatched once, by that transaction.
      this.#emitDispatched(entry, this.#clock.now(), false);
      return;
    }
    const attempts = this.#suspects.get(id);
    if (attempts === undefined) return;
    this.#suspects.delete(id);
    this.#emitDispatched(entry, this.#clock.now(), attempts > 1);
  }

  #emitDispatched(entry: BufferEntry<Pending>, atMs: number, possibleDuplicate: boolean, targetTopic?: string): void {
    this.#dispatchedCount++;
    this.#events.emit('dispatched', {
      topic: this.topic,
      partition: this.partition,
      key: entry.key,
      offset: entry.offset,
      targetTopic: targetTopic ?? this.#unpack(entry).target.topic,
      dueMs: entry.dueMs,
      dispatchedAtMs: atMs,
      lateMs: Math.max(0, atMs - entry.dueMs),
      possibleDuplicate,
    });
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
      if (!this.#refill && !this.#halted) at = Math.min(at, Math.max(now, this.#refillDueAt()));
      const next = this.#nextDispatchAt(now);
      if (next !== undefined) at = Math.min(at, Math.max(next, this.#retryAtMs));
    }
    at = Math.min(at, now + MAX_TIMER_DELAY_MS);
    // Always armed afresh (cheap: once per batch or flush): timers count elapsed time, so after
    // the clock stepped (NTP, a suspended VM) a timer armed before would fire late.
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    const generation = this.#generation;
    this.#timer = this.#clock.setTimeout(() => this.#onTimer(generation), Math.max(0, at - now));
  }

  #onTimer(generation: number): void {
    this.#timer = undefined;
    if (generation !== this.#generation || this.#state.isStopped()) return;
    this.#report(false);
    this.#kick();
  }

  #clearTimer(): void {
    if (this.#reloadTimer !== undefined) this.#clock.clearTimeout(this.#reloadTimer);
    this.#reloadTimer = undefined;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
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
    // Today's figure: the buffered schedules due today (exact) plus the records seen due later
    // today beyond the window (raw, like the later days' estimates: exact while the window covers
    // the rest of the day, as the reference's "today" always does).
    const today = Day.containing(now);
    this.#tracker.dropBefore(today.date);
    for (const date of [...this.#beyond.keys()]) if (date < today.date) this.#beyond.delete(date);
    this.#tracker.setCount(today.date, this.#buffer.countOnDay(now) + (this.#beyond.get(today.date) ?? 0));
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

/** A traced dispatch's successful outcome, with where its target landed when the client said so. */
function dispatchedOutcome(
  entry: BufferEntry<Pending>,
  done: number,
  possibleDuplicate: boolean,
  target: RecordMetadata | undefined,
): DispatchOutcome {
  return {
    ok: true,
    dispatchedAtMs: done,
    lateMs: Math.max(0, done - entry.dueMs),
    possibleDuplicate,
    ...(target !== undefined && target.partition >= 0 ? { targetPartition: target.partition } : {}),
    ...(target !== undefined && target.offset >= 0 ? { targetOffset: target.offset } : {}),
  };
}

/** Adds `n` to the count of the UTC date of `dueMs`. */
function bump(counts: Map<string, number>, dueMs: number, n: number): void {
  const date = utcDateOf(dueMs);
  counts.set(date, (counts.get(date) ?? 0) + n);
}

/** An error's message with its causes, for logs and dead-letter headers (at most 500 characters). */
function describeError(error: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = error, depth = 0; e !== undefined && e !== null && depth < 4; depth++) {
    parts.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  const text = parts.join(': caused by ');
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/** The reason an error gives for a schedule that cannot be delivered (clients word these differently). */
function undeliverableReason(error: unknown): UndeliverableReason {
  if (RecordRefusedError.isInstance(error)) return 'refused';
  const text = describeError(error);
  if (/UNKNOWN_TOPIC|unknown topic|unknown partition|does not (host|exist)|not present in metadata/i.test(text)) return 'target_missing';
  if (/TOO_LARGE|too large|MSG_SIZE/i.test(text)) return 'too_large';
  return 'failing';
}
