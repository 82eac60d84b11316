import { z } from 'zod';
import { ContractViolationError, InvalidArgumentError, type Violation } from '../errors.js';
import { toBytes } from '../internal/bytes.js';
import { systemClock, type Clock } from '../ports/clock.js';
import type { HeaderValue, ProduceRecord } from '../ports/transport.js';
import { cancelHeaders, scheduleHeaders } from '../wire/codec/index.js';
import {
  Header,
  MAX_FUTURE_INTERVAL_SECONDS,
  PAST_TOLERANCE_SECONDS,
  SourceType,
  TOPIC_NAME_MAX_LENGTH,
  TOPIC_NAME_PATTERN,
} from './headers.js';
import { toViolations } from './zod-issues.js';

const topicName = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .min(1, 'must not be empty')
  .max(TOPIC_NAME_MAX_LENGTH, `must be at most ${TOPIC_NAME_MAX_LENGTH} characters`)
  .regex(TOPIC_NAME_PATTERN, 'must match ^[A-Za-z0-9._-]+$ (a Kafka topic name)');

const nonEmptyText = z.string({ error: 'must be a string' }).min(1, 'must be a non-empty string');
const partitionNumber = z.number({ error: 'must be a number' }).int('must be an integer').min(0, 'must be an integer ≥ 0');
const headerValue = z.union([z.string(), z.instanceof(Uint8Array)], { error: 'header values must be strings or bytes' });

/** The message the user would normally produce, to be delivered later. */
export const scheduleMessageSchema = z.strictObject(
  {
    topic: topicName,
    payload: z.union([z.string(), z.instanceof(Uint8Array), z.null()], {
      error: (i) => (i.input === undefined ? 'is required (use null for an empty value)' : 'must be a string, bytes or null'),
    }),
    key: nonEmptyText.nullable().optional(),
    partition: partitionNumber.optional(),
    partitionKey: nonEmptyText.nullable().optional(),
    headers: z.record(z.string(), headerValue, { error: 'must be an object of header name → string or bytes' }).optional(),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be an object') },
);

/** Where the envelope goes: the schedules topic and, optionally, its key and partition. */
export const envelopeSchema = z.strictObject(
  {
    topic: topicName,
    key: nonEmptyText.optional(),
    partition: partitionNumber.optional(),
    partitionKey: nonEmptyText.optional(),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be an object') },
);

/** Input of {@link schedule}'s `message`. */
export type ScheduleMessage = z.input<typeof scheduleMessageSchema>;
/** Input of {@link schedule}'s and {@link cancel}'s `envelope`. */
export type EnvelopeInput = z.input<typeof envelopeSchema>;

/**
 * When a schedule is due. Exactly one of:
 * - `epoch`: Unix **seconds** (truncated to an integer, as the reference does); writes only the
 *   seconds header, which every v1.0.0 reader understands;
 * - `at`: a `Date` or Unix **milliseconds**; writes `schedule_target_epoch_ms` and, for readers
 *   that only know seconds, `schedule_target_epoch = ceil(ms / 1000)` so they are never early;
 * - `delayMs`: milliseconds from now (the clock's now), written like `at`.
 */
export type DueTime =
  | { readonly epoch: number; readonly at?: never; readonly delayMs?: never }
  | { readonly at: Date | number; readonly epoch?: never; readonly delayMs?: never }
  | { readonly delayMs: number; readonly epoch?: never; readonly at?: never };

/** Arguments of {@link schedule}. */
export type ScheduleInput = {
  readonly message: ScheduleMessage;
  readonly envelope: EnvelopeInput;
} & DueTime;

/** Arguments of {@link cancel}. */
export interface CancelInput {
  /** Key of the schedule to cancel. */
  readonly key: string;
  /**
   * The schedules topic and, to reach the schedule's partition, the same `partition` or
   * `partitionKey` the schedule was produced with (a cancel on another partition does nothing).
   */
  readonly envelope: EnvelopeInput;
}

/** Options shared by the builders. */
export interface BuildOptions {
  /** The clock used for "now" (relative delays and the past/future limits). Default: {@link systemClock}. */
  readonly clock?: Pick<Clock, 'now'>;
  /** UUID v4 source for generated keys. Default: `crypto.randomUUID`. */
  readonly uuid?: () => string;
  /** When given, the envelope topic must be one of these (the reference's routing check). */
  readonly schedulesTopics?: readonly string[];
}

/** A record for the schedules topic, ready for any producer (see {@link ProduceRecord}). */
export interface EnvelopeRecord extends ProduceRecord {
  readonly key: string;
  readonly value: Uint8Array | null;
  readonly headers: Readonly<Record<string, HeaderValue>>;
}

function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, field: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidArgumentError(toViolations(result.error, field, value));
  return result.data;
}

function isDate(value: unknown): value is { getTime(): number } {
  return Object.prototype.toString.call(value) === '[object Date]';
}

function resolveDue(input: DueTime, nowMs: number): { epoch: number; epochMs?: number } {
  const given = (['epoch', 'at', 'delayMs'] as const).filter((k) => (input as Record<string, unknown>)[k] !== undefined);
  if (given.length !== 1) {
    throw new InvalidArgumentError([
      {
        field: 'epoch|at|delayMs',
        rule: 'exactly_one',
        message:
          given.length === 0
            ? 'a due time is required: give one of epoch, at or delayMs'
            : `give exactly one due time, got ${given.join(' and ')}`,
      },
    ]);
  }
  if (input.epoch !== undefined) {
    if (typeof input.epoch !== 'number' || !Number.isFinite(input.epoch)) {
      throw new InvalidArgumentError([{ field: 'epoch', rule: 'type', message: 'must be a finite number of Unix seconds' }]);
    }
    return { epoch: Math.trunc(input.epoch) };
  }
  let ms: number;
  if (input.at !== undefined) {
    const at: unknown = input.at;
    // A Date is recognised by its tag, not `instanceof`, so Dates from another realm work too.
    ms = isDate(at) ? at.getTime() : typeof at === 'number' ? at : Number.NaN;
    if (!Number.isFinite(ms)) {
      throw new InvalidArgumentError([
        { field: 'at', rule: 'type', message: 'must be a valid Date or a finite number of Unix milliseconds' },
      ]);
    }
  } else {
    const delay: unknown = input.delayMs;
    if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
      throw new InvalidArgumentError([{ field: 'delayMs', rule: 'min', message: 'must be a finite number of milliseconds ≥ 0' }]);
    }
    ms = nowMs + delay;
  }
  // Never early: a fractional millisecond rounds up, and seconds-only readers get the ceiling.
  const epochMs = Math.ceil(ms);
  return { epoch: Math.ceil(epochMs / 1000), epochMs };
}

