import { Header, SCHEMA_VERSION, SourceType } from '../contracts/headers.js';
import type { ConsumedRecord, HeaderValue, ProduceRecord } from '../ports/transport.js';
import type { TargetRouting } from './decode.js';

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
  const targetHeaders: Record<string, HeaderValue> = { ...record.headers };
  targetHeaders[Header.sourceTopic] = record.topic;
  targetHeaders[Header.sourcePartition] = String(record.partition);
  targetHeaders[Header.sourceOffset] = offset;
  if (record.key !== null) targetHeaders[Header.sourceKey] = record.key;

  const tombstoneHeaders: Record<string, HeaderValue> = { ...record.headers };
  tombstoneHeaders[Header.schemaVersion] = SCHEMA_VERSION;
  tombstoneHeaders[Header.sourceType] = SourceType.tombstone;
  tombstoneHeaders[Header.sourceOffset] = offset;

  return {
    target: {
      topic: target.topic,
      key: target.key ?? null,
      value: record.value,
      headers: targetHeaders,
      ...(target.partition !== undefined ? { partition: target.partition } : {}),
      ...(target.partitionKey !== undefined ? { partitionKey: target.partitionKey } : {}),
    },
    tombstone: {
      topic: record.topic,
      partition: record.partition,
      key: record.key,
      value: null,
      headers: tombstoneHeaders,
    },
  };
}
