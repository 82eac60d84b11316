/**
 * The private kafkajs copy's consumer group keeps its member id across the consumer's restarts
 * (kafkajs makes a new `ConsumerGroup` with the same `cluster` on each): kafkajs's own JoinGroup,
 * LeaveGroup and UNKNOWN_MEMBER_ID handling, against a fake coordinator. On the real broker, with a
 * broker restart: broker-restart.integration.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { keepingMemberId, loadKafkaJs, MAX_RESTART_DELAY_MS, promptRestart } from '../src/internal/kafkajs.js';

const loaded = loadKafkaJs();
const { kafkajs } = loaded;
const ConsumerGroup = keepingMemberId(loaded.ConsumerGroup);
const quiet = { namespace: () => quiet, debug() {}, info() {}, warn() {}, error() {} };
const noAssignment = kafkajs.AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: {}, userData: Buffer.alloc(0) });

/**
 * A cluster whose coordinator hands out member ids `m-1`, `m-2`, ... to JoinGroups without one
 * (and keeps a known one), or answers with the errors queued in `failJoins`.
 */
function fakeCluster() {
  const joins: string[] = [];
  const leaves: string[] = [];
  const failJoins: object[] = [];
  let next = 0;
  const coordinator = {
    async joinGroup({ memberId }: { memberId: string }) {
      joins.push(memberId);
      const failure = failJoins.shift();
      if (failure !== undefined) throw Object.assign(new Error('join failed'), failure);
      const id = memberId || `m-${++next}`;
      return { generationId: joins.length, leaderId: 'another member', memberId: id, members: [], groupProtocol: 'RoundRobinAssigner' };
    },
    async syncGroup() {
      return { memberAssignment: noAssignment };
    },
    async leaveGroup({ memberId }: { memberId: string }) {
      leaves.push(memberId);
    },
  };
  const cluster = { findGroupCoordinator: async () => coordinator, committedOffsets: () => ({}) };
  return { cluster, joins, leaves, failJoins };
}

/** What kafkajs's consumer does on each (re)start: a new group over the consumer's cluster. */
const groupOf = (cluster: object) =>
  new ConsumerGroup({
    cluster,
    groupId: 'g',
    topics: [],
    topicConfigurations: {},
    logger: quiet,
    instrumentationEmitter: { emit() {} },
    assigners: [],
    retry: { retries: 2, initialRetryTime: 1, maxRetryTime: 1 },
    sessionTimeout: 30_000,
    rebalanceTimeout: 60_000,
  });

describe("the kafkajs copy's consumer group", () => {
  it('starts a new group of the same cluster with the member id the last one had, and joins with it', async () => {
    const { cluster, joins } = fakeCluster();
    const first = groupOf(cluster);
    expect(first.memberId).toBeNull();
    await first.joinAndSync();
    expect(first.memberId).toBe('m-1');

    const restarted = groupOf(cluster);
    expect(restarted.memberId).toBe('m-1');
    await restarted.joinAndSync();
    expect(joins).toEqual(['', 'm-1']);
    expect(restarted.memberId).toBe('m-1');
  });

  it('keeps each cluster its own member id', async () => {
    const a = fakeCluster();
    const b = fakeCluster();
    await groupOf(a.cluster).joinAndSync();
    expect(groupOf(b.cluster).memberId).toBeNull();
    await groupOf(b.cluster).joinAndSync();
    expect(b.joins).toEqual(['']);
    expect(groupOf(a.cluster).memberId).toBe('m-1');
  });

  it('remembers a null member id: after a LeaveGroup, and after UNKNOWN_MEMBER_ID', async () => {
    const { cluster, joins, leaves, failJoins } = fakeCluster();
    const first = groupOf(cluster);
    await first.joinAndSync();
    await first.leave();
    expect(leaves).toEqual(['m-1']);
    const afterLeave = groupOf(cluster);
    expect(afterLeave.memberId).toBeNull();
    await afterLeave.joinAndSync();
    expect(afterLeave.memberId).toBe('m-2');

    // The coordinator no longer knows m-2 (its session expired): kafkajs resets the id and joins anew.
    failJoins.push({ type: 'UNKNOWN_MEMBER_ID' });
    await groupOf(cluster).joinAndSync();
    expect(joins.slice(-2)).toEqual(['m-2', '']);
    expect(groupOf(cluster).memberId).toBe('m-3');

    // Reset and not joined again (the join failed for good): the next group starts as a new member.
    failJoins.push({ type: 'UNKNOWN_MEMBER_ID' }, { type: 'INVALID_SESSION_TIMEOUT', retriable: false });
    await expect(groupOf(cluster).joinAndSync()).rejects.toThrow();
    expect(groupOf(cluster).memberId).toBeNull();

    // The runner resets it directly too (UNKNOWN_MEMBER_ID from a fetch or heartbeat).
    const group = groupOf(cluster);
    await group.joinAndSync();
    group.memberId = null;
    expect(groupOf(cluster).memberId).toBeNull();
  });
});

describe("the kafkajs copy's consumer runner", () => {
  it('restarts a crashed consumer at most MAX_RESTART_DELAY_MS later: a longer retryTime is capped, a shorter one kept', () => {
    const seen: unknown[] = [];
    class Runner {
      readonly onCrash: (error: unknown) => unknown;
      constructor(options: { onCrash: (error: unknown) => unknown }) {
        this.onCrash = options.onCrash;
      }
    }
    const Wrapped = promptRestart(Runner, MAX_RESTART_DELAY_MS);
    const runner = new Wrapped({ onCrash: (error: unknown) => seen.push(error) }) as Runner;
    runner.onCrash(Object.assign(new Error('retries ran out'), { retryTime: 11_416 }));
    runner.onCrash(Object.assign(new Error('soon'), { retryTime: 300 }));
    runner.onCrash(new Error('no retry time'));
    expect(seen.map((e) => (e as { retryTime?: number }).retryTime)).toEqual([MAX_RESTART_DELAY_MS, 300, undefined]);
    expect(MAX_RESTART_DELAY_MS).toBe(1000);
  });
});
