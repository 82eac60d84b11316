/**
 * The FakeBroker's consumer groups: joining and leaving, the range and round-robin assignors,
 * rebalances (revocations awaited before assignments, then every member's `onJoined`), and the
 * listener's group callbacks.
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import type { SubscribeOptions, TopicPartition, TopicPartitionOffset, Watermarks } from '@ksched/core';
import type { GroupMemberHandle, Tracker } from '@ksched/core/adapter';
import { tpKey } from '../internal/partition-log.js';
import type { PartitionLog } from '../internal/partition-log.js';
import { Group, isDropped, Membership, sortedTps, tpOf } from './model.js';
import type { Assignment, Client } from './model.js';
import { TransactionCluster } from './transactions.js';

/** Transactions plus consumer groups; the delivery layer completes it. */
export abstract class GroupCluster extends TransactionCluster {
  /** Delivers what `m` has to deliver, on a later turn. */
  abstract schedulePump(m: Membership): void;
  /** See `Transport.seek`. */
  abstract seek(client: Client, tp: TopicPartition, offset: number | 'low', operation: 'seek' | 'seekToBeginning'): Watermarks;
  /** See `Transport.commitOffsets`. */
  abstract commitOffsets(client: Client, offsets: readonly TopicPartitionOffset[]): void;

  protected topicCreated(name: string): void {
    for (const group of this.groups.values()) {
      if (group.members.some((m) => m.state === 'active' && m.topics.includes(name))) {
        void this.enqueue(group, () => this.rebalance(group));
      }
    }
  }

  // ---- groups ---------------------------------------------------------------------------------

  group(groupId: string): Group {
    let group = this.groups.get(groupId);
    if (group === undefined) {
      group = new Group(groupId);
      this.groups.set(groupId, group);
    }
    return group;
  }

  enqueue(group: Group, op: () => Promise<void>): Promise<void> {
    group.pendingOps++;
    const run = group.queue.then(op).finally(() => {
      group.pendingOps--;
    });
    group.queue = run.catch(() => {});
    return run;
  }

  /** Joins `client` to a group; the member handle goes to `members` before the join's rebalance. */
  async subscribe(client: Client, options: SubscribeOptions, members: Tracker<GroupMemberHandle>): Promise<GroupMemberHandle> {
    this.requireConnected(client, 'subscribe');
    if (client.membership) throw new TransportError(`subscribe: ${client.clientId} is already subscribed; close that subscription first`);
    if (typeof options.groupId !== 'string' || options.groupId.length === 0) throw new TransportError('subscribe: groupId is required');
    if (!Array.isArray(options.topics) || options.topics.length === 0)
      throw new TransportError('subscribe: topics must be a non-empty array');
    const group = this.group(options.groupId);
    const membership = new Membership(`${client.clientId}-${++this.memberSeq}`, client, group, [...options.topics], options.listener);
    client.membership = membership;
    this.memberships.add(membership);
    const handle: GroupMemberHandle = {
      close: () => this.leave(membership),
      seek: async (tp, offset) => this.seek(client, tp, offset, 'seek'),
      seekToBeginning: async (tp) => this.seek(client, tp, 'low', 'seekToBeginning'),
      commitOffsets: async (offsets) => this.commitOffsets(client, offsets),
    };
    membership.onRemoved = () => members.delete(handle);
    members.add(handle);
    await this.enqueue(group, async () => {
      if (membership.state !== 'joining') return;
      membership.state = 'active';
      group.members.push(membership);
      await this.rebalance(group);
    });
    return handle;
  }

  leave(m: Membership): Promise<void> {
    if (m.state === 'left' || m.state === 'dropped' || m.state === 'leaving') return m.left.promise;
    m.state = 'leaving';
    for (const a of m.assigned.values()) {
      a.revoking = true;
      a.cancelFetch?.();
    }
    const group = m.group;
    void this.enqueue(group, async () => {
      if (m.state !== 'leaving') return;
      await this.revoke(m, [...m.assigned.values()]);
      if (m.state !== 'leaving') return;
      this.removeMember(m, 'left');
      m.left.resolve();
      await this.rebalance(group);
    });
    return m.left.promise;
  }

  drop(m: Membership): Promise<void> {
    if (m.state === 'left' || m.state === 'dropped') return Promise.resolve();
    const group = m.group;
    this.removeMember(m, 'dropped');
    m.gone.resolve();
    m.left.resolve();
    return this.enqueue(group, () => this.rebalance(group));
  }

  removeMember(m: Membership, state: 'left' | 'dropped'): void {
    m.state = state;
    const group = m.group;
    group.members = group.members.filter((other) => other !== m);
    for (const [key, a] of m.assigned) {
      a.cancelFetch?.();
      if (group.owners.get(key) === m) group.owners.delete(key);
    }
    m.assigned.clear();
    if (m.client.membership === m) m.client.membership = null;
    this.memberships.delete(m);
    m.onRemoved();
  }

