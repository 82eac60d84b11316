import { EPOCH_MS_TOLERANCE_MS, Header, SCHEMA_VERSION, SourceType, TOPIC_NAME_PATTERN } from '../../contracts/headers.js';
import { toText } from '../../internal/bytes.js';
import type { ConsumedRecord, RecordHeaders } from '../../ports/transport.js';
import { compareVersions, isVersion } from '../schema-version.js';

/** Why a schedules-topic record was not usable. Stable names: metrics and logs use them. */
export const invalidReasons = [
  'missing_source_type',
  'missing_schema_version',
  'bad_schema_version',
  'null_key',
  'missing_epoch',
  'bad_epoch',
  'bad_epoch_ms',
  'epoch_mismatch',
  'missing_target_topic',
  'bad_target_topic',
  'bad_target_partition',
  'duplicate_header',
] as const;

/** One of {@link invalidReasons}. */
export type InvalidReason = (typeof invalidReasons)[number];

/** Where a schedule's message goes when it is due. */
export interface TargetRouting {
  readonly topic: string;
  readonly partition?: number;
  readonly key?: string;
  readonly partitionKey?: string;
}

/** A decoded schedules-topic record. */
export type DecodedRecord =
  | {
      readonly kind: 'schedule';
      readonly key: string;
      /** Due time, Unix milliseconds (the ms header when present, else the seconds header × 1000). */
      readonly dueMs: number;
      /** `schedule_target_epoch`, Unix seconds. */
      readonly epoch: number;
      readonly target: TargetRouting;
      readonly schemaVersion: string;
    }
  | { readonly kind: 'cancel'; readonly key: string; readonly schemaVersion: string }
  | {
      readonly kind: 'tombstone';
      readonly key: string;
      readonly schemaVersion: string;
      /** The dispatched schedule's due time, Unix seconds; 0 when the header is absent or unreadable. */
      readonly epoch: number;
      /** Offset of the schedule this tombstone closes (`schedule_source_offset`), when present. */
      readonly sourceOffset?: number;
    }
  | {
      /** An unknown `schedule_source_type`: treated like a cancel (removes the key), as the reference does. */
      readonly kind: 'unknown';
      readonly key: string;
      readonly type: string;
      readonly schemaVersion: string;
    }
  | {
      /** Written by a newer schema than this scheduler knows: the partition must halt. */
      readonly kind: 'incompatible';
      readonly schemaVersion: string;
    }
  | { readonly kind: 'invalid'; readonly reason: InvalidReason; readonly detail: string };

const INTEGER = /^-?\d+$/;

/** The text of header `name`, or undefined. */
export function headerText(headers: RecordHeaders, name: string): string | undefined {
  const value = headers[name];
  return value === undefined ? undefined : toText(value);
}

function invalid(reason: InvalidReason, detail: string): DecodedRecord {
  return { kind: 'invalid', reason, detail };
}

/** The wire format's own header names (every `schedule_*` header of {@link Header}). */
const WIRE_HEADERS: ReadonlySet<string> = new Set<string>(Object.values(Header));

/** The first of `repeated` that is a wire-format header, or undefined. */
function repeatedWireHeader(repeated: readonly string[]): string | undefined {
  for (const name of repeated) if (WIRE_HEADERS.has(name)) return name;
  return undefined;
}

/**
 * Reads the due time from a schedule's headers, in Unix milliseconds.
 *
 * `schedule_target_epoch` (seconds) is required; `schedule_target_epoch_ms` (ksched's extension)
 * wins when present and within one second of it, and makes the record invalid otherwise.
 */
export function decodeDueTime(
  headers: RecordHeaders,
):
  | { readonly ok: true; readonly dueMs: number; readonly epoch: number }
  | { readonly ok: false; readonly reason: InvalidReason; readonly detail: string } {
  const raw = headerText(headers, Header.targetEpoch);
  if (raw === undefined) return { ok: false, reason: 'missing_epoch', detail: `${Header.targetEpoch} is missing` };
  if (!INTEGER.test(raw.trim()))
    return { ok: false, reason: 'bad_epoch', detail: `epoch is not an integer: ${JSON.stringify(raw.slice(0, 64))}` };
  const epoch = Number(raw.trim());
  if (!Number.isSafeInteger(epoch * 1000)) return { ok: false, reason: 'bad_epoch', detail: `epoch is out of range: ${raw.slice(0, 64)}` };
  const rawMs = headerText(headers, Header.targetEpochMs);
  if (rawMs === undefined) return { ok: true, dueMs: epoch * 1000, epoch };
  if (!INTEGER.test(rawMs.trim())) {
    return {
      ok: false,
      reason: 'bad_epoch_ms',
      detail: `${Header.targetEpochMs} is not an integer: ${JSON.stringify(rawMs.slice(0, 64))}`,
    };
  }
  const ms = Number(rawMs.trim());
  if (!Number.isSafeInteger(ms) || Math.abs(ms - epoch * 1000) > EPOCH_MS_TOLERANCE_MS) {
    return {
      ok: false,
      reason: 'epoch_mismatch',
      detail: `the two due-time headers disagree by more than one second (${Header.targetEpoch}=${epoch}, ${Header.targetEpochMs}=${rawMs.slice(0, 64)})`,
    };
  }
  return { ok: true, dueMs: ms, epoch };
}

/** One remembered comparison: nearly every record of a log carries the same version string. */
let lastVersion: { version: string; current: string; verdict: 'ok' | 'newer' | 'bad' } | undefined;

