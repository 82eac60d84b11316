import {
  createTraceState,
  isSpanContextValid,
  trace,
  TraceFlags,
  type Context,
  type SpanContext,
  type TextMapGetter,
  type TextMapPropagator,
  type TextMapSetter,
} from '@opentelemetry/api';

/** The W3C trace context header names. */
export const TRACEPARENT = 'traceparent';
export const TRACESTATE = 'tracestate';

// version "-" trace-id "-" parent-id "-" trace-flags (https://www.w3.org/TR/trace-context/#traceparent-header)
const TRACEPARENT_PATTERN = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The span context a W3C `traceparent` (and `tracestate`) names, marked remote; `undefined` when
 * the value is not a valid `traceparent`: unknown shape, version `ff`, a version `00` value with
 * anything after the flags, or an all-zero trace or parent id. A later version is read by its
 * version-00 prefix, as the specification asks.
 */
export function parseTraceparent(traceparent: string, tracestate?: string): SpanContext | undefined {
  const match = TRACEPARENT_PATTERN.exec(traceparent.trim());
  if (match === null) return undefined;
  const [, version, traceId, spanId, flags, rest] = match;
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  const context: SpanContext = {
    traceId: traceId!,
    spanId: spanId!,
    traceFlags: parseInt(flags!, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  if (!isSpanContextValid(context)) return undefined;
  if (tracestate !== undefined && tracestate.trim() !== '') context.traceState = createTraceState(tracestate);
  return context;
}

/** The W3C `traceparent` of a span context (version 00). */
export function formatTraceparent(context: SpanContext): string {
  const flags = (context.traceFlags & TraceFlags.SAMPLED).toString(16).padStart(2, '0');
  return `00-${context.traceId}-${context.spanId}-${flags}`;
}

/**
 * A W3C trace context propagator (`traceparent`, `tracestate`), built in so that ksched reads and
 * writes W3C context whether or not the application registered a global propagator. (The SDK's
 * `W3CTraceContextPropagator` of `@opentelemetry/core` behaves the same; this one keeps
 * `@opentelemetry/api` the only dependency.)
 */
export const w3cTraceContextPropagator: TextMapPropagator = {
  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    const spanContext = trace.getSpanContext(context);
    if (spanContext === undefined || !isSpanContextValid(spanContext)) return;
    setter.set(carrier, TRACEPARENT, formatTraceparent(spanContext));
    const state = spanContext.traceState?.serialize();
    if (state !== undefined && state !== '') setter.set(carrier, TRACESTATE, state);
  },
  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const traceparent = single(getter.get(carrier, TRACEPARENT));
    if (traceparent === undefined) return context;
    const spanContext = parseTraceparent(traceparent, joined(getter.get(carrier, TRACESTATE)));
    return spanContext === undefined ? context : trace.setSpanContext(context, spanContext);
  },
  fields(): string[] {
    return [TRACEPARENT, TRACESTATE];
  },
};

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;
}

function joined(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(',') : value;
}
