/**
 * Header names and constants of the v1.0.0 scheduled-messages wire format (Karafka-compatible),
 * plus ksched's compatible millisecond extension.
 *
 * @module
 */

/** The envelope schema version ksched writes and the newest it reads. */
export const SCHEMA_VERSION = '1.0.0';
/** The states-report schema version ksched writes. */
export const STATES_SCHEMA_VERSION = '1.0.0';

/** Header names. Values are always strings on the wire. */
export const Header = {
  schemaVersion: 'schedule_schema_version',
  sourceType: 'schedule_source_type',
  targetEpoch: 'schedule_target_epoch',
  /** ksched extension: due time in Unix milliseconds. */
  targetEpochMs: 'schedule_target_epoch_ms',
  targetTopic: 'schedule_target_topic',
  targetPartition: 'schedule_target_partition',
  targetKey: 'schedule_target_key',
  targetPartitionKey: 'schedule_target_partition_key',
  sourceTopic: 'schedule_source_topic',
  sourcePartition: 'schedule_source_partition',
  sourceOffset: 'schedule_source_offset',
  sourceKey: 'schedule_source_key',
} as const;

/** Values of `schedule_source_type`. */
export const SourceType = {
  schedule: 'schedule',
  cancel: 'cancel',
  tombstone: 'tombstone',
} as const;

/** A known `schedule_source_type`. */
export type SourceType = (typeof SourceType)[keyof typeof SourceType];

/** Seconds a schedule may be in the past when it is built (reference: 10 s). */
export const PAST_TOLERANCE_SECONDS = 10;
/** Furthest future a due time may be, in seconds from now: 100 × 365 days (catches ms passed as s). */
export const MAX_FUTURE_INTERVAL_SECONDS = 100 * 365 * 24 * 3600;
/** Allowed disagreement between `schedule_target_epoch` and `schedule_target_epoch_ms`, in ms. */
export const EPOCH_MS_TOLERANCE_MS = 1000;
/** Kafka topic name rule. */
export const TOPIC_NAME_PATTERN = /^[A-Za-z0-9._-]+$/;
/** Longest Kafka topic name. */
export const TOPIC_NAME_MAX_LENGTH = 249;
