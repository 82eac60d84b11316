/**
 * The FakeBroker's delivery: per-partition batches in `setImmediate` turns (or on the broker clock
 * with `readSpeed`), EOF notices, bounded redelivery of rejected batches, seeks, readers outside
 * the group, offset commits, and settling.
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import type { PartitionBatch, TimerHandle, TopicPartition, TopicPartitionOffset, Watermarks } from '@ksched/core';
import type { Tracker } from '@ksched/core/adapter';
import { tpKey } from '../internal/partition-log.js';
import { GroupCluster } from './groups.js';
import { describeTp, fetchBatch, realClearImmediate, realPerformanceNow, realSetImmediate } from './model.js';
import type { Assignment, Client, Membership } from './model.js';
import { FakePartitionReader } from './reader.js';

/** All broker state and behaviour; FakeBroker, FakeTransport and the faults are views over it. */
export class Cluster extends GroupCluster {
  // ---- read time (readSpeed) -----------------------------------------------------------------

  /** Clock milliseconds a fetch of `count` records takes; 0 without readSpeed. */
  readTimeMs(count: number): number {
    if (this.timerClock === null) return 0;
    return (count / this.recordsPerSecond) * 1000 + this.fetchLatencyMs;
  }

  /**
   * Waits `ms` of the broker clock, or one `setImmediate` turn when `ms` is 0. Resolves true when
   * the time passed, false when `cancel` (handed to `register`) was called first.
   */
  waitReadTime(ms: number, register: (cancel: () => void) => void): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const clock = this.timerClock;
      if (ms > 0 && clock !== null) {
        let handle: TimerHandle | undefined = clock.setTimeout(() => {
          handle = undefined;
          resolve(true);
        }, ms);
        register(() => {
          if (handle !== undefined) clock.clearTimeout(handle);
          handle = undefined;
          resolve(false);
        });
      } else {
        const immediate = realSetImmediate(() => resolve(true));
        register(() => {
          realClearImmediate(immediate);
          resolve(false);
        });
      }
    });
  }

  // ---- delivery -------------------------------------------------------------------------------

  wakeAll(): void {
    for (const m of this.memberships) this.schedulePump(m);
  }

  schedulePump(m: Membership): void {
    if (m.pumpScheduled || m.state !== 'active') return;
    m.pumpScheduled = true;
    realSetImmediate(() => {
      m.pumpScheduled = false;
      this.pump(m);
    });
  }

  pump(m: Membership): void {
    if (m.state !== 'active') return;
    for (const a of m.assigned.values()) {
      if (!a.deliverable || a.revoking || a.stopped || a.inFlight) continue;
      const before = { position: a.position, eofNotified: a.eofNotified };
      const batch = this.nextBatch(a, m.client.maxBatchSize);
      if (batch) a.inFlight = this.deliver(m, a, batch, before);
    }
  }

  /** The next batch for an assignment (moving its position), or null when there is nothing to tell. */
  nextBatch(a: Assignment, maxBatchSize: number): PartitionBatch | null {
    const log = a.log;
    // Below the log start (compaction, delete-records): auto.offset.reset = earliest.
    if (a.position < log.low) a.position = log.low;
    const lso = log.lastStable;
    if (a.position < lso) {
      const batch = fetchBatch(log, a.position, maxBatchSize);
      a.position = batch.position;
      a.eofNotified = batch.records.length === 0;
      return batch;
    }
    if (!a.eofNotified) {
      a.eofNotified = true;
      return { topic: log.topic, partition: log.partition, records: [], position: a.position, highWatermark: lso };
    }
    return null;
  }

  async deliver(
    m: Membership,
    a: Assignment,
    batch: PartitionBatch,
    before: { readonly position: number; readonly eofNotified: boolean },
  ): Promise<void> {
    const generation = a.generation;
    try {
      const readTime = this.readTimeMs(batch.records.length);
      if (readTime > 0) {
        const passed = await this.waitReadTime(readTime, (cancel) => (a.cancelFetch = cancel));
        a.cancelFetch = null;
        // A seek, revocation or departure during the fetch discards its batch.
        const current = m.assigned.get(tpKey(a.log.topic, a.log.partition)) === a;
        if (!passed || a.generation !== generation || a.revoking || m.state !== 'active' || !current) return;
      }
      await m.listener.onBatch(batch);
      if (a.generation === generation) a.failures = 0;
    } catch (error) {
      this.reportError(m, error);
      if (a.generation === generation && m.assigned.get(tpKey(a.log.topic, a.log.partition)) === a) {
        a.failures++;
        if (a.failures > this.maxBatchRetries) {
          a.stopped = true;
          this.reportError(
            m,
            new TransportError(
              `onBatch for ${describeTp(batch)} rejected ${a.failures} times in a row; the FakeBroker stopped delivering ` +
                `this partition to ${m.memberId} until seekToBeginning or reassignment`,
            ),
          );
        } else {
          // "Rejecting does not skip the batch": it is delivered again.
          a.position = before.position;
          a.eofNotified = before.eofNotified;
        }
      }
    } finally {
      a.inFlight = null;
      this.schedulePump(m);
    }
  }

  /**
   * Moves an assigned partition's position to `offset` (`'low'`: the low watermark), clamped into
   * [low, last stable offset]; a batch fetched before is not delivered after (generation bump).
   */
  seek(client: Client, tp: TopicPartition, offset: number | 'low', operation: 'seek' | 'seekToBeginning'): Watermarks {
    this.requireConnected(client, operation);
    const log = this.log(tp);
    if (offset !== 'low' && (typeof offset !== 'number' || !Number.isInteger(offset))) {
      throw new TransportError(`${operation}: offset must be an integer, got ${String(offset)} for ${describeTp(tp)}`);
    }
    const a = client.membership?.assigned.get(tpKey(log.topic, log.partition));
    if (a === undefined) throw new TransportError(`${operation}: ${describeTp(tp)} is not assigned to ${client.clientId}`);
    const high = log.lastStable;
    a.position = offset === 'low' ? log.low : Math.min(Math.max(offset, log.low), high);
    a.eofNotified = false;
    a.generation++;
    a.failures = 0;
    a.stopped = false;
    a.cancelFetch?.();
    if (client.membership) this.schedulePump(client.membership);
    return { low: log.low, high };
  }

  /** A reader of one partition outside any group; see {@link FakePartitionReader}. */
  openReader(
    client: Client,
    tp: TopicPartition,
    options: { readonly fromOffset: number },
    readers: Tracker<FakePartitionReader>,
  ): FakePartitionReader {
    this.requireConnected(client, 'openReader');
    const log = this.log(tp);
    const fromOffset = (options as { readonly fromOffset?: unknown } | undefined)?.fromOffset;
    if (typeof fromOffset !== 'number' || !Number.isInteger(fromOffset)) {
      throw new TransportError(`openReader: fromOffset must be an integer, got ${String(fromOffset)} for ${describeTp(tp)}`);
    }
    const reader = new FakePartitionReader(this, client, log, Math.min(Math.max(fromOffset, log.low), log.lastStable), (r) =>
      readers.delete(r),
    );
    readers.add(reader);
    return reader;
  }

  commitOffsets(client: Client, offsets: readonly TopicPartitionOffset[]): void {
    this.requireConnected(client, 'commitOffsets');
    const m = client.membership;
    if (m === null || (m.state !== 'active' && m.state !== 'leaving')) {
      throw new TransportError(`commitOffsets: ${client.clientId} is not a member of a group`);
    }
    for (const o of offsets) {
      const log = this.log(o);
      if (!Number.isInteger(o.offset) || o.offset < 0)
        throw new TransportError(`commitOffsets: invalid offset ${String(o.offset)} for ${describeTp(o)}`);
      if (!m.assigned.has(tpKey(log.topic, log.partition))) {
        throw new TransportError(`commitOffsets: ${describeTp(o)} is not assigned to ${m.memberId} (rebalanced away?)`);
      }
    }
    const copy = offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: o.offset }));
    this.commits.push({ groupId: m.group.id, memberId: m.memberId, clientId: client.clientId, offsets: copy });
    let byTp = this.committed.get(m.group.id);
    if (byTp === undefined) {
      byTp = new Map();
      this.committed.set(m.group.id, byTp);
    }
    for (const o of copy) byTp.set(tpKey(o.topic, o.partition), o.offset);
  }

  // ---- settling -------------------------------------------------------------------------------

  busyReasons(): string[] {
    const reasons: string[] = [];
    for (const group of this.groups.values()) {
      if (group.pendingOps > 0) {
        reasons.push(`group ${group.id}: rebalance in progress${group.waitingFor ? ` (waiting for ${group.waitingFor})` : ''}`);
      }
    }
    for (const m of this.memberships) {
      if (m.state !== 'active') continue;
      if (m.pumpScheduled) reasons.push(`${m.memberId}: delivery scheduled`);
      for (const a of m.assigned.values()) {
        const where = `${m.memberId} ${describeTp(a.log)}`;
        // A fetch waiting for its read time (readSpeed) waits for the clock, which settling cannot move.
        if (a.inFlight) {
          if (a.cancelFetch === null) reasons.push(`${where}: onBatch has not settled`);
        } else if (a.deliverable && !a.revoking && !a.stopped) {
          if (Math.max(a.position, a.log.low) < a.log.lastStable || !a.eofNotified) reasons.push(`${where}: records to deliver`);
        }
      }
    }
    return reasons;
  }

  async settle(timeoutMs: number): Promise<void> {
    const deadline = realPerformanceNow() + timeoutMs;
    let idleChecks = 0;
    for (;;) {
      await new Promise<void>((resolve) => realSetImmediate(resolve));
      const busy = this.busyReasons();
      if (busy.length === 0) {
        if (++idleChecks >= 2) return;
        continue;
      }
      idleChecks = 0;
      if (realPerformanceNow() > deadline) {
        throw new Error(
          `FakeBroker.settle: still busy after ${timeoutMs} ms: ${busy.join('; ')}. A callback that awaits a FakeClock ` +
            `timer, a paused transaction or another never-settling promise keeps the broker busy.`,
        );
      }
    }
  }
}

const clusters = new WeakMap<object, Cluster>();

/** The cluster behind a FakeBroker. */
export function clusterOf(broker: object): Cluster {
  const cluster = clusters.get(broker);
  if (cluster === undefined) throw new TypeError('not a FakeBroker');
  return cluster;
}

/** Registers the cluster behind a FakeBroker. */
export function registerCluster(broker: object, cluster: Cluster): void {
  clusters.set(broker, cluster);
}
