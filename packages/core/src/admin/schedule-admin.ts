/**
 * Looking at schedules topics from outside the scheduler group: their partitions and last states
 * reports, a partition's records page by page, and one schedule by key with its history. Built on
 * the `Transport` port only (its partition readers never join a group, so the schedulers are never
 * disturbed), so it works the same with every adapter and with the testkit's FakeBroker. What the
 * CLI's `find` and `list` and a Web UI show.
 *
 * @module
 */
import { createScheduleClient } from '../client/schedule-client.js';
import type { RescheduleInput, ScheduleClient, ScheduledRef } from '../client/schedule-client.js';
import { Header } from '../contracts/headers.js';
import type { DueTime, ScheduleMessage } from '../contracts/scheduled-message.js';
import { InvalidArgumentError, SerializationError } from '../errors.js';
import { systemClock } from '../ports/clock.js';
import type { Clock, TimerHandle } from '../ports/clock.js';
import type { ConsumedRecord, PartitionReader, RecordHeaders, TopicPartition, Transport } from '../ports/transport.js';
import { decodeRecord, headerText } from '../wire/codec/index.js';
import type { TargetRouting } from '../wire/codec/index.js';
import { partitionForKey } from '../wire/partitioner.js';
import { decodeStates, statesTopic } from '../wire/states.js';
import type { StatesReport } from '../wire/states.js';

/** What a schedules-topic record is, as the admin API shows it. */
export type AdminRecordType = 'schedule' | 'cancel' | 'tombstone' | 'unknown' | 'incompatible' | 'invalid';

/** One record of a schedules topic, decoded for display. */
export interface AdminRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly type: AdminRecordType;
  /** The record key as UTF-8 text (the envelope key); `null` for a record without a key. */
  readonly key: string | null;
  /** The record's timestamp (CreateTime), Unix ms. */
  readonly createdAtMs: number;
  readonly schemaVersion?: string;
  /** Schedules: the due time. Tombstones: the dispatched schedule's due time (whole seconds), when known. Unix ms. */
  readonly dueMs?: number;
  /** Schedules: where the message goes. */
  readonly target?: TargetRouting;
  /** Unknown types: the `schedule_source_type` found. */
  readonly unknownType?: string;
  /** Tombstones: the offset of the schedule they close, when recorded. */
  readonly closesOffset?: number;
  /** Invalid records: why (reason and detail). */
  readonly reason?: string;
  readonly headers: RecordHeaders;
  /** The payload (`null` for a null value). */
  readonly value: Uint8Array | null;
  /** Payload size in bytes (0 for a null value). */
  readonly valueSize: number;
}

/** A range of offsets `[from, to)` that holds no record any more (compacted away, transaction markers, aborted records). */
export interface OffsetGap {
  readonly from: number;
  readonly to: number;
}

/** One page of a partition's records ({@link ScheduleAdmin.records}). */
export interface RecordPage {
  readonly topic: string;
  readonly partition: number;
  /** The partition's first offset and read-committed end offset when the page was read. */
  readonly low: number;
  readonly high: number;
  /** Where the page starts (the offset asked for, moved into `[low, high]`). */
  readonly from: number;
  readonly records: readonly AdminRecord[];
  /** Offsets between `from` and where the page ends that hold no record. */
  readonly gaps: readonly OffsetGap[];
  /** Where the next page starts; `undefined` when this page reached the end. */
  readonly next: number | undefined;
}

/** The last states report a partition's scheduler wrote to `<topic>_states`. */
export interface PartitionStates {
  readonly report: StatesReport;
  /** `dispatched_at` of the report, Unix ms. */
  readonly reportedAtMs: number;
  readonly offset: number;
}

/** One partition of a schedules topic ({@link ScheduleAdmin.topics}). */
export interface PartitionSummary {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
  /** The last states report, `undefined` when none was written (or the states topic is missing). */
  readonly states: PartitionStates | undefined;
  /** Why the last states record could not be read, when it could not. */
  readonly statesError?: string;
}