function defaultNow(options: BuildOptions): number {
  return (options.clock ?? systemClock).now();
}

function newUuid(options: BuildOptions): string {
  return options.uuid ? options.uuid() : globalThis.crypto.randomUUID();
}

/**
 * The scheduled-messages message contract (reference §2.4, with ksched's fix: a `schedule`
 * record must carry all four required headers). Returns the broken rules, empty when valid.
 *
 * @param record - a schedules-topic record (as built by {@link schedule} or {@link cancel}, or by hand).
 * @param nowMs - now, Unix milliseconds: due times more than 10 s before it, or more than 100
 *   years after it, are rejected.
 */
export function checkMessageContract(
  record: { readonly key?: unknown; readonly topic?: unknown; readonly headers?: unknown },
  nowMs: number,
  schedulesTopics?: readonly string[],
): Violation[] {
  const violations: Violation[] = [];
  if (record.key === undefined || record.key === null) {
    violations.push({ field: 'key', rule: 'required', message: 'must be present and should be unique within the partition' });
  } else if (typeof record.key !== 'string' || record.key.length === 0) {
    violations.push({ field: 'key', rule: 'format', message: 'needs to be a non-empty string unique within the partition' });
  }
  const headers = record.headers;
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers) || headers instanceof Uint8Array) {
    violations.push({ field: 'headers', rule: 'format', message: 'are not correct: must be an object of header name → value' });
    return violations;
  }
  const h = headers as Record<string, unknown>;
  const type = h[Header.sourceType];
  const required =
    type === SourceType.schedule
      ? [Header.schemaVersion, Header.targetEpoch, Header.sourceType, Header.targetTopic]
      : [Header.schemaVersion, Header.sourceType];
  const missing = required.filter((name) => typeof h[name] !== 'string' || (h[name] as string).length === 0);
  if (missing.length > 0) {
    violations.push({ field: 'headers', rule: 'format', message: `are not correct: missing ${missing.join(', ')}` });
  }
  if (violations.length === 0 && type === SourceType.schedule) {
    const raw = h[Header.targetEpoch] as string;
    const nowS = Math.floor(nowMs / 1000);
    if (!/^-?\d+$/.test(raw)) {
      violations.push({
        field: `headers.${Header.targetEpoch}`,
        rule: 'format',
        message: 'must be Unix seconds as a decimal integer string',
      });
    } else {
      const epoch = Number(raw);
      if (epoch < nowS - PAST_TOLERANCE_SECONDS) {
        violations.push({
          field: `headers.${Header.targetEpoch}`,
          rule: 'in_the_past',
          message: `scheduling cannot happen in the past: ${epoch} is ${nowS - epoch} s before now (${nowS}); at most ${PAST_TOLERANCE_SECONDS} s is tolerated`,
        });
      } else if (epoch > nowS + MAX_FUTURE_INTERVAL_SECONDS) {
        violations.push({
          field: `headers.${Header.targetEpoch}`,
          rule: 'too_far_in_future',
          message: `scheduling is too far in the future (schedule_target_epoch must be Unix time in seconds): ${epoch} is more than 100 years after now (${nowS})`,
        });
      }
    }
  }
  if (violations.length === 0 && schedulesTopics !== undefined && !schedulesTopics.includes(String(record.topic))) {
    violations.push({
      field: 'topic',
      rule: 'not_a_scheduled_messages_topic',
      message: `the envelope topic ${JSON.stringify(record.topic)} is not a scheduled messages topic (known: ${schedulesTopics.join(', ') || 'none'})`,
    });
  }
  return violations;
}

