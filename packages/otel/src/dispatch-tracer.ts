import {
  headerText,
  type DispatchOutcome,
  type DispatchSpan,
  type DispatchStart,
  type DispatchTracer,
  type RecordHeaders,
} from '@ksched/core';
import {
  isSpanContextValid,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Link,
  type Span,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
  type Tracer,
  type TracerProvider,
} from '@opentelemetry/api';
import { w3cTraceContextPropagator } from './w3c.js';

/** The instrumentation scope of the dispatch spans. */
export const INSTRUMENTATION_NAME = '@ksched/otel';
const INSTRUMENTATION_VERSION = '0.1.0';

/** Attribute names of the dispatch span (OpenTelemetry messaging conventions, then ksched's own). */
export const DispatchAttributes = {
  messagingSystem: 'messaging.system',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  destinationName: 'messaging.destination.name',
  destinationPartition: 'messaging.destination.partition.id',
  messageKey: 'messaging.kafka.message.key',
  offset: 'messaging.kafka.offset',
  scheduleKey: 'ksched.schedule.key',
  scheduleTopic: 'ksched.schedule.topic',
  schedulePartition: 'ksched.schedule.partition',
  scheduleOffset: 'ksched.schedule.offset',
  dueMs: 'ksched.schedule.due_ms',
  latenessMs: 'ksched.dispatch.lateness_ms',
  transactional: 'ksched.dispatch.transactional',
  possibleDuplicate: 'ksched.dispatch.possible_duplicate',
} as const;

/**
 * Which trace context the dispatched message carries for its consumers:
 * - `dispatch` (default): the dispatch span's. Its `traceparent` (and `tracestate`, or none)
 *   replaces the one given when scheduling, so a consumer continues from the dispatch span, which
 *   links back to the scheduling context;
 * - `schedule`: the one given when scheduling, unchanged; a consumer continues the scheduling
 *   trace directly (the dispatch span is still recorded, linked to it).
 */
export type PropagatedContext = 'dispatch' | 'schedule';

/** Options of {@link createOtelDispatchTracer}. */
export interface OtelDispatchTracerOptions {
  /** Where the spans go. Default: the global provider (`trace.getTracerProvider()`), a no-op until an SDK is registered. */
  readonly tracerProvider?: TracerProvider;
  /** Which context the dispatched message carries (see {@link PropagatedContext}). Default `dispatch`. */
  readonly propagate?: PropagatedContext;
  /**
   * How trace context is read from and written to headers. Default: W3C trace context
   * (`traceparent`, `tracestate`), whether or not a global propagator is registered. Pass
   * `propagation` of `@opentelemetry/api` to use the globally registered propagator instead.
   */
  readonly propagator?: TextMapPropagator;
}

/** Reads a consumed record's headers (text or bytes) as text for a propagator. */
const headersGetter: TextMapGetter<RecordHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => headerText(carrier, key),
};

