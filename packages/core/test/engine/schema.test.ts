/**
 * Schema versions (ksched.md §3.8, reference §4.10): a newer version halts that partition only,
 * with a clear error and a `stopped` state report; other partitions go on.
 */
import { describe, expect, it } from 'vitest';
import { IncompatibleSchemaError } from '@ksched/core';
import { createTestEnvironment } from '@ksched/testkit';
import { MINUTE, SECOND, rawSchedule, seconds } from './helpers.js';

describe('schema versions', () => {
  it('a 2.0.0 record halts its partition only: the other keeps dispatching, the halted one reports stopped', async () => {
    await using env = await createTestEnvironment({ partitions: 2 });
    const nowS = seconds(env.clock.now());
    await env.produce([
      rawSchedule({ key: 'p0-a', epoch: nowS + 1, partition: 0 }),
      rawSchedule({ key: 'p1-before', epoch: nowS + 1, partition: 1 }),
    ]);
    await env.advance(SECOND);
    expect(
      env
        .dispatched('events')
        .map((m) => m.scheduleKey)
        .sort(),
    ).toEqual(['p0-a', 'p1-before']);

    await env.produce([
      rawSchedule({ key: 'p1-v1-due-later', epoch: nowS + 30, partition: 1 }),
      rawSchedule({ key: 'p1-v2', epoch: nowS + 5, partition: 1, version: '2.0.0' }),
      rawSchedule({ key: 'p1-after', epoch: nowS + 5, partition: 1 }),
      rawSchedule({ key: 'p0-b', epoch: nowS + 5, partition: 0 }),
    ]);
    await env.settle();
    const [error] = env.events.errors;
    expect(env.events.errors).toHaveLength(1);
    expect(error).toMatchObject({ partition: 1, phase: 'incompatible' });
    expect(IncompatibleSchemaError.isInstance(error!.error)).toBe(true);
    expect((error!.error as Error).message).toContain('2.0.0');
    expect(env.lastState(1)).toMatchObject({ state: 'stopped', key: 'stopped_state' });
    expect(env.lastState(0)).toMatchObject({ state: 'loaded' });

    const partitions = env.scheduler.partitions();
    expect(partitions.find((p) => p.partition === 1)).toMatchObject({ state: 'stopped', halted: true });
    expect(partitions.find((p) => p.partition === 0)).toMatchObject({ state: 'loaded', halted: false });
    expect(env.scheduler.isReady()).toBe(true);

    await env.advance(MINUTE);
    // Nothing from partition 1 after the halt, not even the schedule buffered before it.
    expect(
      env
        .dispatched('events')
        .map((m) => m.scheduleKey)
        .sort(),
    ).toEqual(['p0-a', 'p0-b', 'p1-before']);
    await env.produce([rawSchedule({ key: 'p0-c', epoch: seconds(env.clock.now()) + 1, partition: 0 })]);
    await env.advance(SECOND);
    expect(env.dispatched('events').map((m) => m.scheduleKey)).toContain('p0-c');
    expect(env.events.errors).toHaveLength(1);
  });

  it('a newer version read during the load halts before loaded; a restart meets it again (halts until upgraded)', async () => {
    await using env = await createTestEnvironment({ start: false });
    const nowS = seconds(env.clock.now());
    await env.produce([rawSchedule({ key: 'ok', epoch: nowS + 1 }), rawSchedule({ key: 'new', epoch: nowS + 1, version: '1.10.0' })]);
    const a = await env.addMember();
    expect(a.events.loaded).toEqual([]);
    expect(a.events.errors.map((e) => e.phase)).toEqual(['incompatible']);
    await env.advance(MINUTE);
    expect(env.dispatched('events')).toEqual([]);
    await env.stopMember(a);
    // A halted partition does not publish a second `stopped` report on shutdown.
    expect(env.states(0).filter((s) => s.state === 'stopped')).toHaveLength(1);
    const b = await env.addMember();
    expect(b.events.errors.map((e) => e.phase)).toEqual(['incompatible']);
  });
});
