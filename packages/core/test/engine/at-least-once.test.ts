/**
 * At-least-once dispatch (the default, no transactions): a failed flush is retried from the buffer,
 * nothing is lost, and the duplicates it may cause are reported (`possibleDuplicate`).
 */
import { describe, expect, it } from 'vitest';
import { Header, TransportError, type ProduceRecord, type RecordMetadata } from '@ksched/core';
import { createTestEnvironment, type TestEnvironment } from '@ksched/testkit';
import { MINUTE, SECOND, deliveryCounts, duplicates, expectExactlyOnce, interceptTransport } from './helpers.js';

async function scheduleMany(env: TestEnvironment, count: number, at: number): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 0; i < count; i++)
    keys.push((await env.schedule({ message: { topic: 'events', payload: `p${i}` }, at, envelope: { partition: 0 } })).key);
  return keys;
}

/** Every delivered schedule has exactly one `dispatched` event, and every duplicate is flagged. */
function expectAccounted(env: TestEnvironment, keys: readonly string[]): void {
  const delivered = env.dispatched('events');
  expect(expectExactlyOnce(delivered, keys).lost).toEqual([]);
  const events = env.events.dispatched;
  expect(events.map((e) => e.key).sort()).toEqual([...keys].sort());
  const flagged = new Set(events.filter((e) => e.possibleDuplicate).map((e) => e.key));
  for (const [key] of duplicates(delivered)) expect(flagged.has(key), `duplicate ${key} flagged`).toBe(true);
  expect(env.scheduler.partitions()[0]!.dispatched).toBe(keys.length);
}

describe('at-least-once dispatch', () => {
  it('a tombstone failing mid-batch: written targets are produced again, and each duplicate is flagged possibleDuplicate', async () => {
    await using env = await createTestEnvironment({ scheduler: { retryBackoffMs: 100 } });
    const keys = await scheduleMany(env, 6, env.clock.now() + SECOND);
    // The 4th tombstone fails: everything produced before it in that flush stays written.
    const fault = env.broker.faults.failProduce({ topic: 'scheduled_messages', source: 'produce', nth: 4 });
    await env.advance(SECOND);
    expect(fault.triggered).toBe(1);
    await env.advance(SECOND);
    const delivered = env.dispatched('events');
    expect(duplicates(delivered).length).toBeGreaterThan(0);
    expect(delivered.length).toBe(keys.length + duplicates(delivered).reduce((n, [, c]) => n + c - 1, 0));
    expectAccounted(env, keys);
    expect(env.events.errors.map((e) => e.phase)).toEqual(['flush']);
  });

  it('a target failing mid-batch: the targets written before it are produced again and flagged; no tombstone was written for any', async () => {
    await using env = await createTestEnvironment({ scheduler: { retryBackoffMs: 100 } });
    const keys = await scheduleMany(env, 6, env.clock.now() + SECOND);
    env.broker.faults.failProduce({ topic: 'events', source: 'produce', nth: 3 });
    await env.advance(SECOND);
    // Targets go first; the batch's tombstones only after every target was acknowledged.
    expect(env.broker.readCommitted('events')).toHaveLength(2);
    expect(env.broker.readCommitted('scheduled_messages').filter((r) => r.value === null)).toHaveLength(0);
    await env.advance(SECOND);
    expect(duplicates(env.dispatched('events')).map(([, n]) => n)).toEqual([2, 2]);
    expectAccounted(env, keys);
  });

  it('a produce that fails after writing only some records, not in order (parallel requests per partition), loses nothing', async () => {
    await using env = await createTestEnvironment({ start: false, scheduler: { retryBackoffMs: 100 } });
    let failed = false;
    await env.addMember(
      {},
      {
        wrapTransport: (t) => {
          const wrapped = interceptTransport(t, {});
          return {
            ...wrapped,
            // Once: the schedules-topic partition acknowledges, the target partition times out.
            async produce(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
              if (failed || !records.some((r) => r.topic === 'events')) return t.produce(records);
              failed = true;
              await t.produce(records.filter((r) => r.topic !== 'events'));
              throw new TransportError('request to the target partition leader timed out', { retriable: true });
            },
          };
        },
      },
    );
    const keys = await scheduleMany(env, 4, env.clock.now() + SECOND);
    await env.advance(MINUTE);
    expect(failed).toBe(true);
    expect(expectExactlyOnce(env.dispatched('events'), keys)).toEqual({ lost: [], duplicated: [], unexpected: [] });
    expectAccounted(env, keys);
  });

  it('repeated failures back off and then deliver every schedule; flagged duplicates cover every extra copy', async () => {
    await using env = await createTestEnvironment({ scheduler: { retryBackoffMs: 100, flushBatchSize: 6 } });
    const keys = await scheduleMany(env, 12, env.clock.now() + SECOND);
    env.broker.faults.failProduce({ topic: 'scheduled_messages', source: 'produce', nth: 2, times: 1 });
    env.broker.faults.failProduce({ topic: 'scheduled_messages', source: 'produce', nth: 5, times: 2 });
    await env.advance(MINUTE);
    const counts = deliveryCounts(env.dispatched('events'));
    expect([...counts.keys()].sort()).toEqual([...keys].sort());
    expectAccounted(env, keys);
    // Targets keep their content on every copy.
    for (const m of env.dispatched('events')) expect(m.headers[Header.sourceKey]).toBe(m.scheduleKey);
  });
});
