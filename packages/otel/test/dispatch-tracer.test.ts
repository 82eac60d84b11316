/**
 * The OpenTelemetry dispatch tracer on the FakeBroker and fake time, recorded by the SDK's
 * in-memory exporter: one PRODUCER span per dispatch with the messaging attributes, linked to the
 * trace context given when scheduling, its status from the flush, and the header policy.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Scheduler, type DispatchTracer, type SchedulerOptionsInput } from '@ksched/core';
import { createTestEnvironment, type TestEnvironment } from '@ksched/testkit';
import { propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type TextMapPropagator } from '@opentelemetry/api';
import {
  AlwaysOffSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { createOtelDispatchTracer, injectTraceContext, parseTraceparent } from '../src/index.js';

const SECOND = 1000;
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const TRACEPARENT = `00-${TRACE_ID}-${SPAN_ID}-01`;
const TRACESTATE = 'congo=t61rcWkgMzE';

function sdk(options: { sampler?: AlwaysOffSampler } = {}): { provider: BasicTracerProvider; exporter: InMemorySpanExporter } {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)], ...options });
  return { provider, exporter };
}

/** A scheduler with `tracer` on the environment's broker and clock, stopped when disposed. */
async function tracedScheduler(
  env: TestEnvironment,
  tracer: DispatchTracer,
  options: Partial<SchedulerOptionsInput> = {},
): Promise<Scheduler & AsyncDisposable> {
  const transport = env.broker.createTransport({ clientId: 'traced', clock: env.clock });
  const scheduler = new Scheduler({ transport, clock: env.clock, options: { topics: [env.topic], ...options }, tracer });
  await scheduler.start();
  await env.settle();
  return Object.assign(scheduler, { [Symbol.asyncDispose]: () => scheduler.stop() });
}

const dispatchSpans = (exporter: InMemorySpanExporter): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.name.startsWith('ksched dispatch'));

const traceparentOf = (span: ReadableSpan, flags = '01') => `00-${span.spanContext().traceId}-${span.spanContext().spanId}-${flags}`;

afterEach(() => {
  trace.disable();
  propagation.disable();
});