/** A schedules topic with its partitions. */
export interface TopicSummary {
  readonly topic: string;
  readonly partitions: readonly PartitionSummary[];
}

/**
 * Where a schedule is, by its latest record on its partition: `pending` (a schedule), `cancelled`
 * (a cancel), `dispatched` (a tombstone), `unknown` (no record with that key, or only an unknown
 * type or an invalid record).
 */
export type ScheduleStatus = 'pending' | 'cancelled' | 'dispatched' | 'unknown';

/** What {@link ScheduleAdmin.find} found. */
export interface FoundSchedule {
  readonly topic: string;
  readonly partition: number;
  readonly key: string;
  readonly status: ScheduleStatus;
  /** The latest record with the key, if any. */
  readonly latest: AdminRecord | undefined;
  /** Every record with the key still in the log, oldest first. */
  readonly history: readonly AdminRecord[];
}

/** How to find a schedule's partition: as it was routed when it was written. */
export interface FindOptions {
  /** The schedules topic; default the first one. */
  readonly topic?: string;
  /** The partition it was written to (wins over `partitionKey`). */
  readonly partition?: number;
  /** The partition key it was hashed with; default the key itself. */
  readonly partitionKey?: string;
  /**
   * Without `partition` or `partitionKey`: when the key's own partition has no record with the
   * key, look through the other partitions too (a schedule routed by a partition key nobody
   * remembers). Reads every partition in the worst case.
   */
  readonly everyPartition?: boolean;
}

/** Where a page starts and how long it is. */
export interface PageOptions {
  /** The first offset (moved into the partition's offsets); default its beginning. */
  readonly fromOffset?: number;
  /** Start at the first record written at or after this time, Unix ms (instead of `fromOffset`). */
  readonly fromTimeMs?: number;
  /** Most records, 1 to {@link MAX_PAGE_SIZE}; default 50. */
  readonly limit?: number;
}

/** What an admin action found and what it wrote. */
export interface AdminActionResult {
  /** The schedule as it was before the action. */
  readonly found: FoundSchedule;
  /** The cancel or the new schedule record written, on the schedule's partition. */
  readonly produced: ScheduledRef;
}

/** Settings of {@link ScheduleAdmin}. */
export interface ScheduleAdminOptions {
  readonly transport: Transport;
  /** The schedules topics the admin may read (others are refused, naming these). */
  readonly schedulesTopics: readonly string[];
  /** Postfix of the states topics. Default `_states`. */
  readonly statesPostfix?: string;
  /**
   * "Now" for the records `cancel` and `reschedule` write, and (when it has them) the timers that
   * close the readers {@link ScheduleAdmin.records} keeps open for a next page. Default: the
   * system clock (also for the timers of a clock without them).
   */
  readonly clock?: Pick<Clock, 'now'> & Partial<Omit<Clock, 'now'>>;
  /**
   * How long the reader of a full page stays open for the next page (`fromOffset: page.next`),
   * ms; the next page then reads on from it instead of opening a reader again. 0: every page
   * closes its reader. Default {@link READER_IDLE_MS}. Call {@link ScheduleAdmin.close} to close
   * the readers still open.
   */
  readonly readerIdleMs?: number;
}

/** The timer half of a {@link Clock}. */
type ClockTimers = Omit<Clock, 'now'>;

/** Most records a page may hold. */
export const MAX_PAGE_SIZE = 1000;
/** Default {@link ScheduleAdminOptions.readerIdleMs}: a reader left for the next page closes after 30 s without one. */
export const READER_IDLE_MS = 30_000;
/** How long a page's partition check trusts a partition count read before, ms. */
const PARTITION_COUNT_TTL_MS = 30_000;
/** Most readers kept open for next pages at once (the least recently used one closes first). */
const MAX_OPEN_READERS = 8;
/** How far back from a states partition's end the last report is looked for (transaction markers sit between reports). */
const STATES_LOOKBACK = 16;

