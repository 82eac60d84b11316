import type { RecordHeaders } from './transport.js';

/**
 * What the engine tells a {@link DispatchTracer} about one schedule it is about to dispatch (one
 * attempt: a schedule whose flush failed is started again when it is retried).
 */
export interface DispatchStart {
  /** The schedule's key (the envelope key). */
  readonly key: string;
  /** The schedules topic. */
  readonly topic: string;
  /** The schedules-topic partition of the schedule. */
  readonly partition: number;
  /** The schedule record's offset in that partition. */
  readonly offset: number;
  /** Where the message goes. */
  readonly targetTopic: string;
  /** The target partition the schedule names, if it names one (else the producer hashes the key). */
  readonly targetPartition: number | undefined;
  /** The target message's key, `null` when keyless. */
  readonly targetKey: string | null;
  /** Due time, Unix ms. */
  readonly dueMs: number;
  /** When this dispatch attempt started, Unix ms (the scheduler's clock); `startedAtMs − dueMs` is how late it starts. */
  readonly startedAtMs: number;
  /** Target and tombstone go in one Kafka transaction. */
  readonly transactional: boolean;
  /**
   * The headers the schedule carries for its message, as consumed: the user's headers (where a
   * `traceparent` / `tracestate` given when scheduling is) plus ksched's `schedule_*` headers.
   * Values are text or bytes (decode with core's `headerText`). Do not modify.
   */
  readonly headers: RecordHeaders;
}

/** How one dispatch attempt ended (see {@link DispatchSpan.end}). */
export type DispatchOutcome =
  | {
      readonly ok: true;
      /** When the target and its tombstone were acknowledged (committed, in transactional mode), Unix ms. */
      readonly dispatchedAtMs: number;
      /** `dispatchedAtMs − dueMs`, never negative: the `dispatched` event's `lateMs`. */
      readonly lateMs: number;
      /** An earlier failed at-least-once flush may have written the target already (the `dispatched` event's flag). */
      readonly possibleDuplicate: boolean;
      /** Where the target landed, when the client reports it. */
      readonly targetPartition?: number;
      /** The target's offset, when the client reports it (`-1` is not reported). */
      readonly targetOffset?: number;
    }
  | {
      readonly ok: false;
      /**
       * Why the flush holding this schedule failed (it is retried from the buffer, as a new
       * attempt); the error of the whole flush, which may be another schedule's.
       */
      readonly error: unknown;
    };

/** One traced dispatch attempt, as returned by {@link DispatchTracer.startDispatch}. */
export interface DispatchSpan {
  /**
   * Headers to put on the target message instead of the carried ones of the same name (e.g. the
   * dispatch span's own `traceparent`); `null` removes the carried header. ksched's own
   * `schedule_source_*` headers cannot be replaced. The tombstone is not affected.
   */
  readonly headers?: Readonly<Record<string, string | null>>;
  /** The attempt ended: acknowledged, or its flush failed. Called exactly once. */
  end(outcome: DispatchOutcome): void;
}

/**
 * The tracing port: the engine calls {@link DispatchTracer.startDispatch} for each schedule just
 * before producing its target message, and the returned span's `end` once the flush holding it is
 * acknowledged or has failed. Core knows no tracing library; `@ksched/otel` implements this over
 * `@opentelemetry/api`. Without a tracer (the default) the engine does none of this work.
 *
 * Dead letters (undeliverable schedules copied to the dead-letter topic) are not traced. A tracer
 * that throws is logged and ignored: tracing never stops a dispatch.
 */
export interface DispatchTracer {
  /** A schedule's dispatch attempt starts; return `undefined` to not trace it. */
  startDispatch(start: DispatchStart): DispatchSpan | undefined;
}
