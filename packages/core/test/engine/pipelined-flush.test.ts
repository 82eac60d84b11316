/**
 * The at-least-once flush is pipelined: a batch's tombstones go in the same produce call as a
 * later batch's targets, and two calls are in flight at once. What must hold whatever the timing:
 * a tombstone is only ever sent once its own target is acknowledged, nothing is lost, and every
 * extra copy a failure causes is flagged.
 */
import { describe, expect, it } from 'vitest';
import { Header, TransportError, type ProduceOptions, type ProduceRecord, type RecordMetadata } from '@ksched/core';
import { createTestEnvironment, type TestEnvironment } from '@ksched/testkit';
import { MINUTE, SECOND, duplicates, expectExactlyOnce, interceptTransport } from './helpers.js';

const text = (value: string | Uint8Array | null | undefined): string =>
  typeof value === 'string' ? value : value == null ? String(value) : Buffer.from(value).toString('utf8');

interface Call {
  readonly targets: string[];
  readonly tombstones: string[];
  /** Keys whose target was acknowledged (by an earlier call) when this call was made. */
  readonly ackedBefore: ReadonlySet<string>;
  /** Calls in flight when this one was made, itself included. */
  readonly concurrent: number;
  /** Asked for a request of its own (`ProduceOptions.alone`). */
  readonly alone: boolean;
  failed: boolean;
}

/** An environment whose one member records every produce call of its transport; `failCall` makes call n (1-based) fail after writing nothing. */
async function recordingEnv(options: { flushBatchSize: number; failCall?: number; failAfterWriting?: boolean }) {
  const env = await createTestEnvironment({ start: false, scheduler: { retryBackoffMs: 100, flushBatchSize: options.flushBatchSize } });
  const calls: Call[] = [];
  const acked = new Set<string>();
  let inFlight = 0;
  await env.addMember(
    {},
    {
      wrapTransport: (t) => ({
        ...interceptTransport(t, {}),
        async produce(records: readonly ProduceRecord[], produceOptions?: ProduceOptions): Promise<RecordMetadata[]> {
          const dispatch = records.filter((r) => r.topic === 'events' || (r.topic === 'scheduled_messages' && r.value === null));
          if (dispatch.length === 0) return t.produce(records);
          const call: Call = {
            targets: records.filter((r) => r.topic === 'events').map((r) => text(r.headers?.[Header.sourceKey])),
            tombstones: records.filter((r) => r.topic === 'scheduled_messages' && r.value === null).map((r) => text(r.key)),
            ackedBefore: new Set(acked),
            concurrent: ++inFlight,
            alone: produceOptions?.alone === true,
            failed: false,
          };
          calls.push(call);
          try {
            // Let the next call start while this one is in flight.
            await new Promise((resolve) => setImmediate(resolve));
            if (calls.length === options.failCall) {
              call.failed = true;
              if (options.failAfterWriting === true) await t.produce(records);
              throw new TransportError('the leader went away', { retriable: true });
            }
            const metadata = await t.produce(records);
            for (const key of call.targets) acked.add(key);
            return metadata;
          } finally {
            inFlight--;
          }
        },
      }),
    },
  );
  return { env, calls };
}

async function scheduleMany(env: TestEnvironment, count: number, at: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < count; i++)
    keys.push((await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at, envelope: { partition: 0 } })).key);
  return keys;
}

/** Every tombstone sent was sent after its own target was acknowledged. */
function expectTombstonesAfterTargets(calls: readonly Call[]): void {
  for (const [i, call] of calls.entries())
    for (const key of call.tombstones)
      expect(call.ackedBefore.has(key), `call ${i + 1}: tombstone of ${key} before its target was acknowledged`).toBe(true);
}

describe('pipelined at-least-once flush', () => {
  it("a batch's tombstones ride with a later batch's targets, two calls in flight, never a tombstone before its target is acknowledged", async () => {
    const { env, calls } = await recordingEnv({ flushBatchSize: 4 });
    await using _ = env;
    const keys = await scheduleMany(env, 20, env.clock.now() + SECOND);
    await env.advance(5 * SECOND);
    expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
    expectTombstonesAfterTargets(calls);
    // 10 batches of 2: one call per batch plus the tombstones left at the end, instead of two per batch.
    expect(calls.flatMap((c) => c.targets).sort()).toEqual([...keys].sort());
    expect(calls.flatMap((c) => c.tombstones).sort()).toEqual([...keys].sort());
    expect(calls.length).toBeLessThan(2 * 10);
    expect(calls.some((c) => c.targets.length > 0 && c.tombstones.length > 0)).toBe(true);
    expect(Math.max(...calls.map((c) => c.concurrent))).toBe(2);
    // Never more than flushBatchSize records in a call.
    for (const call of calls) expect(call.targets.length + call.tombstones.length).toBeLessThanOrEqual(4);
    expect(env.events.dispatched.every((e) => !e.possibleDuplicate)).toBe(true);
  });

  it('a failed call with another in flight: nothing is lost, every copy written twice is flagged, and the retry goes one schedule at a time', async () => {
    for (const failAfterWriting of [false, true]) {
      const { env, calls } = await recordingEnv({ flushBatchSize: 4, failCall: 3, failAfterWriting });
      await using _ = env;
      const keys = await scheduleMany(env, 12, env.clock.now() + SECOND);
      await env.advance(MINUTE);
      expect(calls[2]!.failed).toBe(true);
      const delivered = env.dispatched('events');
      expect(expectExactlyOnce(delivered, keys).lost).toEqual([]);
      expectTombstonesAfterTargets(calls);
      // Exactly one dispatched event per schedule, and each extra copy flagged.
      const events = env.events.dispatched;
      expect(events.map((e) => e.key).sort()).toEqual([...keys].sort());
      const flagged = new Set(events.filter((e) => e.possibleDuplicate).map((e) => e.key));
      for (const [key] of duplicates(delivered)) expect(flagged.has(key), `duplicate ${key} flagged`).toBe(true);
      if (failAfterWriting) expect(duplicates(delivered).length).toBeGreaterThan(0);
      // After the failure the partition isolates: calls of one schedule, one at a time.
      const after = calls.slice(3);
      expect(after.length).toBeGreaterThan(0);
      expect(after[0]!.concurrent).toBe(1);
      expect(after[0]!.targets.length + after[0]!.tombstones.length).toBeLessThanOrEqual(1);
      // ...each in a request of its own (never joined with another partition's calls).
      expect(after[0]!.alone).toBe(true);
      expect(calls.slice(0, 3).every((c) => !c.alone)).toBe(true);
      expect(env.events.errors.map((e) => e.phase)).toEqual(['flush']);
    }
  });
});
