/**
 * One consumer-group membership over a kafkajs consumer, with the `GroupListener` guarantees of
 * the port. kafkajs has neither a rebalance listener nor EOF events, so this class derives both:
 *
 * **Assignment and revocation.** kafkajs's classic group protocol is eager: on a rebalance every
 * member rejoins and kafkajs resets the position of every partition it keeps to the committed
 * offset. The `REBALANCING` event (emitted before kafkajs rejoins) therefore revokes every
 * partition, which also makes a member's `onRevoked` run before the JoinGroup that lets another
 * member be assigned its partitions. `GROUP_JOIN` carries the new assignment: it is diffed with
 * what is still held (partitions lost without a `REBALANCING` event, e.g. after the member was
 * expired, are revoked; after a join under a new member id, which means the coordinator had
 * expired this member, every held partition is revoked first; partitions kept are re-seeked to the
 * position the adapter tracks) and new
 * partitions are paused, `onAssigned` is awaited, and only then are they resumed. When kafkajs's
 * rejoin after a `REBALANCING` fails with an error it does not retry there (the coordinator still
 * loading after a broker restart), it fetches its old assignment again with no `GROUP_JOIN`: the
 * next successful heartbeat makes the member describe the group, and when the group is stable and
 * still gives this member that assignment, it is assigned again. Group callbacks
 * run one after the other on a chain; `onRevoked` for a partition waits for its in-flight
 * `onBatch`, and nothing is delivered for it once `onRevoked` has been called.
 *
 * **Position.** The adapter mirrors the offset kafkajs will fetch next: the target of a seek, else
 * `lastOffset() + 1` after a delivered batch (which counts a trailing transaction marker), else
 * `lastOffset + 1` of a batch kafkajs resolved without calling `eachBatch` (only control records or
 * aborted records: observed through the `START_BATCH_PROCESS` instrumentation event with
 * `batchSize` 0). At assignment without a seek by the listener, the adapter seeks to where kafkajs
 * would start (the committed offset, else the low watermark), so the position is always known.
 *
 * **EOF.** When the position reaches the batch's high watermark an empty batch is delivered at
 * once. Otherwise, once the partition made no progress for `eofCheckDelayMs`, its read-committed
 * end offset (the last stable offset) is fetched; at or past it, the empty batch is delivered
 * (this covers a log ending in an open transaction). One notice per position.
 *
 * **Seek staleness.** kafkajs applies a seek on the next fetch and drops responses for a partition
 * while a seek is pending, but a batch fetched before the seek may still be queued, and a
 * control-only batch is resolved without `eachBatch`. Seeking a partition that is being consumed
 * (not inside its own `onBatch`) therefore pauses it and drops everything it delivers until every
 * fetcher has started a new fetch round (batches of a round are all handled before the fetcher's
 * next `FETCH_START`), then resumes it. A seek inside the partition's own `onBatch`, or while it is
 * being assigned (paused, nothing in flight), needs no window: the current batch is not resolved
 * and the seek generation makes every later stale delivery a no-op.
 *
 * @module
 */
import type { PartitionBatch, TopicPartition, TopicPartitionOffset, Watermarks } from '@ksched/core';
import { GroupMemberBase, tpKey } from '@ksched/core/adapter';
import type { HeldPartition, MemberContext } from '@ksched/core/adapter';
import type { Consumer, EachBatchPayload, GroupDescription, Kafka } from 'kafkajs';
import { fromFetchedMessage } from '../map-record.js';
import { kafkaJsErrors, rethrowAs, toTransportError } from '../map-errors.js';
import type { ResolvedKafkaJsTransportOptions } from '../options.js';
import { kafkaRetry } from './kafka.js';
import { kafkajs } from './kafkajs.js';

/** Longest a seek window waits for fetch rounds before it closes anyway (a fetcher that vanished). */
const SEEK_WINDOW_MAX_MS = 60_000;
/**
 * A fetcher not seen for this long is not waited for by a new seek window (a broker that left).
 * Generous: a fetcher is also silent while a slow `onBatch` holds its round.
 */
const RECENT_NODE_MS = 120_000;
/** Longest backoff between two end-offset checks of an idle partition, ms. */
const EOF_BACKOFF_MAX_MS = 5_000;

