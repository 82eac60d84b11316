import { Header, SCHEMA_VERSION } from '../contracts/headers.js';
import type { SchedulerOptions } from '../contracts/options.js';
import { DailyBuffer, type BufferEntry } from '../domain/daily-buffer.js';
import { Day } from '../domain/day.js';
import { MaxEpoch } from '../domain/max-epoch.js';
import { State } from '../domain/state.js';
import { Tracker } from '../domain/tracker.js';
import { MAX_TIMER_DELAY_MS, type Clock, type TimerHandle } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { ConsumedRecord, PartitionBatch, ProduceRecord, TransactionalProducer, Transport } from '../ports/transport.js';
import { decodeRecord, type InvalidReason, type TargetRouting } from '../wire/decode.js';
import { dispatchPair } from '../wire/dispatch.js';
import { packSchedule, unpackSchedule, utf8 } from '../wire/compact.js';
import { statesRecord } from '../wire/states.js';
import type { ErrorEvent, SchedulerEvents } from './events.js';
import { FencedError, IncompatibleSchemaError } from '../errors.js';

/**
 * What the engine keeps per buffered schedule: its record packed into one string (see
 * `packSchedule`: timestamp, value and header bytes, the key's bytes only when its text would not
 * re-encode to them). The record and its routing are rebuilt when the schedule is dispatched.
 */
