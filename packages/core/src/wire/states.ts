import { deflateSync, inflateSync } from 'node:zlib';
import { z } from 'zod';
import { STATES_SCHEMA_VERSION } from '../contracts/headers.js';
import { SerializationError } from '../errors.js';
import type { TrackerSnapshot } from '../domain/tracker.js';

import type { ProduceRecord } from '../ports/transport.js';

/** A decoded states report (v1.0.0). `offsets`, `started_at` and `reloads` are absent in early writers. */
export interface StatesReport {
  readonly schema_version: string;
  /** When the report was written, Unix seconds with a fraction. */
  readonly dispatched_at: number;
  readonly state: string;
  readonly offsets?: { readonly low: number; readonly high: number };
  readonly daily: Readonly<Record<string, number>>;
  readonly started_at?: number;
  readonly reloads?: number;
}

const statesReportSchema = z.looseObject({
  schema_version: z.string(),
  dispatched_at: z.number(),
  state: z.string(),
  offsets: z.object({ low: z.number().int(), high: z.number().int() }).optional(),
  daily: z.record(z.string(), z.number().int()),
  started_at: z.number().optional(),
  reloads: z.number().int().optional(),
});

/** The states topic for a schedules topic: `<topic><postfix>` (default postfix `_states`). */
export function statesTopic(schedulesTopic: string, postfix = '_states'): string {
  return `${schedulesTopic}${postfix}`;
}

/**
 * The JSON text of a states report, keys in the v1.0.0 order: `schema_version`, `dispatched_at`,
 * `state`, `offsets`, `daily`, `started_at`, `reloads`.
 *
 * @param dispatchedAtMs - when the report is written, Unix milliseconds (written as float seconds).
 */
export function statesJson(snapshot: TrackerSnapshot, dispatchedAtMs: number): string {
  return JSON.stringify({
    schema_version: STATES_SCHEMA_VERSION,
    dispatched_at: dispatchedAtMs / 1000,
    state: snapshot.state,
    offsets: { low: snapshot.offsets.low, high: snapshot.offsets.high },
    daily: snapshot.daily,
    started_at: snapshot.started_at,
    reloads: snapshot.reloads,
  });
}

/** zlib (RFC 1950) deflate of {@link statesJson}: the states-topic payload. */
export function encodeStates(snapshot: TrackerSnapshot, dispatchedAtMs: number): Uint8Array {
  return new Uint8Array(deflateSync(Buffer.from(statesJson(snapshot, dispatchedAtMs), 'utf8')));
}

/**
 * Inflates and parses a states payload. Any zlib stream that inflates to a JSON object with
 * `schema_version`, `dispatched_at`, `state` and `daily` decodes; unknown fields are kept.
 *
 * @throws SerializationError (`KSM_SERIALIZATION`) when the payload is not zlib data, not JSON,
 *   or not a states report.
 */
export function decodeStates(payload: Uint8Array): StatesReport {
  let text: string;
  try {
    text = inflateSync(payload).toString('utf8');
  } catch (cause) {
    throw new SerializationError('states payload is not zlib-compressed data', { cause });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw new SerializationError('states payload is not valid JSON after inflating', { cause });
  }
  const parsed = statesReportSchema.safeParse(json);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SerializationError(`states payload is not a states report: ${where}`);
  }
  return parsed.data as StatesReport;
}

/**
 * The states-topic record for one partition's report: key `<state>_state`, same partition
 * number, header `zlib=true`.
 */
export function statesRecord(
  schedulesTopic: string,
  partition: number,
  snapshot: TrackerSnapshot,
  dispatchedAtMs: number,
  postfix = '_states',
): ProduceRecord {
  return {
    topic: statesTopic(schedulesTopic, postfix),
    partition,
    key: `${snapshot.state}_state`,
    value: encodeStates(snapshot, dispatchedAtMs),
    headers: { zlib: 'true' },
  };
}