const utf8 = new TextDecoder();
const text = (bytes: Uint8Array | null): string | null => (bytes === null ? null : utf8.decode(bytes));

/** Decodes one consumed record of a schedules topic for display. */
export function adminRecord(topic: string, record: ConsumedRecord): AdminRecord {
  const base = {
    topic,
    partition: record.partition,
    offset: record.offset,
    key: text(record.key),
    createdAtMs: record.timestamp,
    headers: record.headers,
    value: record.value,
    valueSize: record.value?.byteLength ?? 0,
  };
  const d = decodeRecord(record);
  switch (d.kind) {
    case 'schedule':
      return { ...base, type: 'schedule', schemaVersion: d.schemaVersion, dueMs: d.dueMs, target: d.target };
    case 'cancel':
      return { ...base, type: 'cancel', schemaVersion: d.schemaVersion };
    case 'tombstone':
      return {
        ...base,
        type: 'tombstone',
        schemaVersion: d.schemaVersion,
        ...(d.epoch > 0 ? { dueMs: d.epoch * 1000 } : {}),
        ...(d.sourceOffset !== undefined ? { closesOffset: d.sourceOffset } : {}),
      };
    case 'unknown':
      return { ...base, type: 'unknown', schemaVersion: d.schemaVersion, unknownType: d.type };
    case 'incompatible':
      return { ...base, type: 'incompatible', schemaVersion: d.schemaVersion };
    case 'invalid': {
      const version = headerText(record.headers, Header.schemaVersion);
      return { ...base, type: 'invalid', reason: `${d.reason}: ${d.detail}`, ...(version !== undefined ? { schemaVersion: version } : {}) };
    }
  }
}

/** The status a schedule's latest record gives it. */
export function statusOf(latest: AdminRecord | undefined): ScheduleStatus {
  switch (latest?.type) {
    case 'schedule':
      return 'pending';
    case 'cancel':
      return 'cancelled';
    case 'tombstone':
      return 'dispatched';
    default:
      return 'unknown';
  }
}

/**
 * A partition reader and what is left of the batch it returned last: where a page stopped, to go
 * on from (the records from `index` on were not handed out yet; the reader goes on at `position`).
 */
interface Cursor {
  readonly tp: TopicPartition;
  readonly reader: PartitionReader;
  records: readonly ConsumedRecord[];
  index: number;
  position: number;
}

/** A cursor kept open for the next page, and the timer that closes it when no next page comes. */
interface ParkedCursor {
  readonly cursor: Cursor;
  readonly timer: TimerHandle;
}

/** What one page read: its records and gaps, and where reading stopped. */
interface PageRead {
  readonly records: AdminRecord[];
  readonly gaps: OffsetGap[];
  /** The offset after the last record of the page (`from` without records). */
  readonly expected: number;
  /** Where reading stopped (past trailing markers when the end was reached). */
  readonly position: number;
}

/**
 * The admin API over one transport (see the module comment).
 *
 * **Pages without reopening.** Each page reads through a partition reader opened at its first
 * offset (`Transport.openReader`: a connection and a fetch, no group join). The reader of a full
 * page is kept open, with the rest of its last batch, for up to `readerIdleMs` (default 30 s): a
 * request for the next page (`fromOffset: page.next`) reads on from it, without opening a reader
 * again; other pages open their own. Readers not kept are closed in the background, after the
 * page was returned (closing a librdkafka consumer takes 10-50 ms). {@link ScheduleAdmin.close}
 * closes them all.
 */
export class ScheduleAdmin {
  readonly schedulesTopics: readonly string[];
  readonly #transport: Transport;
  readonly #statesPostfix: string;
  readonly #clock: Pick<Clock, 'now'> | undefined;
  readonly #timers: ClockTimers;
  readonly #readerIdleMs: number;
  /** Cursors kept open for a next page, by topic, partition and that page's first offset; oldest first. */
  readonly #parked = new Map<string, ParkedCursor>();
  /** Readers being closed in the background. */
  readonly #closing = new Set<Promise<void>>();
  /** The partition count last read of each schedules topic, and when (Unix ms). */
  readonly #counts = new Map<string, { readonly count: number; readonly atMs: number }>();
  #closed = false;

