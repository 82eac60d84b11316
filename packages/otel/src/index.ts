/**
 * `@ksched/otel`: OpenTelemetry tracing for ksched. {@link createOtelDispatchTracer} is a
 * `DispatchTracer` for core's `Scheduler` (a PRODUCER span per dispatch, linked to the trace
 * context given when scheduling); {@link injectTraceContext} writes the caller's trace context
 * into a message to schedule. `@opentelemetry/api` is a peer dependency: without an SDK registered
 * everything here is a no-op.
 *
 * @packageDocumentation
 */
export { createOtelDispatchTracer, DispatchAttributes, INSTRUMENTATION_NAME } from './dispatch-tracer.js';
export type { OtelDispatchTracerOptions, PropagatedContext } from './dispatch-tracer.js';
export { injectTraceContext } from './inject.js';
export type { InjectTraceContextOptions } from './inject.js';
export { formatTraceparent, parseTraceparent, TRACEPARENT, TRACESTATE, w3cTraceContextPropagator } from './w3c.js';