interface SeekWindow {
  readonly pendingNodes: Set<number>;
  readonly startedAt: number;
}

/** A partition held, with what the member mirrors of kafkajs's fetch. */
interface KafkaJsPartition extends HeldPartition {
  /** The next offset kafkajs fetches, as far as the adapter knows. */
  position: number | undefined;
  /** An end offset the partition had at some point (batch high watermark or read-committed end offset). */
  end: number | undefined;
  seeking: SeekWindow | undefined;
  /** Position of the last EOF notice queued. */
  eofAt: number | undefined;
  eofTimer: NodeJS.Timeout | undefined;
  eofBackoffMs: number;
  eofCheckedPosition: number | undefined;
  /** A kafkajs batch of this partition is inside `eachBatch`. */
  inBatch: boolean;
}

/** What the member needs besides the shell's context: the kafkajs client and the transport's admin queries. */
export interface GroupMemberDeps extends MemberContext {
  readonly kafka: Kafka;
  readonly options: ResolvedKafkaJsTransportOptions;
  /** Watermarks (low, read-committed high) of every partition of `topic`. */
  topicWatermarks(topic: string): Promise<Map<number, Watermarks>>;
  /** Committed offsets of the group for `topic` (partitions without one are absent). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, number>>;
}

/** A consumer protocol assignment (topic → partitions) decoded from its wire form, `undefined` when empty or unreadable. */
export type AssignmentDecoder = (encoded: Buffer) => Record<string, number[]> | undefined;

const decodeAssignment: AssignmentDecoder = (encoded) => kafkajs.AssignerProtocol.MemberAssignment.decode(encoded)?.assignment;

/**
 * What the coordinator assigns `memberId` in a *stable* group (`undefined` while it rebalances, or
 * when the member is not in it). An empty assignment is `{}`.
 */
export function stableAssignmentOf(
  group: Pick<GroupDescription, 'state' | 'members'>,
  memberId: string,
  decode: AssignmentDecoder = decodeAssignment,
): Record<string, number[]> | undefined {
  if (group.state !== 'Stable') return undefined;
  const member = group.members.find((m) => m.memberId === memberId);
  if (member === undefined) return undefined;
  return member.memberAssignment.length === 0 ? {} : (decode(member.memberAssignment) ?? {});
}

/** Whether two assignments hold the same partitions (order and empty topics aside). */
export function sameAssignment(a: Record<string, number[]>, b: Record<string, number[]>): boolean {
  const keys = (x: Record<string, number[]>): string[] =>
    Object.entries(x)
      .flatMap(([topic, partitions]) => partitions.map((p) => tpKey(topic, p)))
      .sort();
  const ka = keys(a);
  const kb = keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

/** A running group membership (see the module comment). Create it, then {@link GroupMemberBase.join}. */
export class GroupMember extends GroupMemberBase<KafkaJsPartition> {
  readonly #options: ResolvedKafkaJsTransportOptions;
  readonly #topicWatermarks: GroupMemberDeps['topicWatermarks'];
  readonly #committedOffsets: GroupMemberDeps['committedOffsets'];
  readonly #consumer: Consumer;
  readonly #nodes = new Map<number, number>();
  readonly #removeListeners: (() => void)[] = [];

  constructor(deps: GroupMemberDeps) {
    const o = deps.options;
    super({ ...deps, maxBatchRetries: o.maxBatchRetries, errors: kafkaJsErrors });
    this.#options = o;
    this.#topicWatermarks = deps.topicWatermarks;
    this.#committedOffsets = deps.committedOffsets;
    this.#consumer = deps.kafka.consumer({
      groupId: deps.groupId,
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      maxWaitTimeInMs: o.maxWaitTimeMs,
      maxBytesPerPartition: o.fetchMaxBytesPerPartition,
      maxBytes: o.fetchMaxBytes,
      // Read committed: records of aborted transactions never reach the engine (design note 1).
      readUncommitted: false,
      allowAutoTopicCreation: false,
      retry: kafkaRetry(o.consumerRetry)!,
    });
  }