/**
 * Wraps `message` in a v1.0.0 envelope for the schedules topic, due at the given time.
 *
 * Without an envelope `key`, the key is `<message.topic>-<uuid v4>` and the envelope inherits the
 * message's routing for partition stickiness: its `partitionKey` (or else its `partition`, as
 * text) becomes the envelope's `partitionKey`, unless the envelope names its own `partition` or
 * `partitionKey` (an explicit envelope `partitionKey` is never overwritten: reference quirk fixed).
 * The message's `key` is not used for partitioning the envelope.
 *
 * @returns a record to produce with any client; its `partitionKey` must be hashed with Kafka's
 *   murmur2 partitioner (every ksched adapter does).
 * @throws InvalidArgumentError (`KSM_INVALID_ARGUMENT`) when an input field is malformed; the
 *   violations name each field and rule.
 * @throws ContractViolationError (`KSM_CONTRACT_VIOLATION`) when the due time is more than 10 s
 *   in the past or more than 100 years ahead, or the envelope topic is not in `schedulesTopics`.
 *
 * @example
 * ```ts
 * const record = schedule({
 *   message: { topic: 'orders', key: 'order-42', payload: JSON.stringify(order) },
 *   envelope: { topic: 'scheduled_messages' },
 *   delayMs: 90_000,
 * });
 * await transport.produce([record]);
 * ```
 */
export function schedule(input: ScheduleInput, options: BuildOptions = {}): EnvelopeRecord {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidArgumentError([
      { field: '(input)', rule: 'type', message: 'must be an object with message, envelope and a due time' },
    ]);
  }
  const message = parseOrThrow(scheduleMessageSchema, input.message, 'message');
  const envelope = parseOrThrow(envelopeSchema, input.envelope, 'envelope');
  const nowMs = defaultNow(options);
  const due = resolveDue(input, nowMs);

  const headers = scheduleHeaders(message, due);

  let key = envelope.key;
  let partitionKey = envelope.partitionKey;
  if (key === undefined) {
    key = `${message.topic}-${newUuid(options)}`;
    if (envelope.partition === undefined && partitionKey === undefined) {
      if (message.partitionKey !== undefined && message.partitionKey !== null) partitionKey = message.partitionKey;
      else if (message.partition !== undefined) partitionKey = String(message.partition);
    }
  }

  const record: EnvelopeRecord = {
    topic: envelope.topic,
    key,
    value: message.payload === null ? null : toBytes(message.payload),
    headers,
    ...(envelope.partition !== undefined ? { partition: envelope.partition } : {}),
    ...(partitionKey !== undefined ? { partitionKey } : {}),
  };
  const violations = checkMessageContract(record, nowMs, options.schedulesTopics);
  if (violations.length > 0) throw new ContractViolationError(violations);
  return record;
}

/**
 * A cancel record for the schedule with `key`: null value, `schedule_source_type = cancel`.
 * Produce it to the schedule's partition (same `partition` or `partitionKey` in the envelope),
 * or it cancels nothing.
 *
 * @throws InvalidArgumentError (`KSM_INVALID_ARGUMENT`) for an empty key or a malformed envelope.
 * @throws ContractViolationError (`KSM_CONTRACT_VIOLATION`) when the envelope topic is not in `schedulesTopics`.
 *
 * @example
 * ```ts
 * await transport.produce([cancel({ key: 'order-42-reminder', envelope: { topic: 'scheduled_messages', partition: 1 } })]);
 * ```
 */
export function cancel(input: CancelInput, options: BuildOptions = {}): EnvelopeRecord {
  if (typeof input !== 'object' || input === null) {
    throw new InvalidArgumentError([{ field: '(input)', rule: 'type', message: 'must be an object with key and envelope' }]);
  }
  const key = parseOrThrow(nonEmptyText, input.key, 'key');
  const envelope = parseOrThrow(envelopeSchema.omit({ key: true }), input.envelope, 'envelope');
  const record: EnvelopeRecord = {
    topic: envelope.topic,
    key,
    value: null,
    headers: cancelHeaders(),
    ...(envelope.partition !== undefined ? { partition: envelope.partition } : {}),
    ...(envelope.partitionKey !== undefined ? { partitionKey: envelope.partitionKey } : {}),
  };
  const violations = checkMessageContract(record, defaultNow(options), options.schedulesTopics);
  if (violations.length > 0) throw new ContractViolationError(violations);
  return record;
}
