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
import type { Clock } from '../ports/clock.js';
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
  /** "Now" for the records `cancel` and `reschedule` write. Default: the system clock. */
  readonly clock?: Pick<Clock, 'now'>;
}

/** Most records a page may hold. */
export const MAX_PAGE_SIZE = 1000;
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

/** The admin API over one transport (see the module comment). */
export class ScheduleAdmin {
  readonly schedulesTopics: readonly string[];
  readonly #transport: Transport;
  readonly #statesPostfix: string;
  readonly #clock: Pick<Clock, 'now'> | undefined;

  constructor(options: ScheduleAdminOptions) {
    if (options.schedulesTopics.length === 0) throw bad('schedulesTopics', 'required', 'name at least one schedules topic');
    this.schedulesTopics = [...options.schedulesTopics];
    this.#transport = options.transport;
    this.#statesPostfix = options.statesPostfix ?? '_states';
    this.#clock = options.clock;
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
    const records: AdminRecord[] = [];
    const gaps: OffsetGap[] = [];
    let expected = from;
    const position = await this.#read(tp, from, high, (record) => {
      if (record.offset > expected) gaps.push({ from: expected, to: record.offset });
      expected = record.offset + 1;
      records.push(adminRecord(topic, record));
      return records.length < limit;
    });
    const end = records.length < limit ? Math.max(position, expected) : expected;
    if (records.length < limit && end > expected) gaps.push({ from: expected, to: end });
    return { topic, partition, low, high, from, records, gaps, next: end < high ? end : undefined };
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
    return this.#transport.partitionCount(topic);
  }

  async #partition(topic: string, partition: number): Promise<TopicPartition> {
    checkPartition(topic, partition, await this.#partitionCount(topic));
    return { topic, partition };
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
    const reader: PartitionReader = await this.#transport.openReader(tp, { fromOffset: from });
    try {
      let position = from;
      while (position < end) {
        const batch = await reader.read();
        for (const record of batch.records) {
          if (record.offset >= end) return position;
          position = record.offset + 1;
          if (!each(record)) return position;
        }
        if (batch.records.length === 0 && batch.position <= position) return position;
        position = Math.max(position, Math.min(batch.position, end));
      }
      return position;
    } finally {
      await reader.close();
    }
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

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An admin API over `options.transport` (see {@link ScheduleAdmin}). */
export function createScheduleAdmin(options: ScheduleAdminOptions): ScheduleAdmin {
  return new ScheduleAdmin(options);
}
