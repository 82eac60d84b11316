import { Header, SCHEMA_VERSION, SourceType } from '../../contracts/headers.js';
import type { ConsumedRecord, HeaderValue, ProduceRecord, RecordHeaders } from '../../ports/transport.js';
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
 * @param replaced - headers of the target only that replace the carried ones of the same name
 *   (`null` removes one), e.g. a dispatch span's `traceparent`; the `schedule_source_*` headers
 *   are set after them and always win.
 * @param keyText - the record's key as text, when its bytes are that text's UTF-8 encoding (see
 *   `UnpackedSchedule.keyText`): the tombstone's key and `schedule_source_key` are then that
 *   text, which is the same on the wire and spares each a byte array.
 */
export function dispatchPair(
  record: ConsumedRecord,
  target: TargetRouting,
  replaced?: Readonly<Record<string, string | null>>,
  keyText?: string,
): DispatchPair {
  const key = keyText ?? record.key;
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
  if (replaced !== undefined) replaceHeaders(targetHeaders, replaced);
  targetHeaders[Header.sourceTopic] = record.topic;
  targetHeaders[Header.sourcePartition] = String(record.partition);
  targetHeaders[Header.sourceOffset] = offset;
  if (key !== null) targetHeaders[Header.sourceKey] = key;

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
      key,
      value: null,
      headers: tombstoneHeaders,
    },
  };
}

/** Sets (or, for `null`, removes) `replaced`'s headers in `headers`. */
function replaceHeaders(headers: Record<string, HeaderValue>, replaced: Readonly<Record<string, string | null>>): void {
  for (const name of Object.keys(replaced)) {
    const value = replaced[name];
    if (value === null) delete headers[name];
    else if (value !== undefined) headers[name] = value;
  }
}

/** Why a schedule is dead-lettered instead of dispatched (see {@link deadLetterPair}). */
export interface DeadLetterCause {
  /** Short stable reason, e.g. `refused`, `target_missing`, `too_large`, `failing`. */
  readonly reason: string;
  /** A sentence for humans: what failed. */
  readonly detail: string;
  /**
   * Header values that are not NUL-free UTF-8 text are moved into one header,
   * `ksched_binary_headers_base64` (JSON: name → base64), so that a client that cannot send such
   * values (node-rdkafka 3.6) can still write the dead letter. Set when the client refused the
   * schedule's own record.
   */
  readonly textHeadersOnly?: boolean;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** `value` as NUL-free UTF-8 text, or undefined when it is not. */
function asText(value: HeaderValue): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value;
  else {
    try {
      text = strictUtf8.decode(value);
    } catch {
      return undefined;
    }
  }
  return text.includes('\u0000') ? undefined : text;
}

/** Standard base64 of bytes (no Node Buffer: the core runs anywhere). */
function base64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/** The header that carries, as JSON (name → base64), the values {@link textOnlyHeaders} moved out. */
export const BINARY_HEADERS_HEADER = 'ksched_binary_headers_base64';

/**
 * `headers` with every value that is not NUL-free UTF-8 text moved into one header,
 * {@link BINARY_HEADERS_HEADER} (JSON: name → base64), so that a client that cannot send such
 * values (node-rdkafka 3.6) can still write the record. Text values are kept, as strings.
 */
export function textOnlyHeaders(headers: RecordHeaders): Record<string, HeaderValue> {
  const out: Record<string, HeaderValue> = {};
  const binary: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const text = asText(value);
    if (text !== undefined) out[name] = text;
    else binary[name] = base64(typeof value === 'string' ? new TextEncoder().encode(value) : value);
  }
  if (Object.keys(binary).length > 0) out[BINARY_HEADERS_HEADER] = JSON.stringify(binary);
  return out;
}

const ownHeaders: ReadonlySet<string> = new Set(Object.values(Header));

/**
 * The records that take an undeliverable schedule out of the schedules topic: a copy on the
 * dead-letter topic (same key and value, the schedule's headers, `ksched_undeliverable_reason`,
 * `ksched_undeliverable_detail` and where it came from: `schedule_source_topic`,
 * `schedule_source_partition`, `schedule_source_offset`) and the tombstone that closes it, produced
 * like a dispatch (the copy first, or both in one transaction), so that no later owner of the
 * partition retries or dead-letters it again. The tombstone carries only ksched's own headers.
 *
 * @param record - the schedule as consumed.
 * @param target - its decoded routing (its target topic is kept in `schedule_target_topic`).
 */
export function deadLetterPair(
  record: ConsumedRecord,
  target: TargetRouting,
  deadLetterTopic: string,
  cause: DeadLetterCause,
): DispatchPair {
  const headers: Record<string, HeaderValue> = cause.textHeadersOnly === true ? textOnlyHeaders(record.headers) : { ...record.headers };
  const tombstoneHeaders: Record<string, HeaderValue> = {};
  for (const [name, value] of Object.entries(record.headers)) {
    if (!ownHeaders.has(name)) continue;
    const text = asText(value);
    if (text !== undefined) tombstoneHeaders[name] = text;
  }
  headers[Header.targetTopic] = target.topic;
  headers['ksched_undeliverable_reason'] = cause.reason;
  headers['ksched_undeliverable_detail'] = cause.detail;
  headers[Header.sourceTopic] = record.topic;
  headers[Header.sourcePartition] = String(record.partition);
  headers[Header.sourceOffset] = String(record.offset);
  tombstoneHeaders[Header.schemaVersion] = SCHEMA_VERSION;
  tombstoneHeaders[Header.sourceType] = SourceType.tombstone;
  tombstoneHeaders[Header.sourceOffset] = String(record.offset);
  return {
    target: { topic: deadLetterTopic, key: record.key, value: record.value, headers },
    tombstone: { topic: record.topic, partition: record.partition, key: record.key, value: null, headers: tombstoneHeaders },
  };
}