  constructor(options: ScheduleAdminOptions) {
    if (options.schedulesTopics.length === 0) throw bad('schedulesTopics', 'required', 'name at least one schedules topic');
    const idle = options.readerIdleMs ?? READER_IDLE_MS;
    if (typeof idle !== 'number' || !Number.isFinite(idle) || idle < 0) {
      throw bad('readerIdleMs', 'range', `must be a number of milliseconds ≥ 0, got ${String(idle)}`);
    }
    this.schedulesTopics = [...options.schedulesTopics];
    this.#transport = options.transport;
    this.#statesPostfix = options.statesPostfix ?? '_states';
    this.#clock = options.clock;
    const clock = options.clock;
    this.#timers = clock?.setTimeout !== undefined && clock.clearTimeout !== undefined ? (clock as ClockTimers) : systemClock;
    this.#readerIdleMs = idle;
  }

  /**
   * Closes the readers kept open for next pages and waits until every reader the admin opened is
   * closed. The admin stays usable: pages read afterwards close their readers at once. Idempotent.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const parked of this.#parked.values()) this.#release(parked);
    this.#parked.clear();
    while (this.#closing.size > 0) await Promise.all([...this.#closing]);
  }

  /** Every schedules topic with its partitions' watermarks and last states reports. */
  async topics(): Promise<TopicSummary[]> {
    return Promise.all(this.schedulesTopics.map((topic) => this.topic(topic)));
  }

  /**
   * One schedules topic with its partitions' watermarks and last states reports.
   *
   * @throws InvalidArgumentError naming `topic` when it is not one of {@link schedulesTopics}.
   */
  async topic(topic: string): Promise<TopicSummary> {
    const count = await this.#partitionCount(topic);
    const states = await this.#statesCount(topic);
    const partitions = await Promise.all(
      Array.from({ length: count }, async (_, partition): Promise<PartitionSummary> => {
        const { low, high } = await this.#transport.fetchWatermarks({ topic, partition });
        if (states === undefined || partition >= states) return { partition, low, high, states: undefined };
        try {
          return {
            partition,
            low,
            high,
            states: await this.#lastStates({ topic: statesTopic(topic, this.#statesPostfix), partition }),
          };
        } catch (error) {
          return { partition, low, high, states: undefined, statesError: error instanceof Error ? error.message : String(error) };
        }
      }),
    );
    return { topic, partitions };
  }

  /**
   * How many partitions a schedules topic has (a metadata request; nothing is read).
   *
   * @throws InvalidArgumentError naming `topic` when it is not one of {@link schedulesTopics}.
   */
  async partitionCount(topic: string): Promise<number> {
    return this.#partitionCount(topic);
  }

  /**
   * Up to `limit` (default 50, at most {@link MAX_PAGE_SIZE}) records of a partition from
   * `fromOffset` (default its beginning; moved into its offsets) or from the first record written
   * at or after `fromTimeMs` (the transport's `offsetForTime`), with the offsets in between that
   * hold no record. Reads by seeking, never from the partition's beginning.
   *
   * @throws InvalidArgumentError naming the topic, partition, offset, time or limit that is wrong.
   */
  async records(topic: string, partition: number, options: PageOptions = {}): Promise<RecordPage> {
    const { tp, limit, low, high, from } = await this.#range(topic, partition, options);
    let read: PageRead = { records: [], gaps: [], expected: from, position: from };
    if (from < high) {
      const parked = this.#unpark(tp, from);
      let done = false;
      if (parked !== undefined) {
        try {
          read = await this.#page(parked, from, high, limit);
          done = true;
        } catch {
          // The reader kept open failed meanwhile (a broker restart, the transport closed; #page
          // closes it): the page is read again through a new one.
        }
      }
      if (!done) read = await this.#page(await this.#open(tp, from), from, high, limit);
    }
    const { records, gaps, expected, position } = read;
    const end = records.length < limit ? Math.max(position, expected) : expected;
    if (records.length < limit && end > expected) gaps.push({ from: expected, to: end });
    return { topic, partition, low, high, from, records, gaps, next: end < high ? end : undefined };
  }