const recordSetter: TextMapSetter<Record<string, string | null>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * A `DispatchTracer` (the `tracer` option of core's `Scheduler`) over `@opentelemetry/api`: each
 * dispatch is a span `ksched dispatch <target topic>` of kind PRODUCER, a new root linked (not
 * parented: the schedule was written long before) to the trace context the message carried when
 * it was scheduled, ended when the target and its tombstone are acknowledged (committed, in
 * transactional mode) or with an error status when the flush fails. Attributes follow the
 * OpenTelemetry messaging conventions where they fit (see {@link DispatchAttributes}).
 *
 * Without an SDK registered (and no `tracerProvider` given) the API's no-op tracer records
 * nothing and the message keeps the context it carried. See the package README for the header
 * policy ({@link PropagatedContext}).
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ transport, clock: systemClock, options, tracer: createOtelDispatchTracer() });
 * ```
 */
export function createOtelDispatchTracer(options: OtelDispatchTracerOptions = {}): DispatchTracer {
  const provider = options.tracerProvider ?? trace.getTracerProvider();
  // A ProxyTracer when the global provider is used: it follows an SDK registered later.
  const tracer = provider.getTracer(INSTRUMENTATION_NAME, INSTRUMENTATION_VERSION);
  const propagator = options.propagator ?? w3cTraceContextPropagator;
  const propagate = options.propagate ?? 'dispatch';
  return {
    startDispatch: (start) => startDispatch(tracer, propagator, propagate, start),
  };
}

function startDispatch(
  tracer: Tracer,
  propagator: TextMapPropagator,
  propagate: PropagatedContext,
  start: DispatchStart,
): DispatchSpan | undefined {
  const scheduled = trace.getSpanContext(propagator.extract(ROOT_CONTEXT, start.headers, headersGetter));
  const links: Link[] = scheduled !== undefined && isSpanContextValid(scheduled) ? [{ context: scheduled }] : [];
  const span = tracer.startSpan(
    `ksched dispatch ${start.targetTopic}`,
    { kind: SpanKind.PRODUCER, root: true, attributes: startAttributes(start), links },
    ROOT_CONTEXT,
  );
  const own = span.spanContext();
  // The API's no-op tracer (no SDK): nothing to record, nothing to propagate.
  if (!span.isRecording() && !isSpanContextValid(own)) return undefined;
  const headers = propagate === 'dispatch' ? dispatchHeaders(propagator, span, start.headers) : undefined;
  return {
    ...(headers !== undefined ? { headers } : {}),
    end: (outcome) => endDispatch(span, outcome),
  };
}

function startAttributes(start: DispatchStart): Attributes {
  const attributes: Attributes = {
    [DispatchAttributes.messagingSystem]: 'kafka',
    [DispatchAttributes.operationType]: 'send',
    [DispatchAttributes.operationName]: 'dispatch',
    [DispatchAttributes.destinationName]: start.targetTopic,
    [DispatchAttributes.scheduleKey]: start.key,
    [DispatchAttributes.scheduleTopic]: start.topic,
    [DispatchAttributes.schedulePartition]: start.partition,
    [DispatchAttributes.scheduleOffset]: start.offset,
    [DispatchAttributes.dueMs]: start.dueMs,
    [DispatchAttributes.latenessMs]: Math.max(0, start.startedAtMs - start.dueMs),
    [DispatchAttributes.transactional]: start.transactional,
  };
  if (start.targetPartition !== undefined) attributes[DispatchAttributes.destinationPartition] = String(start.targetPartition);
  if (start.targetKey !== null) attributes[DispatchAttributes.messageKey] = start.targetKey;
  return attributes;
}

/**
 * The dispatch span's context for the target message, replacing the carried one: every header the
 * propagator uses that it did not write now is removed (a `tracestate` of the scheduling trace
 * must not travel with the dispatch span's `traceparent`).
 */
function dispatchHeaders(propagator: TextMapPropagator, span: Span, carried: RecordHeaders): Record<string, string | null> | undefined {
  if (!isSpanContextValid(span.spanContext())) return undefined;
  const headers: Record<string, string | null> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, recordSetter);
  for (const field of propagator.fields()) if (!(field in headers) && carried[field] !== undefined) headers[field] = null;
  return headers;
}

function endDispatch(span: Span, outcome: DispatchOutcome): void {
  if (outcome.ok) {
    span.setAttribute(DispatchAttributes.latenessMs, outcome.lateMs);
    span.setAttribute(DispatchAttributes.possibleDuplicate, outcome.possibleDuplicate);
    if (outcome.targetPartition !== undefined) span.setAttribute(DispatchAttributes.destinationPartition, String(outcome.targetPartition));
    if (outcome.targetOffset !== undefined) span.setAttribute(DispatchAttributes.offset, outcome.targetOffset);
    span.setStatus({ code: SpanStatusCode.OK });
  } else {
    const error = outcome.error;
    if (error instanceof Error) span.recordException(error);
    else span.recordException(String(error));
    span.setAttribute('error.type', errorType(error));
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
  }
  span.end();
}

/** `error.type`: the error's code when it has one (ksched's `KSM_*`), else its class name. */
function errorType(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && code !== '' ? code : error.name;
  }
  return '_OTHER';
}
