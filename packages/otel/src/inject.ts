import type { HeaderValue } from '@ksched/core';
import { context as contextApi, type Context, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api';
import { w3cTraceContextPropagator } from './w3c.js';

/** Options of {@link injectTraceContext}. */
export interface InjectTraceContextOptions {
  /** The context whose span is written. Default: the active context (`context.active()`). */
  readonly context?: Context;
  /** Default: W3C trace context (`traceparent`, `tracestate`); pass `propagation` of `@opentelemetry/api` for the global propagator. */
  readonly propagator?: TextMapPropagator;
}

const setter: TextMapSetter<Record<string, HeaderValue>> = {
  set: (carrier, key, value) => {
    carrier[key] = value;
  },
};

/**
 * `message` (a copy) with the trace context of the caller's span written into its headers
 * (`traceparent` and, when there is one, `tracestate`), replacing headers of those names; the same object when
 * there is no valid span in the context. Use it on the `message` you give to `schedule()` or to a
 * schedule client: the scheduler carries the headers to the dispatched message, and the dispatch
 * span of `createOtelDispatchTracer` links to this context.
 *
 * @example
 * ```ts
 * await client.schedule({ message: injectTraceContext({ topic: 'orders', key, payload }), delayMs: 90_000 });
 * ```
 */
export function injectTraceContext<
  M extends { readonly topic: string; readonly headers?: Readonly<Record<string, HeaderValue>> | undefined },
>(message: M, options: InjectTraceContextOptions = {}): M {
  const propagator = options.propagator ?? w3cTraceContextPropagator;
  const written: Record<string, HeaderValue> = {};
  propagator.inject(options.context ?? contextApi.active(), written, setter);
  if (Object.keys(written).length === 0) return message;
  const headers: Record<string, HeaderValue> = { ...message.headers };
  // A field the propagator did not write now (a `tracestate` of another trace) must not stay.
  for (const field of propagator.fields()) if (!(field in written)) delete headers[field];
  return { ...message, headers: Object.assign(headers, written) };
}