  /**
   * Reads a page of up to `limit` records from `from` (below `end`) through `cursor`; then keeps
   * the cursor open for the next page when the page is full and more follows, else closes it in
   * the background (also when reading failed).
   */
  async #page(cursor: Cursor, from: number, end: number, limit: number): Promise<PageRead> {
    const records: AdminRecord[] = [];
    const gaps: OffsetGap[] = [];
    let expected = from;
    let position: number;
    try {
      position = await this.#readOn(cursor, from, end, (record) => {
        if (record.offset > expected) gaps.push({ from: expected, to: record.offset });
        expected = record.offset + 1;
        records.push(adminRecord(cursor.tp.topic, record));
        return records.length < limit;
      });
    } catch (error) {
      this.#closeLater(cursor.reader);
      throw error;
    }
    if (records.length === limit && expected < end) this.#park(cursor, expected);
    else this.#closeLater(cursor.reader);
    return { records, gaps, expected, position };
  }

  /**
   * The schedule `key` on the partition it was routed to (`options.partition`, else the partition
   * of `options.partitionKey`, else of the key itself, as the schedule client routes it): every
   * record with the key still in the log, and the status its latest one gives it. Reads the whole
   * partition (a compacted topic holds about one record per live key).
   *
   * @throws InvalidArgumentError for an empty key, or a topic or partition that does not exist.
   */
  async find(key: string, options: FindOptions = {}): Promise<FoundSchedule> {
    if (key.length === 0) throw bad('key', 'required', 'must not be empty');
    const topic = options.topic ?? this.schedulesTopics[0]!;
    const count = await this.#partitionCount(topic);
    const partition = options.partition ?? partitionForKey(options.partitionKey ?? key, count);
    checkPartition(topic, partition, count);
    const found = await this.#findOn({ topic, partition }, key);
    const routed = options.partition !== undefined || options.partitionKey !== undefined;
    if (found.history.length > 0 || options.everyPartition !== true || routed) return found;
    for (let other = 0; other < count; other++) {
      if (other === partition) continue;
      const elsewhere = await this.#findOn({ topic, partition: other }, key);
      if (elsewhere.history.length > 0) return elsewhere;
    }
    return found;
  }

  /** Every record with `key` in `tp`, and the status its latest one gives the schedule. */
  async #findOn(tp: TopicPartition, key: string): Promise<FoundSchedule> {
    const { low, high } = await this.#transport.fetchWatermarks(tp);
    const history: AdminRecord[] = [];
    const wanted = new TextEncoder().encode(key);
    await this.#read(tp, low, high, (record) => {
      if (record.key !== null && sameBytes(record.key, wanted)) history.push(adminRecord(tp.topic, record));
      return true;
    });
    const latest = history.at(-1);
    return { topic: tp.topic, partition: tp.partition, key, status: statusOf(latest), latest, history };
  }

  /**
   * The pending schedules of a partition: schedule records that are still the latest record of
   * their key, in offset order, from `fromOffset` (default the beginning), at most `limit`
   * (default 50, at most {@link MAX_PAGE_SIZE}). Reads the partition from `fromOffset` to its end
   * (a later cancel or tombstone closes a schedule).
   *
   * @throws InvalidArgumentError naming the topic, partition, offset or limit that is wrong.
   */
  async pending(
    topic: string,
    partition: number,
    options: PageOptions = {},
  ): Promise<{ readonly records: readonly AdminRecord[]; readonly more: boolean; readonly low: number; readonly high: number }> {
    const { tp, limit, low, high, from } = await this.#range(topic, partition, options);
    const latest = new Map<string, ConsumedRecord>();
    await this.#read(tp, from, high, (record) => {
      if (record.key === null) return true;
      const key = utf8.decode(record.key);
      latest.delete(key); // re-inserted: the map stays in offset order of each key's latest record
      latest.set(key, record);
      return true;
    });
    const records: AdminRecord[] = [];
    let more = false;
    for (const record of latest.values()) {
      const decoded = adminRecord(topic, record);
      if (decoded.type !== 'schedule') continue;
      if (records.length === limit) {
        more = true;
        break;
      }
      records.push(decoded);
    }
    return { records, more, low, high };
  }

  /**
   * Cancels the pending schedule `key` as it was routed: the cancel goes to the partition its
   * schedule record is on (found as {@link ScheduleAdmin.find} does), whatever partition key it was
   * written with, so it cannot miss.
   *
   * @throws InvalidArgumentError when the schedule is not pending (cancelled, dispatched or unknown), naming its status.
   */
  async cancel(key: string, options: FindOptions = {}): Promise<AdminActionResult> {
    const found = await this.#pending(key, options, 'cancel');
    const produced = await this.#client(found.topic).cancel({ key, partition: found.partition });
    return { found, produced };
  }

  /**
   * Moves the pending schedule `key` to a new due time: a new schedule record with the same key,
   * message (payload, key, headers and routing of the target) on the same partition, which
   * replaces the old one.
   *
   * @throws InvalidArgumentError when the schedule is not pending, or the due time is invalid (from the builder).
   */
  async reschedule(key: string, due: DueTime, options: FindOptions = {}): Promise<AdminActionResult> {
    const found = await this.#pending(key, options, 'reschedule');
    const produced = await this.#client(found.topic).reschedule({
      key,
      partition: found.partition,
      message: messageOf(found.latest!),
      ...due,
    } as RescheduleInput);
    return { found, produced };
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Checks a page request and reads the partition's watermarks: where the page starts (moved into them). */
  async #range(
    topic: string,
    partition: number,
    options: PageOptions,
  ): Promise<{ tp: TopicPartition; limit: number; low: number; high: number; from: number }> {
    const limit = options.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_SIZE) {
      throw bad('limit', 'range', `must be an integer from 1 to ${MAX_PAGE_SIZE}, got ${String(limit)}`);
    }
    if (options.fromOffset !== undefined && (!Number.isInteger(options.fromOffset) || options.fromOffset < 0)) {
      throw bad('offset', 'range', `must be a non-negative integer, got ${String(options.fromOffset)}`);
    }
    const time = options.fromTimeMs;
    if (time !== undefined && (!Number.isFinite(time) || time < 0))
      throw bad('time', 'range', `must be Unix milliseconds ≥ 0, got ${String(time)}`);
    if (time !== undefined && options.fromOffset !== undefined) throw bad('time', 'conflict', 'give an offset or a time, not both');
    const tp = await this.#partition(topic, partition);
    const { low, high } = await this.#transport.fetchWatermarks(tp);
    const start = time !== undefined ? await this.#transport.offsetForTime(tp, time) : (options.fromOffset ?? low);
    return { tp, limit, low, high, from: Math.min(Math.max(start, low), high) };
  }

  async #pending(key: string, options: FindOptions, action: string): Promise<FoundSchedule> {
    const found = await this.find(key, options);
    if (found.status !== 'pending') {
      throw bad('key', 'not_pending', `${key} is ${found.status} on ${found.topic}/${found.partition}: nothing to ${action}`);
    }
    return found;
  }

  #client(topic: string): ScheduleClient {
    return createScheduleClient({
      transport: this.#transport,
      schedulesTopic: topic,
      ...(this.#clock !== undefined ? { clock: this.#clock } : {}),
    });
  }

  async #partitionCount(topic: string): Promise<number> {
    if (!this.schedulesTopics.includes(topic)) {
      throw bad('topic', 'unknown', `${JSON.stringify(topic)} is not a schedules topic here (known: ${this.schedulesTopics.join(', ')})`);
    }
    const count = await this.#transport.partitionCount(topic);
    this.#counts.set(topic, { count, atMs: this.#now() });
    return count;
  }

  /** `topic`/`partition` once checked: against a partition count read less than {@link PARTITION_COUNT_TTL_MS} ago, else a fresh one. */
  async #partition(topic: string, partition: number): Promise<TopicPartition> {
    const known = this.#counts.get(topic);
    // Partitions are only ever added: one below a recent count still exists (no metadata request per page).
    const recent = known !== undefined && this.#now() - known.atMs < PARTITION_COUNT_TTL_MS;
    if (!recent || !Number.isInteger(partition) || partition < 0 || partition >= known.count) {
      checkPartition(topic, partition, await this.#partitionCount(topic));
    }
    return { topic, partition };
  }

  #now(): number {
    return (this.#clock ?? systemClock).now();
  }

  /** Partitions of the states topic of `topic`, `undefined` when it does not exist. */
  async #statesCount(topic: string): Promise<number | undefined> {
    try {
      return await this.#transport.partitionCount(statesTopic(topic, this.#statesPostfix));
    } catch {
      return undefined;
    }
  }

  async #lastStates(tp: TopicPartition): Promise<PartitionStates | undefined> {
    const { low, high } = await this.#transport.fetchWatermarks(tp);
    if (high <= low) return undefined;
    let last: ConsumedRecord | undefined;
    await this.#read(tp, Math.max(low, high - STATES_LOOKBACK), high, (record) => {
      if (record.value !== null) last = record;
      return true;
    });
    if (last === undefined) return undefined;
    try {
      const report = decodeStates(last.value!);
      return { report, reportedAtMs: Math.round(report.dispatched_at * 1000), offset: last.offset };
    } catch (error) {
      throw new SerializationError(`the states record at offset ${last.offset} of ${tp.topic}/${tp.partition} is unreadable`, {
        cause: error,
      });
    }
  }

  /**
   * Reads `tp` from `from` until `end` (exclusive) or until `each` returns false; resolves with
   * the position reached (past trailing markers when the end was reached).
   */
  async #read(tp: TopicPartition, from: number, end: number, each: (record: ConsumedRecord) => boolean): Promise<number> {
    if (from >= end) return from;
    const cursor = await this.#open(tp, from);
    try {
      return await this.#readOn(cursor, from, end, each);
    } finally {
      await cursor.reader.close();
    }
  }

  /** A reader of `tp` opened at `from`. */
  async #open(tp: TopicPartition, from: number): Promise<Cursor> {
    const reader = await this.#transport.openReader(tp, { fromOffset: from });
    return { tp, reader, records: [], index: 0, position: from };
  }

  /**
   * Reads on through `cursor`, which stands at `from` (its unread records first), until `end`
   * (exclusive) or until `each` returns false; resolves with the position reached (past trailing
   * markers when the end was reached). The records `each` did not see stay in the cursor.
   */
  async #readOn(cursor: Cursor, from: number, end: number, each: (record: ConsumedRecord) => boolean): Promise<number> {
    let position = from;
    for (;;) {
      while (cursor.index < cursor.records.length) {
        const record = cursor.records[cursor.index]!;
        if (record.offset >= end) return position;
        cursor.index++;
        position = record.offset + 1;
        if (!each(record)) return position;
      }
      // The batch is used up: its position counts (transaction markers, compaction gaps after its records).
      position = Math.max(position, Math.min(cursor.position, end));
      if (position >= end) return position;
      const batch = await cursor.reader.read();
      cursor.records = batch.records;
      cursor.index = 0;
      cursor.position = batch.position;
      if (batch.records.length === 0 && batch.position <= position) return position;
    }
  }

  /** Keeps `cursor` open for a page starting at `next`, closing it after the idle time (the oldest first beyond {@link MAX_OPEN_READERS}). */
  #park(cursor: Cursor, next: number): void {
    if (this.#closed || this.#readerIdleMs === 0) {
      this.#closeLater(cursor.reader);
      return;
    }
    const key = cursorKey(cursor.tp, next);
    const previous = this.#parked.get(key);
    if (previous !== undefined) {
      this.#parked.delete(key);
      this.#release(previous);
    }
    for (const [oldKey, oldest] of this.#parked) {
      if (this.#parked.size < MAX_OPEN_READERS) break;
      this.#parked.delete(oldKey);
      this.#release(oldest);
    }
    const parked: ParkedCursor = {
      cursor,
      timer: this.#timers.setTimeout(() => {
        if (this.#parked.get(key) !== parked) return;
        this.#parked.delete(key);
        this.#closeLater(cursor.reader);
      }, this.#readerIdleMs),
    };
    this.#parked.set(key, parked);
  }

  /** The cursor kept open for a page of `tp` starting at `from`, taken out of the parked ones. */
  #unpark(tp: TopicPartition, from: number): Cursor | undefined {
    const key = cursorKey(tp, from);
    const parked = this.#parked.get(key);
    if (parked === undefined) return undefined;
    this.#parked.delete(key);
    this.#timers.clearTimeout(parked.timer);
    return parked.cursor;
  }

  #release(parked: ParkedCursor): void {
    this.#timers.clearTimeout(parked.timer);
    this.#closeLater(parked.cursor.reader);
  }

  /** Closes `reader` without waiting (failures are the transport's to log); {@link ScheduleAdmin.close} waits for it. */
  #closeLater(reader: PartitionReader): void {
    const closing: Promise<void> = reader
      .close()
      .catch(() => {})
      .finally(() => this.#closing.delete(closing));
    this.#closing.add(closing);
  }
}