function versionVerdict(version: string, current: string): 'ok' | 'newer' | 'bad' {
  if (lastVersion !== undefined && lastVersion.version === version && lastVersion.current === current) return lastVersion.verdict;
  const verdict = !isVersion(version) ? 'bad' : compareVersions(version, current) > 0 ? 'newer' : 'ok';
  lastVersion = { version, current, verdict };
  return verdict;
}

/**
 * Decodes a consumed schedules-topic record into what the engine acts on, never throwing: bad
 * records come back as `{ kind: 'invalid', reason, detail }` and records of a newer schema as
 * `{ kind: 'incompatible' }`.
 *
 * Rules (ksched's, where the reference is silent or blocks): `schedule_source_type` and a non-null
 * key are required for every record; `schedule_schema_version` is required and must be a dotted
 * version; a schedule needs an integer `schedule_target_epoch` (and a consistent ms header when
 * present) and a valid `schedule_target_topic`; `schedule_target_partition`, when present, must be
 * an integer ≥ 0. A record that carries one of the wire format's `schedule_*` headers more than
 * once with different values (named in `record.repeatedHeaders`) is `duplicate_header`: which value
 * was meant cannot be told (a schedule and a cancel at once, two due times). Checked after the
 * schema version, so a record whose (last) version is newer still halts the partition: a newer
 * format may give repeats a meaning. Other repeated headers are the message's own and pass.
 *
 * @param current - the newest schema version this scheduler reads (default `1.0.0`).
 */
export function decodeRecord(
  record: Pick<ConsumedRecord, 'key' | 'headers' | 'repeatedHeaders'>,
  current: string = SCHEMA_VERSION,
): DecodedRecord {
  const headers = record.headers;
  const type = headerText(headers, Header.sourceType);
  if (type === undefined || type === '') return invalid('missing_source_type', `${Header.sourceType} header is missing`);
  const version = headerText(headers, Header.schemaVersion);
  if (version === undefined || version === '') return invalid('missing_schema_version', `${Header.schemaVersion} header is missing`);
  const verdict = versionVerdict(version, current);
  if (verdict === 'newer') return { kind: 'incompatible', schemaVersion: version };
  if (record.repeatedHeaders !== undefined) {
    const name = repeatedWireHeader(record.repeatedHeaders);
    if (name !== undefined) {
      const last = headerText(headers, name) ?? '';
      return invalid(
        'duplicate_header',
        `${name} appears more than once with different values (the last is ${JSON.stringify(last.slice(0, 64))})`,
      );
    }
  }
  if (verdict === 'bad')
    return invalid('bad_schema_version', `${Header.schemaVersion} is not a dotted version: ${JSON.stringify(version.slice(0, 64))}`);
  if (record.key === null) return invalid('null_key', 'the record has no key (schedules, cancels and tombstones are matched by key)');
  const key = toText(record.key);

  switch (type) {
    case SourceType.schedule: {
      const due = decodeDueTime(headers);
      if (!due.ok) return invalid(due.reason, due.detail);
      const topic = headerText(headers, Header.targetTopic);
      if (topic === undefined || topic === '') return invalid('missing_target_topic', `${Header.targetTopic} header is missing`);
      if (!TOPIC_NAME_PATTERN.test(topic) || topic.length > 249) {
        return invalid('bad_target_topic', `${Header.targetTopic} is not a valid topic name: ${JSON.stringify(topic.slice(0, 64))}`);
      }
      const partitionText = headerText(headers, Header.targetPartition);
      let partition: number | undefined;
      if (partitionText !== undefined) {
        if (!/^\d+$/.test(partitionText.trim()) || !Number.isSafeInteger(Number(partitionText.trim()))) {
          return invalid(
            'bad_target_partition',
            `${Header.targetPartition} is not an integer ≥ 0: ${JSON.stringify(partitionText.slice(0, 64))}`,
          );
        }
        partition = Number(partitionText.trim());
      }
      const targetKey = headerText(headers, Header.targetKey);
      const partitionKey = headerText(headers, Header.targetPartitionKey);
      // Built by assignment, not spreads: this runs once per record of every partition read.
      const target: { topic: string; partition?: number; key?: string; partitionKey?: string } = { topic };
      if (partition !== undefined) target.partition = partition;
      if (targetKey !== undefined) target.key = targetKey;
      if (partitionKey !== undefined) target.partitionKey = partitionKey;
      return { kind: 'schedule', key, dueMs: due.dueMs, epoch: due.epoch, schemaVersion: version, target };
    }
    case SourceType.cancel:
      return { kind: 'cancel', key, schemaVersion: version };
    case SourceType.tombstone: {
      // A hand-made tombstone without a readable epoch counts as 0 (never moves MaxEpoch).
      const epochText = headerText(headers, Header.targetEpoch)?.trim();
      const epoch = epochText !== undefined && INTEGER.test(epochText) ? Number(epochText) : 0;
      const offsetText = headerText(headers, Header.sourceOffset)?.trim();
      const sourceOffset = offsetText !== undefined && /^\d+$/.test(offsetText) ? Number(offsetText) : undefined;
      return { kind: 'tombstone', key, schemaVersion: version, epoch, ...(sourceOffset !== undefined ? { sourceOffset } : {}) };
    }
    default:
      return { kind: 'unknown', key, type, schemaVersion: version };
  }
}