  computeAssignment(group: Group): Map<Membership, PartitionLog[]> {
    const members = group.members.filter((m) => m.state === 'active');
    const result = new Map<Membership, PartitionLog[]>(members.map((m) => [m, []]));
    const topicNames = [...new Set(members.flatMap((m) => m.topics))].filter((t) => this.topics.has(t)).sort();
    if (this.assignor === 'range') {
      for (const name of topicNames) {
        const logs = this.topics.get(name)!.logs;
        const subscribers = members.filter((m) => m.topics.includes(name));
        const base = Math.floor(logs.length / subscribers.length);
        const extra = logs.length % subscribers.length;
        let start = 0;
        subscribers.forEach((m, i) => {
          const count = base + (i < extra ? 1 : 0);
          result.get(m)!.push(...logs.slice(start, start + count));
          start += count;
        });
      }
    } else {
      let cursor = 0;
      for (const name of topicNames) {
        for (const log of this.topics.get(name)!.logs) {
          for (let tries = 0; tries < members.length; tries++) {
            const m = members[cursor++ % members.length]!;
            if (m.topics.includes(name)) {
              result.get(m)!.push(log);
              break;
            }
          }
        }
      }
    }
    return result;
  }

  /** Moves partitions to their target owners: revocations (awaited) first, then assignments. */
  async rebalance(group: Group): Promise<void> {
    const target = this.computeAssignment(group);
    for (const m of [...group.members]) {
      if (m.state !== 'active') continue;
      const keep = new Set((target.get(m) ?? []).map((log) => tpKey(log.topic, log.partition)));
      const lost = [...m.assigned].filter(([key]) => !keep.has(key)).map(([, a]) => a);
      await this.revoke(m, lost);
    }
    for (const [m, logs] of target) {
      if (m.state !== 'active') continue;
      const gained = logs.filter((log) => !group.owners.has(tpKey(log.topic, log.partition)));
      if (gained.length > 0) await this.assign(m, gained);
    }
    // Every member rejoined: each is told its whole assignment, possibly empty (a standby).
    for (const m of [...group.members]) {
      if (m.state === 'active') await this.joined(m);
    }
  }

  /** `onJoined` (when the listener has it) with the partitions `m` holds now. */
  async joined(m: Membership): Promise<void> {
    if (m.listener.onJoined === undefined) return;
    const partitions = sortedTps(m.assigned.values());
    const group = m.group;
    group.waitingFor = `${m.memberId}: onJoined`;
    await Promise.race([this.callListener(m, 'onJoined', partitions), m.gone.promise]);
    group.waitingFor = null;
  }

  async revoke(m: Membership, lost: readonly Assignment[]): Promise<void> {
    if (lost.length === 0) return;
    const group = m.group;
    for (const a of lost) {
      a.revoking = true;
      a.cancelFetch?.();
    }
    group.waitingFor = `${m.memberId}: onBatch in flight before revocation`;
    await Promise.race([Promise.all(lost.map((a) => a.inFlight)), m.gone.promise]);
    if (isDropped(m)) return;
    group.waitingFor = `${m.memberId}: onRevoked`;
    await Promise.race([
      this.callListener(
        m,
        'onRevoked',
        lost.map((a) => tpOf(a.log)),
      ),
      m.gone.promise,
    ]);
    group.waitingFor = null;
    if (isDropped(m)) return;
    for (const a of lost) {
      const key = tpKey(a.log.topic, a.log.partition);
      if (m.assigned.get(key) !== a) continue;
      m.assigned.delete(key);
      if (group.owners.get(key) === m) group.owners.delete(key);
    }
  }

  async assign(m: Membership, logs: readonly PartitionLog[]): Promise<void> {
    const group = m.group;
    const added = logs.map((log) => {
      const a: Assignment = {
        log,
        position: log.low,
        deliverable: false,
        revoking: false,
        eofNotified: false,
        inFlight: null,
        generation: 0,
        failures: 0,
        stopped: false,
        cancelFetch: null,
      };
      const key = tpKey(log.topic, log.partition);
      m.assigned.set(key, a);
      group.owners.set(key, m);
      return a;
    });
    group.waitingFor = `${m.memberId}: onAssigned`;
    await Promise.race([this.callListener(m, 'onAssigned', logs.map(tpOf)), m.gone.promise]);
    group.waitingFor = null;
    if (isDropped(m)) return;
    for (const a of added) a.deliverable = true;
    this.schedulePump(m);
  }

  async callListener(m: Membership, name: 'onAssigned' | 'onRevoked' | 'onJoined', partitions: TopicPartition[]): Promise<void> {
    try {
      await m.listener[name]?.(partitions);
    } catch (error) {
      this.reportError(m, error);
    }
  }

  reportError(m: Membership, error: unknown): void {
    if (m.state === 'dropped') return;
    const onError = m.listener.onError;
    if (onError === undefined) {
      // Nobody to tell: surface it as an uncaught error so that the test run fails loudly.
      queueMicrotask(() => {
        throw error;
      });
      return;
    }
    try {
      onError.call(m.listener, error);
    } catch (thrown) {
      queueMicrotask(() => {
        throw thrown;
      });
    }
  }
}