describe('createOtelDispatchTracer', () => {
  it('a schedule with a traceparent: one PRODUCER span, linked to it, with the messaging attributes, status OK; the message carries the span’s context', async () => {
    await using env = await createTestEnvironment({ start: false });
    const { provider, exporter } = sdk();
    await using _scheduler = await tracedScheduler(env, createOtelDispatchTracer({ tracerProvider: provider }));
    const scheduled = await env.schedule({
      message: { topic: 'orders', key: 'order-42', payload: 'x', headers: { traceparent: TRACEPARENT, tracestate: TRACESTATE } },
      envelope: { key: 'order-42-reminder' },
      delayMs: 90 * SECOND,
    });
    const dueMs = env.clock.now() + 90 * SECOND;
    await env.advance(90 * SECOND + 40);

    const spans = dispatchSpans(exporter);
    expect(spans).toHaveLength(1);
    const span = spans[0]!;
    expect(span.name).toBe('ksched dispatch orders');
    expect(span.kind).toBe(SpanKind.PRODUCER);
    expect(span.status).toEqual({ code: SpanStatusCode.OK });
    expect(span.instrumentationScope.name).toBe('@ksched/otel');
    // A new root: linked to the scheduling context, not its child.
    expect(span.parentSpanContext).toBeUndefined();
    expect(span.spanContext().traceId).not.toBe(TRACE_ID);
    expect(span.links).toHaveLength(1);
    expect(span.links[0]!.context.traceId).toBe(TRACE_ID);
    expect(span.links[0]!.context.spanId).toBe(SPAN_ID);
    expect(span.links[0]!.context.traceState?.serialize()).toBe(TRACESTATE);

    const [message] = env.dispatched('orders');
    expect(span.attributes).toEqual({
      'messaging.system': 'kafka',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'dispatch',
      'messaging.destination.name': 'orders',
      'messaging.destination.partition.id': String(message!.partition),
      'messaging.kafka.message.key': 'order-42',
      'messaging.kafka.offset': message!.offset,
      'ksched.schedule.key': 'order-42-reminder',
      'ksched.schedule.topic': 'scheduled_messages',
      'ksched.schedule.partition': scheduled.partition,
      'ksched.schedule.offset': scheduled.offset,
      'ksched.schedule.due_ms': dueMs,
      'ksched.dispatch.lateness_ms': message!.timestamp - dueMs,
      'ksched.dispatch.transactional': false,
      'ksched.dispatch.possible_duplicate': false,
    });
    // Header policy `dispatch`: consumers continue from the dispatch span; the scheduling
    // tracestate does not travel with it.
    expect(message!.headers['traceparent']).toBe(traceparentOf(span));
    expect(message!.headers).not.toHaveProperty('tracestate');
  });

  it("propagate: 'schedule' leaves the scheduling context on the message; the span still links to it", async () => {
    await using env = await createTestEnvironment({ start: false });
    const { provider, exporter } = sdk();
    await using _scheduler = await tracedScheduler(env, createOtelDispatchTracer({ tracerProvider: provider, propagate: 'schedule' }));
    await env.schedule({
      message: { topic: 'orders', payload: 'x', headers: { traceparent: TRACEPARENT, tracestate: TRACESTATE } },
      delayMs: SECOND,
    });
    await env.advance(SECOND);
    const [span] = dispatchSpans(exporter);
    expect(span?.links.map((l) => l.context.spanId)).toEqual([SPAN_ID]);
    const [message] = env.dispatched('orders');
    expect(message!.headers).toMatchObject({ traceparent: TRACEPARENT, tracestate: TRACESTATE });
  });

  it('a schedule without trace context (or with an invalid one) gives a span without links', async () => {
    await using env = await createTestEnvironment({ start: false });
    const { provider, exporter } = sdk();
    await using _scheduler = await tracedScheduler(env, createOtelDispatchTracer({ tracerProvider: provider }));
    await env.schedule({ message: { topic: 'orders', payload: 'none' }, delayMs: SECOND });
    await env.schedule({
      message: { topic: 'orders', payload: 'zeros', headers: { traceparent: `00-${'0'.repeat(32)}-${SPAN_ID}-01` } },
      delayMs: SECOND,
    });
    await env.schedule({
      message: { topic: 'orders', payload: 'upper', headers: { traceparent: TRACEPARENT.toUpperCase() } },
      delayMs: SECOND,
    });
    await env.advance(SECOND);
    const spans = dispatchSpans(exporter);
    expect(spans).toHaveLength(3);
    for (const span of spans) {
      expect(span.links).toEqual([]);
      expect(span.status.code).toBe(SpanStatusCode.OK);
    }
    const byValue = new Map(env.dispatched('orders').map((m) => [m.value, m]));
    for (const span of spans) {
      const carried = [...byValue.values()].filter((m) => m.headers['traceparent'] === traceparentOf(span));
      expect(carried).toHaveLength(1);
    }
  });

  it('a traceparent header given as bytes is read too', async () => {
    await using env = await createTestEnvironment({ start: false });
    const { provider, exporter } = sdk();
    await using _scheduler = await tracedScheduler(env, createOtelDispatchTracer({ tracerProvider: provider }));
    await env.schedule({
      message: { topic: 'orders', payload: 'x', headers: { traceparent: new TextEncoder().encode(TRACEPARENT) } },
      delayMs: SECOND,
    });
    await env.advance(SECOND);
    expect(dispatchSpans(exporter)[0]?.links.map((l) => l.context.traceId)).toEqual([TRACE_ID]);
  });

  it('a failed flush: the span records the error (status ERROR, an exception event); the retry is a new span with status OK', async () => {
    await using env = await createTestEnvironment({ start: false });
    const { provider, exporter } = sdk();
    await using _scheduler = await tracedScheduler(env, createOtelDispatchTracer({ tracerProvider: provider }), { retryBackoffMs: 100 });
    await env.schedule({ message: { topic: 'orders', payload: 'x', headers: { traceparent: TRACEPARENT } }, delayMs: SECOND });
    const fault = env.broker.faults.failProduce({ topic: 'orders', source: 'produce', nth: 1 });
    await env.advance(SECOND);
    expect(fault.triggered).toBe(1);
    const [failed] = dispatchSpans(exporter);
    expect(dispatchSpans(exporter)).toHaveLength(1);
    expect(failed!.status.code).toBe(SpanStatusCode.ERROR);
    expect(failed!.status.message).toMatch(/injected produce failure/);
    expect(failed!.attributes['error.type']).toBe('KSM_TRANSPORT');
    expect(failed!.attributes).not.toHaveProperty('ksched.dispatch.possible_duplicate');
    expect(failed!.events.map((e) => e.name)).toEqual(['exception']);
    expect(failed!.events[0]!.attributes?.['exception.message']).toMatch(/injected produce failure/);
    expect(failed!.links.map((l) => l.context.spanId)).toEqual([SPAN_ID]);

    await env.advance(SECOND);
    const spans = dispatchSpans(exporter);
    expect(spans).toHaveLength(2);
    expect(spans[1]!.status.code).toBe(SpanStatusCode.OK);
    expect(spans[1]!.links.map((l) => l.context.spanId)).toEqual([SPAN_ID]);
    expect(env.dispatched('orders').map((m) => m.headers['traceparent'])).toEqual([traceparentOf(spans[1]!)]);
  });

  it('transactional: status OK after the commit, transactional true; a failed commit records the error', async () => {
    await using env = await createTestEnvironment({ start: false });
    const { provider, exporter } = sdk();
    await using _scheduler = await tracedScheduler(env, createOtelDispatchTracer({ tracerProvider: provider }), {
      transactional: true,
      retryBackoffMs: 100,
    });
    env.broker.faults.failTransactionCommit({ nth: 1 });
    await env.schedule({ message: { topic: 'orders', payload: 'x', headers: { traceparent: TRACEPARENT } }, delayMs: SECOND });
    await env.advance(SECOND);
    await env.advance(5 * SECOND);
    const spans = dispatchSpans(exporter);
    expect(spans.map((s) => s.status.code)).toEqual([SpanStatusCode.ERROR, SpanStatusCode.OK]);
    for (const span of spans) expect(span.attributes['ksched.dispatch.transactional']).toBe(true);
    expect(env.dispatched('orders')).toHaveLength(1);
  });

  it('without an SDK registered: nothing is traced, nothing fails, and the message keeps the context it was scheduled with', async () => {
    await using env = await createTestEnvironment({ start: false });
    const tracer = createOtelDispatchTracer();
    const started: unknown[] = [];
    const observed: DispatchTracer = {
      startDispatch: (start) => {
        const span = tracer.startDispatch(start);
        started.push(span);
        return span;
      },
    };
    await using scheduler = await tracedScheduler(env, observed);
    const errors: unknown[] = [];
    scheduler.on('error', (e) => errors.push(e));
    await env.schedule({
      message: { topic: 'orders', payload: 'x', headers: { traceparent: TRACEPARENT, tracestate: TRACESTATE } },
      delayMs: SECOND,
    });
    await env.advance(SECOND);
    expect(started).toEqual([undefined]);
    expect(errors).toEqual([]);
    expect(env.dispatched('orders')[0]!.headers).toMatchObject({ traceparent: TRACEPARENT, tracestate: TRACESTATE });
  });

  it('the global provider: an SDK registered after the tracer was made is used from then on', async () => {
    await using env = await createTestEnvironment({ start: false });
    await using _scheduler = await tracedScheduler(env, createOtelDispatchTracer());
    const { provider, exporter } = sdk();
    expect(trace.setGlobalTracerProvider(provider)).toBe(true);
    await env.schedule({ message: { topic: 'orders', payload: 'x', headers: { traceparent: TRACEPARENT } }, delayMs: SECOND });
    await env.advance(SECOND);
    const spans = dispatchSpans(exporter);
    expect(spans).toHaveLength(1);
    expect(spans[0]!.links.map((l) => l.context.traceId)).toEqual([TRACE_ID]);
  });

  it('a sampler that drops the span: nothing is exported, and the message carries the unsampled dispatch context', async () => {
    await using env = await createTestEnvironment({ start: false });
    const { provider, exporter } = sdk({ sampler: new AlwaysOffSampler() });
    await using _scheduler = await tracedScheduler(env, createOtelDispatchTracer({ tracerProvider: provider }));
    await env.schedule({ message: { topic: 'orders', payload: 'x', headers: { traceparent: TRACEPARENT } }, delayMs: SECOND });
    await env.advance(SECOND);
    expect(exporter.getFinishedSpans()).toEqual([]);
    const carried = parseTraceparent(env.dispatched('orders')[0]!.headers['traceparent']!);
    expect(carried?.traceFlags).toBe(0);
    expect(carried?.traceId).not.toBe(TRACE_ID);
  });

  it('a propagator of your own (e.g. the global one) reads and writes the headers', async () => {
    await using env = await createTestEnvironment({ start: false });
    const { provider, exporter } = sdk();
    // A toy propagator: `x-trace: <trace id>:<span id>`.
    const toy: TextMapPropagator = {
      inject(context, carrier, setter) {
        const sc = trace.getSpanContext(context);
        if (sc) setter.set(carrier, 'x-trace', `${sc.traceId}:${sc.spanId}`);
      },
      extract(context, carrier, getter) {
        const value = getter.get(carrier, 'x-trace');
        if (typeof value !== 'string') return context;
        const [traceId, spanId] = value.split(':');
        return trace.setSpanContext(context, { traceId: traceId!, spanId: spanId!, traceFlags: 1, isRemote: true });
      },
      fields: () => ['x-trace'],
    };
    propagation.setGlobalPropagator(toy);
    await using _scheduler = await tracedScheduler(env, createOtelDispatchTracer({ tracerProvider: provider, propagator: propagation }));
    await env.schedule({
      message: { topic: 'orders', payload: 'x', headers: { 'x-trace': `${TRACE_ID}:${SPAN_ID}`, traceparent: TRACEPARENT } },
      delayMs: SECOND,
    });
    await env.advance(SECOND);
    const [span] = dispatchSpans(exporter);
    expect(span!.links.map((l) => `${l.context.traceId}:${l.context.spanId}`)).toEqual([`${TRACE_ID}:${SPAN_ID}`]);
    const [message] = env.dispatched('orders');
    expect(message!.headers['x-trace']).toBe(`${span!.spanContext().traceId}:${span!.spanContext().spanId}`);
    // Not a field of that propagator: left as it was.
    expect(message!.headers['traceparent']).toBe(TRACEPARENT);
  });
});