  /** Subscribes and runs the consumer; resolves after the first join (whose `onAssigned` may already seek). */
  protected async connectClient(): Promise<void> {
    const c = this.#consumer;
    const { events } = c;
    this.#removeListeners.push(
      c.on(events.GROUP_JOIN, (e) => this.#onGroupJoin(e.payload.memberAssignment, e.payload.memberId)),
      c.on(events.REBALANCING, () => this.#onRebalancing()),
      c.on(events.HEARTBEAT, (e) => this.#onHeartbeat(e.payload.memberId)),
      c.on(events.FETCH_START, (e) => this.#onFetchStart(e.payload.nodeId)),
      c.on(events.START_BATCH_PROCESS, (e) => this.#onStartBatchProcess(e.payload)),
      c.on(events.CRASH, (e) => this.#onCrash(e.payload.error, e.payload.restart)),
    );
    await c.connect();
    await c.subscribe({ topics: [...this.topics], fromBeginning: true });
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#options.partitionsConsumedConcurrently,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  protected async abandon(): Promise<void> {
    for (const remove of this.#removeListeners.splice(0)) remove();
    await this.#consumer.disconnect().catch(() => {});
  }

  protected seekClient(st: KafkaJsPartition, offset: number, wm: Watermarks): void {
    this.#seek(st, offset, wm.high);
  }

  protected async commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    await this.#consumer
      .commitOffsets(offsets.map((o) => ({ topic: o.topic, partition: o.partition, offset: String(o.offset) })))
      .catch(rethrowAs(`committing offsets of group ${this.groupId}`));
  }

  protected override stopFetching(): void {
    try {
      this.#consumer.pause(this.topics.map((topic) => ({ topic })));
    } catch {
      // Not running (crashed for good): nothing is fetched anyway.
    }
  }

  protected async leave(): Promise<void> {
    for (const st of this.states.values()) this.#clearEofTimer(st);
    try {
      await this.#consumer.disconnect();
    } catch (error) {
      this.delivery.reportError(toTransportError(error, `leaving group ${this.groupId}`));
    } finally {
      for (const remove of this.#removeListeners.splice(0)) remove();
    }
  }

  protected forget(st: KafkaJsPartition): void {
    st.seeking = undefined;
    this.#clearEofTimer(st);
  }

  protected pause(states: readonly KafkaJsPartition[]): void {
    this.#pauseAll(states);
  }

  protected activate(st: KafkaJsPartition): void {
    if (st.seeking === undefined && !st.stopped) this.#resume(st);
    this.#checkEof(st);
  }

  // ---- group events ---------------------------------------------------------------------------

  #onRebalancing(): void {
    if (this.closing) return;
    this.logger.info({ groupId: this.groupId }, 'group is rebalancing: revoking every partition');
    this.#awaitingJoin = true;
    this.revoke(this.delivery.heldStates());
  }

  /** The member id of the last completed join (kafkajs's `GROUP_JOIN`). */
  #memberId: string | undefined;
  /** The assignment of the last completed join. */
  #joinAssignment: Record<string, number[]> | undefined;
  /** A `REBALANCING` revoked everything and no `GROUP_JOIN` has followed yet. */
  #awaitingJoin = false;
  /** A check of the group's description is in flight ({@link GroupMember.#reclaimIfStillAssigned}). */
  #checkingGroup = false;

  /**
   * A heartbeat succeeded. After a `REBALANCING` that kafkajs could not follow with a join (the
   * JoinGroup failed with an error kafkajs does not retry there, e.g. "coordinator loading" right
   * after a broker restart), kafkajs goes back to fetching its old assignment under its old
   * generation without any `GROUP_JOIN`, while every partition here is revoked: dispatch would stop
   * for good. A heartbeat the coordinator accepts means this member is still in the group, so the
   * group's description tells whether its last assignment still holds.
   */
  #onHeartbeat(memberId: string): void {
    if (!this.#awaitingJoin || this.#checkingGroup || this.closing || memberId !== this.#memberId) return;
    this.#checkingGroup = true;
    void this.#reclaimIfStillAssigned(memberId).finally(() => {
      this.#checkingGroup = false;
    });
  }

  /**
   * Takes the last assignment back when the coordinator's group is stable with this member holding
   * exactly that assignment (the one kafkajs still fetches). Anything else (a rebalance under way,
   * another assignment, the member gone) is left to kafkajs: its next heartbeat fails and it rejoins.
   */
  async #reclaimIfStillAssigned(memberId: string): Promise<void> {
    const assignment = this.#joinAssignment;
    if (assignment === undefined) return;
    let current: Record<string, number[]> | undefined;
    try {
      current = stableAssignmentOf(await this.#consumer.describeGroup(), memberId);
    } catch (error) {
      this.logger.debug({ groupId: this.groupId, error }, 'describing the group failed; checking again at the next heartbeat');
      return;
    }
    if (!this.#awaitingJoin || this.closing || this.#memberId !== memberId) return;
    if (current === undefined || !sameAssignment(current, assignment)) return;
    this.logger.warn(
      { groupId: this.groupId, memberId, assignment },
      'kafkajs did not rejoin after the rebalance error, and the group still assigns this member the same partitions: taking them back',
    );
    this.#onGroupJoin(assignment, memberId);
  }

  #onCrash(error: Error, restart: boolean): void {
    if (this.closing) return;
    // kafkajs disconnected the consumer: every partition is gone. With `restart` it rejoins by
    // itself (assignments follow); without, the member is dead and the listener must know.
    this.revoke(this.delivery.heldStates());
    this.consumeFailed(error, restart, 'the kafkajs consumer crashed; it restarts and rejoins');
  }

  #onGroupJoin(memberAssignment: Record<string, number[]>, memberId: string): void {
    if (this.closing) return;
    const next = new Map<string, TopicPartition>();
    for (const [topic, partitions] of Object.entries(memberAssignment)) {
      for (const partition of partitions) next.set(tpKey(topic, partition), { topic, partition });
    }
    // A new member id: the coordinator had expired this member (e.g. a process stopped past its
    // session, then continued: kafkajs rejoins on UNKNOWN_MEMBER_ID without a REBALANCING event).
    // Its partitions went to other members meanwhile, so none is "kept": all are revoked and the
    // new assignment is assigned afresh (a transactional engine fenced meanwhile starts again).
    const rejoinedAsNew = this.#memberId !== undefined && memberId !== this.#memberId;
    this.#memberId = memberId;
    this.#joinAssignment = memberAssignment;
    this.#awaitingJoin = false;
    if (rejoinedAsNew) this.revoke(this.delivery.heldStates());
    const held = this.delivery.heldStates();
    this.revoke(held.filter((st) => !next.has(st.key)));
    for (const st of held) {
      // kafkajs restarts kept partitions from the committed offset: put them back where they were.
      if (next.has(st.key) && st.position !== undefined) this.#seek(st, st.position, st.end, false);
    }
    // Nothing is fetched for a new partition before its onAssigned settled; then it starts where
    // kafkajs would (unless the listener sought).
    this.assign(
      next.values(),
      (base) => ({
        ...base,
        position: undefined,
        end: undefined,
        seeking: undefined,
        eofAt: undefined,
        eofTimer: undefined,
        eofBackoffMs: this.#options.eofCheckDelayMs,
        eofCheckedPosition: undefined,
        inBatch: false,
      }),
      (current) => this.#initialPositions(current.filter((st) => st.position === undefined)),
    );
  }

  /** Where kafkajs starts a partition the listener did not seek: the committed offset, else the beginning. */
  async #initialPositions(states: readonly KafkaJsPartition[]): Promise<void> {
    const byTopic = new Map<string, KafkaJsPartition[]>();
    for (const st of states) byTopic.set(st.topic, [...(byTopic.get(st.topic) ?? []), st]);
    await Promise.all(
      [...byTopic].map(async ([topic, list]) => {
        try {
          const [committed, watermarks] = await Promise.all([this.#committedOffsets(this.groupId, topic), this.#topicWatermarks(topic)]);
          for (const st of list) {
            const wm = watermarks.get(st.partition);
            if (st.position !== undefined || st.phase !== 'assigning' || wm === undefined) continue;
            const c = committed.get(st.partition);
            const start = c !== undefined && c >= wm.low && c <= wm.high ? c : wm.low;
            this.#seek(st, start, wm.high);
          }
        } catch (error) {
          // kafkajs still starts the partitions; only the EOF notice waits for the first batch.
          this.delivery.reportError(toTransportError(error, `reading the start offsets of ${topic}`));
        }
      }),
    );
  }

  // ---- seeking --------------------------------------------------------------------------------

  #seek(st: KafkaJsPartition, offset: number, end: number | undefined, newGeneration = true): void {
    if (newGeneration) {
      st.generation++;
      // A seek restarts a partition that was stopped after failed deliveries.
      st.stopped = false;
    }
    st.eofAt = undefined;
    st.eofCheckedPosition = undefined;
    st.eofBackoffMs = this.#options.eofCheckDelayMs;
    this.#clearEofTimer(st);
    if (st.phase === 'active' && !st.inBatch) {
      const nodes = this.#recentNodes();
      if (nodes.size > 0) {
        this.#pauseAll([st]);
        st.seeking = { pendingNodes: nodes, startedAt: Date.now() };
      }
    }
    this.#consumer.seek({ topic: st.topic, partition: st.partition, offset: String(offset) });
    st.position = offset;
    st.end = end;
    if (st.seeking === undefined) {
      if (st.phase === 'active' && !st.stopped) this.#resume(st);
      this.#checkEof(st);
    }
  }

  #recentNodes(): Set<number> {
    const now = Date.now();
    const nodes = new Set<number>();
    for (const [node, seen] of this.#nodes) if (now - seen <= RECENT_NODE_MS) nodes.add(node);
    return nodes;
  }

  #onFetchStart(nodeId: number): void {
    const now = Date.now();
    this.#nodes.set(nodeId, now);
    for (const st of this.states.values()) {
      const window = st.seeking;
      if (window === undefined) continue;
      window.pendingNodes.delete(nodeId);
      if (window.pendingNodes.size === 0 || now - window.startedAt > SEEK_WINDOW_MAX_MS) {
        st.seeking = undefined;
        if (st.phase === 'active' && !st.stopped) {
          this.#resume(st);
          this.#checkEof(st);
        }
      }
    }
  }

  #pauseAll(states: readonly KafkaJsPartition[]): void {
    const byTopic = new Map<string, number[]>();
    for (const st of states) byTopic.set(st.topic, [...(byTopic.get(st.topic) ?? []), st.partition]);
    this.#consumer.pause([...byTopic].map(([topic, partitions]) => ({ topic, partitions })));
  }

