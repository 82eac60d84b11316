/**
 * Readiness (issue 13 item 7): a member is ready once every partition it holds is loaded, and a
 * member holding none is ready too once it has joined its group (a standby: more members than
 * partitions); before its first join it is not.
 */
import { describe, expect, it } from 'vitest';
import { Scheduler, type GroupListener, type Transport } from '@ksched/core';
import { createTestEnvironment, type TestEnvironment } from '@ksched/testkit';
import { MINUTE, rawSchedule, seconds } from './helpers.js';

/** `inner` with the group listener given to `subscribe` replaced by `wrap(listener)`. */
function wrapListener(inner: Transport, wrap: (listener: GroupListener) => GroupListener): Transport {
  return new Proxy(inner, {
    get(target, property) {
      if (property === 'subscribe') {
        return (options: Parameters<Transport['subscribe']>[0]) => target.subscribe({ ...options, listener: wrap(options.listener) });
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function gate(): { readonly wait: Promise<void>; open(): void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** The default group of a scheduler on the environment's schedules topic. */
const G = 'ksched_scheduled_messages';

const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

function scheduler(env: TestEnvironment, transport: Transport): Scheduler {
  return new Scheduler({ transport, clock: env.clock, options: { topics: [env.topic] } });
}

describe('readiness', () => {
  it('a standby (joined, no partitions) is ready and says so; it takes the partition over when the owner leaves', async () => {
    await using env = await createTestEnvironment({ partitions: 1 });
    await env.schedule({ message: { topic: 'events', payload: 'p' }, at: env.clock.now() + 10 * MINUTE });
    const owner = env.members[0]!;
    const standby = await env.addMember();
    expect(owner.scheduler.partitions()).toHaveLength(1);
    expect(standby.scheduler.partitions()).toHaveLength(0);
    expect(standby.scheduler.readiness()).toEqual({ ready: true, reason: `standby: member of group ${G} with no partitions` });
    expect(standby.scheduler.isReady()).toBe(true);
    expect(owner.scheduler.readiness()).toEqual({ ready: true, reason: `1 partition loaded (group ${G})` });

    await env.stopMember(owner);
    expect(owner.scheduler.readiness()).toEqual({ ready: false, reason: 'not running' });
    expect(standby.scheduler.partitions()).toHaveLength(1);
    expect(standby.scheduler.readiness()).toEqual({ ready: true, reason: `1 partition loaded (group ${G})` });
  });

  it('not ready before the first join completes ("joining group"), nor while a partition loads ("loading k of n")', async () => {
    await using env = await createTestEnvironment({ start: false, partitions: 2 });
    // Partition 0 holds a schedule, partition 1 is empty (loaded as soon as it is sought).
    await env.produce([rawSchedule({ topic: env.topic, key: 'p0', epoch: seconds(env.clock.now() + 10 * MINUTE), partition: 0 })]);
    const assigning = gate();
    const batches = gate();
    let assignedCalled = false;
    const s = scheduler(
      env,
      wrapListener(env.broker.createTransport({ clientId: 'gated', clock: env.clock }), (listener) => ({
        ...listener,
        onAssigned: async (partitions) => {
          assignedCalled = true;
          await assigning.wait;
          await listener.onAssigned(partitions);
        },
        onBatch: async (batch) => {
          // Partition 0 stays loading until the gate opens.
          await batches.wait;
          await listener.onBatch(batch);
        },
      })),
    );
    expect(s.readiness()).toEqual({ ready: false, reason: 'not running' });
    const started = s.start();
    for (let i = 0; i < 100 && !assignedCalled; i++) await turns(1);
    expect(assignedCalled).toBe(true);
    expect(s.readiness()).toEqual({ ready: false, reason: `joining group ${G}` });
    assigning.open();
    await started;
    await turns(20);
    expect(s.partitions()).toHaveLength(2);
    expect(s.readiness()).toEqual({ ready: false, reason: 'loading 1 of 2 partitions' });
    expect(s.isReady()).toBe(false);
    batches.open();
    await env.settle();
    expect(s.readiness()).toEqual({ ready: true, reason: `2 partitions loaded (group ${G})` });
    await s.stop();
  });

  it('over a transport without onJoined, a member is only ready with partitions (a standby cannot be told from a joining member)', async () => {
    await using env = await createTestEnvironment({ partitions: 1 });
    const s = scheduler(
      env,
      wrapListener(env.broker.createTransport({ clientId: 'no-joined', clock: env.clock }), (listener) => {
        const { onJoined: _ignored, ...rest } = listener;
        return rest;
      }),
    );
    await s.start();
    await env.settle();
    expect(s.partitions()).toHaveLength(0);
    expect(s.readiness()).toEqual({ ready: false, reason: `joining group ${G}` });
    await env.stopMember(env.members[0]!);
    expect(s.partitions()).toHaveLength(1);
    expect(s.readiness()).toEqual({ ready: true, reason: `1 partition loaded (group ${G})` });
    await s.stop();
  });
});