describe('injectTraceContext', () => {
  it("writes the context's span as traceparent (and tracestate), replacing old ones; the dispatch span links to it", async () => {
    await using env = await createTestEnvironment({ start: false });
    const { provider, exporter } = sdk();
    await using _scheduler = await tracedScheduler(env, createOtelDispatchTracer({ tracerProvider: provider }));
    const scheduling = provider.getTracer('app').startSpan('schedule reminder');
    const message = injectTraceContext(
      { topic: 'orders', payload: 'x', headers: { own: 'kept', traceparent: 'stale', tracestate: 'stale=1' } },
      { context: trace.setSpan(ROOT_CONTEXT, scheduling) },
    );
    expect(message.headers).toEqual({ own: 'kept', traceparent: traceparentOf(scheduling as unknown as ReadableSpan) });
    await env.schedule({ message, delayMs: SECOND });
    scheduling.end();
    await env.advance(SECOND);
    const [dispatch] = dispatchSpans(exporter);
    const { traceId, spanId } = scheduling.spanContext();
    expect(dispatch!.links.map((l) => [l.context.traceId, l.context.spanId])).toEqual([[traceId, spanId]]);
  });

  it('returns the message itself when there is no span (no SDK, no active span)', () => {
    const message = { topic: 'orders', payload: 'x' };
    expect(injectTraceContext(message)).toBe(message);
  });
});

describe('parseTraceparent', () => {
  it('reads W3C traceparent values and refuses invalid ones', () => {
    expect(parseTraceparent(TRACEPARENT, TRACESTATE)).toMatchObject({ traceId: TRACE_ID, spanId: SPAN_ID, traceFlags: 1, isRemote: true });
    expect(parseTraceparent(`00-${TRACE_ID}-${SPAN_ID}-00`)?.traceFlags).toBe(0);
    // A later version is read by its version-00 prefix.
    expect(parseTraceparent(`01-${TRACE_ID}-${SPAN_ID}-01-extra`)?.spanId).toBe(SPAN_ID);
    for (const bad of [
      '',
      'garbage',
      `ff-${TRACE_ID}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${SPAN_ID}-01-extra`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${SPAN_ID}`,
    ])
      expect(parseTraceparent(bad), bad).toBeUndefined();
  });
});