type Pending = string;

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
/** Longest a schedule that keeps failing on its own is set aside between two attempts. */
const MAX_SET_ASIDE_MS = 300_000;
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
 * never split a pair; each batch is one transaction when a transactional producer is given.
 * Without one, a batch's targets are produced first and its tombstones only once all targets are
 * acknowledged, so no tombstone ever exists for an unwritten target. A key leaves the buffer only
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
  #timerAtMs = Number.POSITIVE_INFINITY;
  #flushing: Promise<void> | undefined;
  #failures = 0;
  #retryAtMs = 0;
  /**
   * `key@offset` of schedules that were in failed at-least-once flushes → how many such flushes
   * may have written their target (possible duplicates).
   */
  readonly #suspects = new Map<string, number>();
  /** `key@offset` of the schedules in the flush being produced now. */
  readonly #inFlight = new Set<string>();
  /** `key@offset` of in-flight schedules whose own tombstone was already read back. */
  readonly #confirmed = new Set<string>();
  /**
   * `key@offset` → consecutive failed flushes in which the schedule was produced alone, and until
   * when it is set aside (see {@link PartitionEngine.#flushFailed}).
   */
  readonly #failing = new Map<string, { failures: number; asideUntilMs: number }>();
  /** After a failed multi-schedule batch: produce one schedule at a time until one succeeds. */
  #isolate = false;
  /** Set when a schedule was just set aside: the next attempt with another schedule is a probe. */
  #probeAfter: string | undefined;
  /** A probe failed too: the failures are the cluster's, not the schedules'. */
  #outage = false;
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
    if (this.#closed) return;
    if (this.#tx && !this.#txReady) {
      try {
        await this.#tx.init();
        this.#txReady = true;
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
    if (this.#closed) return;
    this.#closed = true;
    // Already stopped by a newer schema (halted: it reported then) or by fencing (another member
    // owns the partition now and reports for it): no second report, but still release everything.
    const wasStopped = this.#state.isStopped();
    this.#generation++;
    this.#clearTimer();
    if (!wasStopped) this.#setState('stopped');
    if (this.#flushing) await this.#flushing.catch(() => {});
    if (options.report && !wasStopped) await this.#reportNow();
    this.#buffer.clear();
    if (this.#tx)
      await this.#tx
        .close()
        .catch((error: unknown) => this.#logger.warn({ ...this.#where(), error }, 'closing the transactional producer failed'));
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

  /**
   * Clears the partition's state and re-reads it from its logical beginning. A failed seek (the
   * broker did not answer) is retried after a growing back-off for as long as the engine runs;
   * meanwhile batches are ignored, so nothing counts as loaded from the wrong offset.
   */
  async #reload(reason: 'assigned' | 'day_rollover', attempt = 0): Promise<void> {
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
      if (generation !== this.#generation) return;
      const delayMs = Math.min(MAX_BACKOFF_MS, this.#options.retryBackoffMs * 2 ** attempt);
      this.#logger.error({ ...this.#where(), error, retryInMs: delayMs }, 'seeking to the beginning failed; retrying');
      this.#emitError('load', error);
      this.#reloadTimer = this.#clock.setTimeout(() => {
        this.#reloadTimer = undefined;
        if (generation === this.#generation && !this.#closed) void this.#reload(reason, attempt + 1);
      }, delayMs);
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

  /** Removes the schedule buffered under `key`, if any, with its failure record. */
  #unbuffer(key: string): void {
    const entry = this.#buffer.get(key);
    if (entry === undefined) return;
    this.#failing.delete(`${entry.key}@${entry.offset}`);
    this.#buffer.delete(key);
  }

  async #process(record: ConsumedRecord): Promise<void> {
    const decoded = decodeRecord(record);
    switch (decoded.kind) {
      case 'schedule': {
        if (decoded.dueMs >= this.#today.startMs) this.#tracker.future(decoded.dueMs);
        if (this.#today.isBefore(decoded.dueMs) || decoded.epoch < this.#maxEpoch.value) {
          // Not for today, or already dispatched: not held. An older version of the same key
          // buffered for today is dropped too (the reference kept and dispatched it).
          this.#unbuffer(decoded.key);
          return;
        }
        this.#unbuffer(decoded.key);
        this.#buffer.add({ key: decoded.key, dueMs: decoded.dueMs, offset: record.offset, value: this.#pending(record) });
        return;
      }
      case 'tombstone': {
        this.#maxEpoch.update(decoded.epoch);
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
        this.#unbuffer(decoded.key);
        return;
      case 'incompatible':
        this.#halt(record, decoded.schemaVersion);
        return;
      case 'invalid':
        await this.#invalid(record, decoded.reason, decoded.detail);
        return;
    }
  }

  #pending(record: ConsumedRecord): Pending {
    return packSchedule(record, record.key !== null && utf8(record.key) === undefined);
  }

  /** The consumed record a buffered schedule came from, rebuilt for dispatch, with its routing. */
  #unpack(entry: BufferEntry<Pending>): { record: ConsumedRecord; target: TargetRouting } {
    const record = unpackSchedule(entry.value, { topic: this.topic, partition: this.partition, offset: entry.offset, key: entry.key });
    const decoded = decodeRecord(record);
    // It decoded as a schedule when it was buffered, and decoding is deterministic.
    if (decoded.kind !== 'schedule') throw new Error(`internal: buffered record ${entry.key}@${entry.offset} decodes as ${decoded.kind}`);
    return { record, target: decoded.target };
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
    for (;;) {
      const now = this.#clock.now();
      const entries = this.#nextBatch(now);
      if (entries.length === 0) return;
      const targets: ProduceRecord[] = [];
      const tombstones: ProduceRecord[] = [];
      const records: ProduceRecord[] = [];
      const targetTopics: string[] = [];
      for (const entry of entries) {
        const { record, target } = this.#unpack(entry);
        const pair = dispatchPair(record, target);
        targetTopics.push(target.topic);
        targets.push(pair.target);
        tombstones.push(pair.tombstone);
        records.push(pair.target, pair.tombstone);
      }
      const ids = entries.map((entry) => `${entry.key}@${entry.offset}`);
      const probe = this.#probeAfter !== undefined && ids[0] !== this.#probeAfter;
      this.#probeAfter = undefined;
      for (const id of ids) this.#inFlight.add(id);
      const started = this.#clock.now();
      try {
        if (this.#tx) {
          await this.#tx.sendInTransaction(records);
        } else {
          // Targets first, tombstones only once every target is acknowledged: a produce that fails
          // can have written any subset of its records (each partition is a separate request), and
          // a tombstone whose target was not written would lose the schedule. The price is that a
          // failed target phase re-sends the targets it did write (flagged possibleDuplicate).
          await this.#transport.produce(targets);
          await this.#transport.produce(tombstones);
        }
      } catch (error) {
        for (const id of ids) this.#inFlight.delete(id);
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
        const backoff = this.#flushFailed(entries, ids, probe);
        if (!this.#tx) {
          entries.forEach((entry, i) => {
            const id = ids[i]!;
            const earlier = this.#suspects.get(id) ?? 0;
            if (this.#confirmed.delete(id)) {
              // Its tombstone was read back while this flush was still failing: the pair is written.
              this.#suspects.delete(id);
              this.#emitDispatched(entry, this.#clock.now(), earlier > 0, targetTopics[i]);
            } else {
              this.#suspects.set(id, earlier + 1);
            }
          });
        }
        this.#logger.error({ ...this.#where(), error, records: records.length, retryInMs: backoff }, 'dispatch flush failed; will retry');
        this.#emitError('flush', error);
        return;
      }
      for (const id of ids) {
        this.#inFlight.delete(id);
        this.#confirmed.delete(id);
        this.#failing.delete(id);
      }
      this.#failures = 0;
      this.#retryAtMs = 0;
      this.#isolate = false;
      if (this.#outage) {
        // The outage is over: what was set aside during it failed because of it, not on its own.
        this.#outage = false;
        this.#failing.clear();
      }
      const done = this.#clock.now();
      this.#events.emit('flush', {
        topic: this.topic,
        partition: this.partition,
        records: records.length,
        durationMs: done - started,
        transactional: this.#tx !== undefined,
      });
      const current = generation === this.#generation;
      entries.forEach((entry, i) => {
        // Keep an update that arrived while this version was being produced.
        if (current) this.#buffer.deleteIfOffset(entry.key, entry.offset);
        const possibleDuplicate = this.#suspects.delete(ids[i]!);
        this.#emitDispatched(entry, done, possibleDuplicate, targetTopics[i]);
      });
      if (!current) return;
      this.#report(false);
    }
  }

  /** Whether a schedule is set aside now (it kept failing on its own; see {@link PartitionEngine.#flushFailed}). */
  #isAside(entry: BufferEntry<Pending>, now: number): boolean {
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
   */
  #nextBatch(now: number): BufferEntry<Pending>[] {
    const aside = [...this.#failing.values()].filter((f) => f.asideUntilMs > now).length;
    const limit = this.#isolate ? 1 : this.#pairsPerBatch;
    const batch: BufferEntry<Pending>[] = [];
    for (const entry of this.#buffer.due(now, limit + aside)) {
      if (this.#isAside(entry, now)) continue;
      const failedBefore = this.#failing.has(`${entry.key}@${entry.offset}`);
      if (failedBefore && batch.length > 0) break;
      batch.push(entry);
      if (failedBefore || batch.length >= limit) break;
    }
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
  #flushFailed(entries: readonly BufferEntry<Pending>[], ids: readonly string[], probe: boolean): number {
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
    if (failures < 2) {
      this.#failing.set(id, { failures, asideUntilMs: 0 });
      return partitionBackoff();
    }
    const aside = Math.min(MAX_SET_ASIDE_MS, this.#options.retryBackoffMs * 2 ** (failures - 2));
    this.#failing.set(id, { failures, asideUntilMs: now + aside });
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
      at = Math.min(at, this.#today.nextStartMs);
      const next = this.#nextDispatchAt(now);
      if (next !== undefined) at = Math.min(at, Math.max(next, this.#retryAtMs));
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
      void this.#reload('day_rollover');
      return;
    }
    this.#report(false);
    this.#kick();
  }

  #clearTimer(): void {
    if (this.#reloadTimer !== undefined) this.#clock.clearTimeout(this.#reloadTimer);
    this.#reloadTimer = undefined;
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
