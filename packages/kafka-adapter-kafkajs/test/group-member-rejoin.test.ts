/**
 * The kafkajs group member after a `REBALANCING` that kafkajs does not follow with a join.
 *
 * After a broker restart kafkajs's fetch can fail with "not the coordinator": kafkajs emits
 * `REBALANCING` (the member revokes every partition) and rejoins, but when that JoinGroup fails
 * with an error kafkajs does not retry there ("the coordinator is loading"), its runner goes back
 * to fetching the old assignment under the old generation and never emits `GROUP_JOIN`. Seen in
 * chaos broker-restart runs: every partition stayed revoked and dispatch stopped for good. The
 * member now takes its assignment back when a heartbeat succeeds and the group's description
 * still gives it the same partitions.
 *
 * These drive the member with a stand-in kafkajs consumer (events and `describeGroup` only); the
 * real-broker path is the chaos harness's broker-restart trial.
 */
import type { GroupListener, TopicPartition } from '@ksched/core';
import { noopLogger } from '@ksched/core';
import type { GroupMemberHandle, Tracker } from '@ksched/core/adapter';
import { describe, expect, it } from 'vitest';
import { GroupMember, sameAssignment, stableAssignmentOf } from '../src/internal/group-member.js';
import { kafkajs } from '../src/internal/kafkajs.js';
import { parseKafkaJsTransportOptions } from '../src/options.js';

const TOPIC = 'schedules';
const encode = (assignment: Record<string, number[]>): Buffer =>
  kafkajs.AssignerProtocol.MemberAssignment.encode({ version: 0, assignment, userData: Buffer.alloc(0) });

type Handler = (event: { payload: Record<string, unknown> }) => void;

/** The kafkajs consumer surface the member uses: events it can fire, and a group description it can answer. */
function fakeConsumer() {
  const handlers = new Map<string, Handler[]>();
  const consumer = {
    events: consumerEvents(),
    description: { state: 'Stable', members: [] as { memberId: string; memberAssignment: Buffer }[] },
    describeCalls: 0,
    on(name: string, handler: Handler) {
      handlers.set(name, [...(handlers.get(name) ?? []), handler]);
      return () =>
        handlers.set(
          name,
          (handlers.get(name) ?? []).filter((h) => h !== handler),
        );
    },
    fire(name: string, payload: Record<string, unknown>) {
      for (const h of handlers.get(name) ?? []) h({ payload });
    },
    async describeGroup() {
      consumer.describeCalls++;
      return { groupId: 'g', protocol: 'RoundRobinAssigner', protocolType: 'consumer', ...consumer.description };
    },
    async connect() {},
    async subscribe() {},
    async run() {},
    async disconnect() {},
    async commitOffsets() {},
    pause() {},
    resume() {},
    seek() {},
  };
  return consumer;
}

/** kafkajs's consumer event names (the same object every consumer exposes as `events`). */
function consumerEvents(): Record<string, string> {
  const kafka = new kafkajs.Kafka({ brokers: ['127.0.0.1:1'], logLevel: kafkajs.logLevel.NOTHING });
  return kafka.consumer({ groupId: 'names-only' }).events as unknown as Record<string, string>;
}

function recordingListener() {
  const log: string[] = [];
  const fmt = (ps: readonly TopicPartition[]) =>
    ps
      .map((p) => p.partition)
      .sort()
      .join(',');
  const listener: GroupListener = {
    onAssigned: (ps) => void log.push(`assigned ${fmt(ps)}`),
    onRevoked: (ps) => void log.push(`revoked ${fmt(ps)}`),
    onBatch: () => {},
    onError: () => {},
  };
  return { listener, log };
}

async function joinedMember() {
  const consumer = fakeConsumer();
  const { listener, log } = recordingListener();
  const members: Tracker<GroupMemberHandle> = { add() {}, delete() {} } as unknown as Tracker<GroupMemberHandle>;
  const member = new GroupMember({
    groupId: 'g',
    topics: [TOPIC],
    listener,
    logger: noopLogger,
    members,
    watermarks: async () => ({ low: 0, high: 0 }),
    kafka: { consumer: () => consumer } as never,
    options: parseKafkaJsTransportOptions({ brokers: ['127.0.0.1:1'] }),
    topicWatermarks: async () => new Map([0, 1, 2].map((p) => [p, { low: 0, high: 0 }])),
    committedOffsets: async () => new Map(),
  });
  await member.join();
  return { consumer, member, log };
}

const settle = () => new Promise((r) => setTimeout(r, 20));

