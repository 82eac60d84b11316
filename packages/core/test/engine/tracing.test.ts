/**
 * The `DispatchTracer` port: a traceparent given when scheduling reaches the dispatched message,
 * the engine starts one span per schedule before producing it and ends it when the flush is
 * acknowledged or failed, the span's headers replace carried ones on the target only, and a
 * tracer that throws never stops a dispatch.
 */
import { describe, expect, it } from 'vitest';
import {
  Header,
  Scheduler,
  dispatchPair,
  decodeRecord,
  type ConsumedRecord,
  type DispatchOutcome,
  type DispatchSpan,
  type DispatchStart,
  type DispatchTracer,
  type Logger,
  type SchedulerOptionsInput,
} from '@ksched/core';
import { createTestEnvironment, type TestEnvironment } from '@ksched/testkit';
import { SECOND, recordingLogger } from './helpers.js';

const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const TRACESTATE = 'congo=t61rcWkgMzE';

interface Traced {
  readonly start: DispatchStart;
  outcomes: DispatchOutcome[];
}

/** A tracer that records every call; `headers` are what its spans put on the target. */
function recordingTracer(headers?: (start: DispatchStart) => Record<string, string | null> | undefined): {
  readonly tracer: DispatchTracer;
  readonly traced: Traced[];
} {
  const traced: Traced[] = [];
  return {
    traced,
    tracer: {
      startDispatch(start) {
        const entry: Traced = { start, outcomes: [] };
        traced.push(entry);
        const h = headers?.(start);
        return { ...(h ? { headers: h } : {}), end: (outcome) => entry.outcomes.push(outcome) };
      },
    },
  };
}

/**
 * A scheduler on the environment's broker and clock with a tracer (the environment's own members
 * take no tracer); stopped when disposed.
 */
async function tracedScheduler(
  env: TestEnvironment,
  tracer: DispatchTracer | undefined,
  options: Partial<SchedulerOptionsInput> = {},
  logger?: Logger,
): Promise<Scheduler & AsyncDisposable> {
  const transport = env.broker.createTransport({ clientId: 'traced', clock: env.clock });
  const scheduler = new Scheduler({
    transport,
    clock: env.clock,
    options: { topics: [env.topic], ...options },
    ...(tracer ? { tracer } : {}),
    ...(logger ? { logger } : {}),
  });
  await scheduler.start();
  await env.settle();
  return Object.assign(scheduler, { [Symbol.asyncDispose]: () => scheduler.stop() });
}

const tombstones = (env: TestEnvironment) => env.broker.readCommitted(env.topic).filter((r) => r.value === null);
const text = (v: string | Uint8Array | undefined): string | undefined =>
  v === undefined || typeof v === 'string' ? v : new TextDecoder().decode(v);

