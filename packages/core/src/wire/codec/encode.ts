import { Header, SCHEMA_VERSION, SourceType } from '../../contracts/headers.js';
import type { ConsumedRecord, HeaderValue, ProduceRecord } from '../../ports/transport.js';
import type { TargetRouting } from './decode.js';

/** Header names a schedule envelope's encoder owns: message headers of these names are replaced. */
const OWNED_HEADERS: ReadonlySet<string> = new Set([
  Header.schemaVersion,
  Header.sourceType,
  Header.targetEpoch,
  Header.targetEpochMs,
  Header.targetTopic,
  Header.targetPartition,
  Header.targetKey,
  Header.targetPartitionKey,
]);

/** The message a schedule envelope carries, as far as its headers go: routing and own headers. */
export interface EnvelopeMessage {
  readonly topic: string;
  readonly key?: string | null | undefined;
  readonly partition?: number | undefined;
  readonly partitionKey?: string | null | undefined;
  readonly headers?: Readonly<Record<string, HeaderValue>> | undefined;
}

/**
 * The headers of a schedule envelope (reference §2.1): the message's own headers, except those
 * the format owns, then `schedule_schema_version`, `schedule_target_epoch` (and ksched's
 * `schedule_target_epoch_ms` when given), `schedule_source_type = schedule` and the message's
 * routing as `schedule_target_topic`, `_partition`, `_key` and `_partition_key` (each only when
 * set). {@link decodeRecord} reads them back.
 *
 * @param due - the due time: `epoch` in Unix seconds, `epochMs` in Unix milliseconds.
 */
export function scheduleHeaders(
  message: EnvelopeMessage,
  due: { readonly epoch: number; readonly epochMs?: number | undefined },
): Record<string, HeaderValue> {
  const headers: Record<string, HeaderValue> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (!OWNED_HEADERS.has(name)) headers[name] = value;
  }
  headers[Header.schemaVersion] = SCHEMA_VERSION;
  headers[Header.targetEpoch] = String(due.epoch);
  if (due.epochMs !== undefined) headers[Header.targetEpochMs] = String(due.epochMs);
  headers[Header.sourceType] = SourceType.schedule;
  headers[Header.targetTopic] = message.topic;
  if (message.partition !== undefined) headers[Header.targetPartition] = String(message.partition);
  if (message.key !== undefined && message.key !== null) headers[Header.targetKey] = message.key;
  if (message.partitionKey !== undefined && message.partitionKey !== null) headers[Header.targetPartitionKey] = message.partitionKey;
  return headers;
}

/** The headers of a cancel record: `schedule_schema_version` and `schedule_source_type = cancel`. */
export function cancelHeaders(): Record<string, HeaderValue> {
  return { [Header.schemaVersion]: SCHEMA_VERSION, [Header.sourceType]: SourceType.cancel };
}

/** The two records that dispatching one schedule produces, in this order. */
export interface DispatchPair {
  /** The original message, to its target topic. */
  readonly target: ProduceRecord;
  /** The tombstone back to the schedule's own partition. */
  readonly tombstone: ProduceRecord;
}

/**
 * The target message and the tombstone for a consumed schedule (reference §5.1–5.2):
 *
 * - target: the schedule's value and **all** its headers plus `schedule_source_topic`,
 *   `schedule_source_partition`, `schedule_source_offset` and `schedule_source_key`; topic,
 *   partition, key and partition key from the `schedule_target_*` headers (no key when absent);
 * - tombstone: same key, null value, the schedule's explicit partition, its headers with
 *   `schedule_source_type = tombstone`, `schedule_schema_version = 1.0.0` and
 *   `schedule_source_offset`.
 *
 * @param record - the schedule as consumed.
 * @param target - its decoded routing (see {@link decodeRecord}).
 */
export function dispatchPair(record: ConsumedRecord, target: TargetRouting): DispatchPair {
  const offset = String(record.offset);
  // One loop filling both header objects, and records built by assignment: object spreads cost
  // several times as much, and this runs once per dispatched schedule. Same key order as spreads.
  const targetHeaders: Record<string, HeaderValue> = {};
  const tombstoneHeaders: Record<string, HeaderValue> = {};
  const headers = record.headers;
  for (const name of Object.keys(headers)) {
    const value = headers[name]!;
    targetHeaders[name] = value;
    tombstoneHeaders[name] = value;
  }
  targetHeaders[Header.sourceTopic] = record.topic;
  targetHeaders[Header.sourcePartition] = String(record.partition);
  targetHeaders[Header.sourceOffset] = offset;
  if (record.key !== null) targetHeaders[Header.sourceKey] = record.key;

  tombstoneHeaders[Header.schemaVersion] = SCHEMA_VERSION;
  tombstoneHeaders[Header.sourceType] = SourceType.tombstone;
  tombstoneHeaders[Header.sourceOffset] = offset;

  const targetRecord: { -readonly [K in keyof ProduceRecord]: ProduceRecord[K] } = {
    topic: target.topic,
    key: target.key ?? null,
    value: record.value,
    headers: targetHeaders,
  };
  if (target.partition !== undefined) targetRecord.partition = target.partition;
  if (target.partitionKey !== undefined) targetRecord.partitionKey = target.partitionKey;
  return {
    target: targetRecord,
    tombstone: {
      topic: record.topic,
      partition: record.partition,
      key: record.key,
      value: null,
      headers: tombstoneHeaders,
    },
  };
}