  #resume(st: KafkaJsPartition): void {
    if (this.closing) return;
    this.#consumer.resume([{ topic: st.topic, partitions: [st.partition] }]);
  }

  // ---- delivery -------------------------------------------------------------------------------

  async #eachBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    const st = this.states.get(tpKey(batch.topic, batch.partition));
    // Not resolving a dropped batch leaves kafkajs's position where it was (or where a pending seek puts it).
    if (st === undefined || st.phase !== 'active' || st.seeking !== undefined || st.stopped || isStale() || this.closing) return;
    const fetchedOffset = Number((batch as { fetchedOffset?: string }).fetchedOffset);
    if (st.position !== undefined && Number.isFinite(fetchedOffset) && fetchedOffset !== st.position) {
      this.logger.warn(
        { topic: st.topic, partition: st.partition, expected: st.position, fetchedOffset },
        'kafkajs fetched from another offset than expected (offset reset?); following it',
      );
    }
    const generation = st.generation;
    const lastOffset = batch.lastOffset();
    const position = Number(lastOffset) + 1;
    const highWatermark = Number(batch.highWatermark);
    // kafkajs reports the high watermark, not the last stable offset; the two are equal only when
    // the batch reached it (the position never passes the LSO), so only then is it reported.
    const reachedEnd = Number.isFinite(highWatermark) && position >= highWatermark;
    const delivery: PartitionBatch = {
      topic: batch.topic,
      partition: batch.partition,
      records: batch.messages.map((m) => fromFetchedMessage(batch.topic, batch.partition, m)),
      position,
      ...(reachedEnd ? { highWatermark } : {}),
    };
    st.inBatch = true;
    // kafkajs heartbeats only between batches; keep the membership alive during a long onBatch.
    const keepAlive = setInterval(() => void heartbeat().catch(() => {}), this.#options.heartbeatIntervalMs);
    try {
      const result = await this.#deliver(st, generation, delivery);
      if (result !== 'delivered' || st.generation !== generation || st.phase !== 'active') return;
      resolveOffset(lastOffset);
      st.position = position;
      if (reachedEnd) st.end = highWatermark;
    } finally {
      clearInterval(keepAlive);
      st.inBatch = false;
      this.#checkEof(st);
    }
  }

  /** A control-only (or aborted-only) batch: kafkajs resolves it without calling eachBatch. */
  #onStartBatchProcess(payload: { topic: string; partition: number; batchSize: number; lastOffset: string; highWatermark: string }): void {
    if (payload.batchSize !== 0) return;
    const st = this.states.get(tpKey(payload.topic, payload.partition));
    if (st === undefined || st.phase !== 'active' || st.seeking !== undefined || st.inBatch) return;
    const next = Number(payload.lastOffset) + 1;
    if (!Number.isFinite(next) || (st.position !== undefined && next <= st.position)) return;
    st.position = next;
    const end = Number(payload.highWatermark);
    if (Number.isFinite(end)) st.end = end;
    this.#checkEof(st);
  }

  /** Delivers `batch` by the kit's rules (bounded redelivery, then the partition stops until a seek). */
  #deliver(st: KafkaJsPartition, generation: number, batch: PartitionBatch): Promise<string> {
    return this.delivery.deliver(st, generation, batch, {
      // An EOF notice overtaken by newer records is not offered again.
      retry: () => batch.records.length > 0 || st.position === batch.position,
      stop: () => {
        this.#clearEofTimer(st);
        try {
          this.#pauseAll([st]);
        } catch {
          // Not running any more: nothing is fetched anyway.
        }
      },
    });
  }

  // ---- EOF ------------------------------------------------------------------------------------

  #checkEof(st: KafkaJsPartition): void {
    if (st.phase !== 'active' || st.seeking !== undefined || st.inBatch || st.stopped || st.position === undefined || this.closing) return;
    if (st.eofAt === st.position) return;
    if (st.end !== undefined && st.position >= st.end) {
      this.#deliverEof(st);
      return;
    }
    if (st.eofCheckedPosition !== st.position) {
      st.eofCheckedPosition = st.position;
      st.eofBackoffMs = this.#options.eofCheckDelayMs;
    }
    this.#scheduleEndCheck(st);
  }

  /** After a quiet period, asks the broker for the read-committed end offset (an open transaction stops it early). */
  #scheduleEndCheck(st: KafkaJsPartition): void {
    this.#clearEofTimer(st);
    const { generation, position } = st;
    const delay = st.eofBackoffMs;
    st.eofTimer = setTimeout(() => {
      st.eofTimer = undefined;
      void (async () => {
        const still = (): boolean => st.generation === generation && st.position === position && st.phase === 'active' && !this.closing;
        if (!still()) return;
        let high: number | undefined;
        try {
          high = (await this.#topicWatermarks(st.topic)).get(st.partition)?.high;
        } catch (error) {
          this.logger.warn({ topic: st.topic, partition: st.partition, error }, 'checking the end offset failed; retrying');
        }
        if (!still() || st.inBatch || st.eofTimer !== undefined) return;
        if (high !== undefined && position !== undefined && position >= high) {
          st.end = high;
          this.#deliverEof(st);
          return;
        }
        // More to read (the fetch will bring it), or kafkajs is stuck below the end: check again later.
        st.eofBackoffMs = Math.min(st.eofBackoffMs * 2, EOF_BACKOFF_MAX_MS);
        this.#scheduleEndCheck(st);
      })();
    }, delay);
    st.eofTimer.unref();
  }

  #deliverEof(st: KafkaJsPartition): void {
    const position = st.position;
    if (position === undefined) return;
    this.#clearEofTimer(st);
    st.eofAt = position;
    const notice: PartitionBatch = {
      topic: st.topic,
      partition: st.partition,
      records: [],
      position,
      // `end` is the read-committed end offset here (or a high watermark the position reached, then equal to it).
      ...(st.end !== undefined ? { highWatermark: st.end } : {}),
    };
    void this.#deliver(st, st.generation, notice);
  }

  #clearEofTimer(st: KafkaJsPartition): void {
    if (st.eofTimer !== undefined) {
      clearTimeout(st.eofTimer);
      st.eofTimer = undefined;
    }
  }
}