describe('a REBALANCING that kafkajs does not follow with a join', () => {
  it('takes the assignment back once a heartbeat succeeds and the stable group still gives it the same partitions', async () => {
    const { consumer, log } = await joinedMember();
    const e = consumer.events as Record<string, string>;
    consumer.fire(e.GROUP_JOIN!, { memberId: 'm-1', memberAssignment: { [TOPIC]: [0, 2] } });
    await settle();
    expect(log).toEqual(['assigned 0,2']);

    consumer.fire(e.REBALANCING!, {});
    await settle();
    expect(log).toEqual(['assigned 0,2', 'revoked 0,2']);

    // The coordinator is still loading: the group is not stable yet, nothing is taken back.
    consumer.description = { state: 'PreparingRebalance', members: [{ memberId: 'm-1', memberAssignment: encode({ [TOPIC]: [0, 2] }) }] };
    consumer.fire(e.HEARTBEAT!, { memberId: 'm-1', groupGenerationId: 3 });
    await settle();
    expect(consumer.describeCalls).toBe(1);
    expect(log).toEqual(['assigned 0,2', 'revoked 0,2']);

    // Stable, this member, the same partitions: kafkajs fetches them again, so the member holds them again.
    consumer.description = { state: 'Stable', members: [{ memberId: 'm-1', memberAssignment: encode({ [TOPIC]: [2, 0] }) }] };
    consumer.fire(e.HEARTBEAT!, { memberId: 'm-1', groupGenerationId: 3 });
    await settle();
    expect(log).toEqual(['assigned 0,2', 'revoked 0,2', 'assigned 0,2']);

    // Held again: later heartbeats do not ask the coordinator.
    consumer.fire(e.HEARTBEAT!, { memberId: 'm-1', groupGenerationId: 3 });
    await settle();
    expect(consumer.describeCalls).toBe(2);
  });

  it('leaves partitions revoked when the group gives this member other partitions, or does not know it', async () => {
    const { consumer, log } = await joinedMember();
    const e = consumer.events as Record<string, string>;
    consumer.fire(e.GROUP_JOIN!, { memberId: 'm-1', memberAssignment: { [TOPIC]: [0, 1] } });
    consumer.fire(e.REBALANCING!, {});
    await settle();

    consumer.description = { state: 'Stable', members: [{ memberId: 'm-1', memberAssignment: encode({ [TOPIC]: [1] }) }] };
    consumer.fire(e.HEARTBEAT!, { memberId: 'm-1', groupGenerationId: 4 });
    await settle();
    consumer.description = { state: 'Stable', members: [{ memberId: 'm-2', memberAssignment: encode({ [TOPIC]: [0, 1] }) }] };
    consumer.fire(e.HEARTBEAT!, { memberId: 'm-1', groupGenerationId: 4 });
    await settle();
    expect(consumer.describeCalls).toBe(2);
    expect(log).toEqual(['assigned 0,1', 'revoked 0,1']);

    // kafkajs's own rejoin still works as before.
    consumer.fire(e.GROUP_JOIN!, { memberId: 'm-1', memberAssignment: { [TOPIC]: [1] } });
    await settle();
    expect(log).toEqual(['assigned 0,1', 'revoked 0,1', 'assigned 1']);
  });

  it('does not ask the coordinator when kafkajs rejoins normally, nor for heartbeats of another member id', async () => {
    const { consumer, log } = await joinedMember();
    const e = consumer.events as Record<string, string>;
    consumer.fire(e.GROUP_JOIN!, { memberId: 'm-1', memberAssignment: { [TOPIC]: [0] } });
    consumer.fire(e.HEARTBEAT!, { memberId: 'm-1', groupGenerationId: 1 });
    consumer.fire(e.REBALANCING!, {});
    consumer.fire(e.HEARTBEAT!, { memberId: 'm-9', groupGenerationId: 1 });
    consumer.fire(e.GROUP_JOIN!, { memberId: 'm-1', memberAssignment: { [TOPIC]: [0] } });
    consumer.fire(e.HEARTBEAT!, { memberId: 'm-1', groupGenerationId: 2 });
    await settle();
    expect(consumer.describeCalls).toBe(0);
    expect(log).toEqual(['assigned 0', 'revoked 0', 'assigned 0']);
  });
});

describe('stableAssignmentOf and sameAssignment', () => {
  it('reads a member assignment only from a stable group', () => {
    const members = [
      { memberId: 'a', memberAssignment: encode({ t: [3, 1] }) },
      { memberId: 'b', memberAssignment: Buffer.alloc(0) },
    ];
    expect(stableAssignmentOf({ state: 'Stable', members } as never, 'a')).toEqual({ t: [3, 1] });
    expect(stableAssignmentOf({ state: 'Stable', members } as never, 'b')).toEqual({});
    expect(stableAssignmentOf({ state: 'Stable', members } as never, 'c')).toBeUndefined();
    expect(stableAssignmentOf({ state: 'CompletingRebalance', members } as never, 'a')).toBeUndefined();
  });

  it('compares partitions, not order or empty topics', () => {
    expect(sameAssignment({ t: [1, 3] }, { t: [3, 1], u: [] })).toBe(true);
    expect(sameAssignment({ t: [1, 3] }, { t: [1] })).toBe(false);
    expect(sameAssignment({ t: [1] }, { u: [1] })).toBe(false);
    expect(sameAssignment({}, {})).toBe(true);
  });
});