/** Header names the envelope builder writes: not the message's own. */
const ENVELOPE_HEADERS: ReadonlySet<string> = new Set(Object.values(Header));

/** The message a schedule record carries, to build it again (with another due time). */
export function messageOf(record: AdminRecord): ScheduleMessage {
  const target = record.target;
  if (record.type !== 'schedule' || target === undefined)
    throw bad('record', 'not_schedule', `offset ${record.offset} is a ${record.type}, not a schedule`);
  const headers: Record<string, string | Uint8Array<ArrayBuffer>> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!ENVELOPE_HEADERS.has(name)) headers[name] = typeof value === 'string' ? value : new Uint8Array(value);
  }
  return {
    topic: target.topic,
    payload: record.value === null ? null : new Uint8Array(record.value),
    ...(target.key !== undefined ? { key: target.key } : {}),
    ...(target.partition !== undefined ? { partition: target.partition } : {}),
    ...(target.partitionKey !== undefined ? { partitionKey: target.partitionKey } : {}),
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
  };
}

/** Refuses a partition `topic` (with `count` partitions) does not have, naming the range. */
function checkPartition(topic: string, partition: number, count: number): void {
  if (!Number.isInteger(partition) || partition < 0 || partition >= count) {
    throw bad(
      'partition',
      'unknown',
      `${String(partition)} of ${topic} does not exist (it has ${count} partition${count === 1 ? '' : 's'}: 0..${count - 1})`,
    );
  }
}

function bad(field: string, rule: string, message: string): InvalidArgumentError {
  return new InvalidArgumentError([{ field, rule, message }]);
}

function cursorKey(tp: TopicPartition, offset: number): string {
  return `${tp.partition}:${offset}:${tp.topic}`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An admin API over `options.transport` (see {@link ScheduleAdmin}). */
export function createScheduleAdmin(options: ScheduleAdminOptions): ScheduleAdmin {
  return new ScheduleAdmin(options);
}