describe('dispatch tracing (the DispatchTracer port)', () => {
  it('without a tracer, a traceparent and tracestate given when scheduling are carried to the dispatched message as they are', async () => {
    await using env = await createTestEnvironment();
    await env.schedule({
      message: { topic: 'orders', key: 'o-1', payload: 'x', headers: { traceparent: TRACEPARENT, tracestate: TRACESTATE, other: 'kept' } },
      delayMs: SECOND,
    });
    await env.advance(SECOND);
    const [message] = env.dispatched('orders');
    expect(message?.headers).toMatchObject({ traceparent: TRACEPARENT, tracestate: TRACESTATE, other: 'kept' });
  });

  it('starts one span per schedule with where it comes from and goes, and ends it with the acknowledged outcome', async () => {
    await using env = await createTestEnvironment({ start: false, targetPartitions: 3 });
    const { tracer, traced } = recordingTracer();
    await using _scheduler = await tracedScheduler(env, tracer);
    const scheduled = await env.schedule({
      message: { topic: 'orders', key: 'o-1', partition: 2, payload: 'x', headers: { traceparent: TRACEPARENT } },
      envelope: { key: 'reminder-1' },
      delayMs: 5 * SECOND,
    });
    const dueMs = env.clock.now() + 5 * SECOND;
    await env.advance(5 * SECOND + 250);
    const [message] = env.dispatched('orders');
    expect(traced).toHaveLength(1);
    const { start, outcomes } = traced[0]!;
    expect(start).toMatchObject({
      key: 'reminder-1',
      topic: 'scheduled_messages',
      partition: scheduled.partition,
      offset: scheduled.offset,
      targetTopic: 'orders',
      targetPartition: 2,
      targetKey: 'o-1',
      dueMs,
      transactional: false,
    });
    expect(start.startedAtMs).toBeGreaterThanOrEqual(dueMs);
    expect(text(start.headers['traceparent'])).toBe(TRACEPARENT);
    expect(text(start.headers[Header.targetTopic])).toBe('orders');
    expect(outcomes).toEqual([
      {
        ok: true,
        dispatchedAtMs: message!.timestamp,
        lateMs: message!.timestamp - dueMs,
        possibleDuplicate: false,
        targetPartition: 2,
        targetOffset: message!.offset,
      },
    ]);
  });

  it("the span's headers replace the carried ones on the target only; null removes one; schedule_source_* cannot be replaced", async () => {
    await using env = await createTestEnvironment({ start: false });
    const { tracer } = recordingTracer(() => ({ traceparent: 'dispatch-context', tracestate: null, [Header.sourceOffset]: 'forged' }));
    await using _scheduler = await tracedScheduler(env, tracer);
    const scheduled = await env.schedule({
      message: { topic: 'orders', payload: 'x', headers: { traceparent: TRACEPARENT, tracestate: TRACESTATE } },
      delayMs: SECOND,
    });
    await env.advance(SECOND);
    const [message] = env.dispatched('orders');
    expect(message?.headers['traceparent']).toBe('dispatch-context');
    expect(message?.headers).not.toHaveProperty('tracestate');
    expect(message?.headers[Header.sourceOffset]).toBe(String(scheduled.offset));
    // The tombstone keeps the schedule's own headers.
    const [tombstone] = tombstones(env);
    expect(text(tombstone?.headers['traceparent'])).toBe(TRACEPARENT);
    expect(text(tombstone?.headers['tracestate'])).toBe(TRACESTATE);
  });

  it('a failed flush ends every span of it with the error; the retry is a new attempt that ends ok', async () => {
    await using env = await createTestEnvironment({ start: false });
    const { tracer, traced } = recordingTracer();
    await using _scheduler = await tracedScheduler(env, tracer, { retryBackoffMs: 100 });
    await env.schedule({ message: { topic: 'orders', payload: 'a' }, delayMs: SECOND, envelope: { key: 'a' } });
    await env.schedule({ message: { topic: 'orders', payload: 'b' }, delayMs: SECOND, envelope: { key: 'b' } });
    const fault = env.broker.faults.failProduce({ topic: 'orders', source: 'produce', nth: 1 });
    await env.advance(SECOND);
    expect(fault.triggered).toBe(1);
    await env.advance(SECOND);
    const failed = traced.filter((t) => t.outcomes[0]?.ok === false);
    expect(failed.map((t) => t.start.key).sort()).toEqual(['a', 'b']);
    for (const t of failed) {
      expect(t.outcomes).toHaveLength(1);
      const outcome = t.outcomes[0]!;
      expect(outcome.ok === false && outcome.error instanceof Error && outcome.error.message).toMatch(/injected produce failure/);
    }
    const succeeded = traced.filter((t) => t.outcomes[0]?.ok === true);
    expect(succeeded.map((t) => t.start.key).sort()).toEqual(['a', 'b']);
    for (const t of traced) expect(t.outcomes).toHaveLength(1);
    expect(
      env
        .dispatched('orders')
        .map((m) => m.value)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('transactional: each span ends after the commit, with its own target offset', async () => {
    await using env = await createTestEnvironment({ start: false });
    const { tracer, traced } = recordingTracer();
    await using _scheduler = await tracedScheduler(env, tracer, { transactional: true });
    for (const key of ['a', 'b', 'c'])
      await env.schedule({ message: { topic: 'orders', payload: key }, delayMs: SECOND, envelope: { key } });
    await env.advance(SECOND);
    const messages = env.dispatched('orders');
    expect(traced.map((t) => t.start.transactional)).toEqual([true, true, true]);
    for (const t of traced) {
      const message = messages.find((m) => m.scheduleKey === t.start.key)!;
      expect(t.outcomes).toEqual([expect.objectContaining({ ok: true, targetPartition: 0, targetOffset: message.offset })]);
    }
  });

  it('a tracer that throws, or that traces nothing, never stops a dispatch', async () => {
    await using env = await createTestEnvironment({ start: false });
    const { logger, entries } = recordingLogger();
    let calls = 0;
    const tracer: DispatchTracer = {
      startDispatch(): DispatchSpan | undefined {
        calls++;
        if (calls === 1) throw new Error('start failed');
        if (calls === 2) return undefined;
        return {
          end: () => {
            throw new Error('end failed');
          },
        };
      },
    };
    await using _scheduler = await tracedScheduler(env, tracer, {}, logger);
    for (const key of ['a', 'b', 'c'])
      await env.schedule({
        message: { topic: 'orders', payload: key, headers: { traceparent: TRACEPARENT } },
        delayMs: SECOND,
        envelope: { key },
      });
    await env.advance(SECOND);
    expect(calls).toBe(3);
    const messages = env.dispatched('orders');
    expect(messages.map((m) => m.value).sort()).toEqual(['a', 'b', 'c']);
    for (const m of messages) expect(m.headers['traceparent']).toBe(TRACEPARENT);
    expect(entries.filter((e) => e.level === 'warn').map((e) => e.message)).toEqual([
      'the dispatch tracer threw; dispatching untraced',
      'the dispatch tracer threw when ending a span',
    ]);
  });

  it('dead letters are not traced', async () => {
    await using env = await createTestEnvironment({ start: false, targetTopics: ['dead'] });
    const { tracer, traced } = recordingTracer();
    await using _scheduler = await tracedScheduler(env, tracer, { deadLetterTopic: 'dead' });
    const refuse = env.broker.faults.refuseRecords((r) => r.topic === 'orders');
    await env.schedule({ message: { topic: 'orders', payload: 'x' }, delayMs: SECOND, envelope: { key: 'a' } });
    await env.advance(SECOND);
    refuse();
    await env.advance(SECOND);
    expect(env.broker.readCommitted('dead')).toHaveLength(1);
    // One traced attempt (refused by the client), none for the dead letter.
    expect(traced).toHaveLength(1);
    expect(traced[0]!.outcomes).toEqual([expect.objectContaining({ ok: false })]);
  });
});

describe('dispatchPair with replaced headers', () => {
  const record: ConsumedRecord = {
    topic: 'scheduled_messages',
    partition: 0,
    offset: 7,
    key: new TextEncoder().encode('k'),
    value: new TextEncoder().encode('v'),
    timestamp: 0,
    headers: {
      [Header.schemaVersion]: '1.0.0',
      [Header.sourceType]: 'schedule',
      [Header.targetEpoch]: '1767268800',
      [Header.targetTopic]: 'orders',
      traceparent: TRACEPARENT,
      tracestate: TRACESTATE,
    },
  };
  const decoded = decodeRecord(record);
  if (decoded.kind !== 'schedule') throw new Error('fixture is not a schedule');

  it('without replacements it is unchanged', () => {
    expect(dispatchPair(record, decoded.target, undefined)).toEqual(dispatchPair(record, decoded.target));
  });

  it('sets and removes headers of the target only', () => {
    const plain = dispatchPair(record, decoded.target);
    const pair = dispatchPair(record, decoded.target, { traceparent: 'new', tracestate: null, added: 'a', [Header.sourceOffset]: 'x' });
    expect(pair.target.headers).toEqual({ ...plain.target.headers, traceparent: 'new', tracestate: undefined, added: 'a' });
    expect(pair.target.headers).not.toHaveProperty('tracestate');
    expect(pair.target.headers?.[Header.sourceOffset]).toBe('7');
    expect(pair.tombstone).toEqual(plain.tombstone);
  });
});
