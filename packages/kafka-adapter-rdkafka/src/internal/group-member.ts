/**
 * One consumer-group membership over a node-rdkafka `KafkaConsumer`, with the `GroupListener`
 * guarantees of the port.
 *
 * **Poll loop.** One loop calls `consume(consumeBatchSize)` (each call waits at most
 * `consumeTimeoutMs`), which also serves librdkafka's rebalance and offset-commit callbacks. The
 * records and EOF events of a call are queued per partition, in order; each partition delivers
 * its queue one batch at a time on its own promise chain (`onBatch` of one partition never
 * overlaps, partitions run side by side). A partition whose queue grows past
 * `maxQueuedRecordsPerPartition` while its `onBatch` is busy is paused in librdkafka and resumed
 * once the queue is drained: librdkafka restarts its fetch at the last record it handed out, so
 * nothing is skipped.
 *
 * **Assignment and revocation.** With the eager assignors (the default, `range,roundrobin`) a
 * rebalance revokes every partition, then assigns the new set; with `cooperative-sticky`
 * (librdkafka's incremental protocol, `rebalanceProtocol() === 'COOPERATIVE'`) `rebalance_cb` gets
 * only the change: the partitions that move away, then those newly given, and the partitions a
 * member keeps are never revoked (they keep delivering, without `onRevoked` / `onAssigned`).
 * Either way `rebalance_cb` marks the revoked partitions at once (nothing more is delivered), then
 * on the group chain waits for their in-flight `onBatch` calls, awaits `onRevoked` and only then
 * calls `unassign()` (eager) or `incrementalUnassign(revoked)` (cooperative), and librdkafka
 * goes on with the rebalance only after that, so no other member can be given the partitions
 * before `onRevoked` settled. New partitions are `assign()`ed (eager: the whole new assignment) or
 * `incrementalAssign()`ed (cooperative) from their beginning (never from a committed offset: see
 * `#onAssign`) and paused at once; `onAssigned` is awaited, and then the
 * partition is resumed and delivers what it queued meanwhile.
 *
 * **Position and EOF.** `enable.partition.eof` makes librdkafka emit an EOF event whenever its
 * fetch position reaches the partition's end offset (the last stable offset under read
 * committed), after transaction markers and compaction gaps, and again after every seek,
 * pause/resume or new records. Each event becomes an empty batch whose `position` is the event's
 * offset, i.e. the next offset librdkafka fetches. A batch of records has position = last
 * offset + 1.
 *
 * **Seeks.** `seek` (and `seekToBeginning`, a seek to `low`) reads the watermarks, clamps the
 * offset into them, then asks the loop to seek there between two `consume` calls, so no call is
 * in flight while librdkafka moves the position: everything queued before (fetched before the
 * seek) is dropped, everything consumed after belongs to the new position. A batch being delivered when the seek happens does not move the position afterwards.
 * Right after an assignment librdkafka may still be starting the partition's fetcher
 * (`ERR__STATE`); the seek is then retried.
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import type { PartitionBatch, TopicPartition, TopicPartitionOffset } from '@ksched/core';
import { GroupMemberBase, plainTp as plain, tpKey } from '@ksched/core/adapter';
import type { HeldPartition, MemberContext } from '@ksched/core/adapter';
import type { EofEvent, KafkaConsumer, LibrdKafkaError, Message } from 'node-rdkafka';
import { fromRdKafkaMessage } from '../map-record.js';
import { isRetriableError, RdKafkaErrorCode, rdKafkaCode, rdKafkaErrors, toTransportError } from '../map-errors.js';
import type { ResolvedRdKafkaTransportOptions } from '../options.js';
import { consumerConfig, consumerTopicConfig, createClient, disconnectWithin, connectFailingFast, forwardEvents } from './config.js';
import { rdkafka } from './native.js';

/** librdkafka's logical offset "the partition's beginning". */
const OFFSET_BEGINNING = -2;
/** Longest backoff after a failed `consume` call, ms. */
const CONSUME_BACKOFF_MAX_MS = 5_000;
/** Pause between two attempts of a seek librdkafka is not ready for yet (`ERR__STATE`), ms. */
const SEEK_RETRY_MS = 20;

type Entry =
  | { readonly kind: 'record'; readonly topic: string; readonly partition: number; readonly message: Message }
  | { readonly kind: 'eof'; readonly topic: string; readonly partition: number; readonly offset: number };

interface PartitionState extends HeldPartition {
  /** Records and EOF events consumed and not yet delivered, in order. */
  queue: Entry[];
  queuedRecords: number;
  /** An `onBatch` of this partition is in flight. */
  busy: boolean;
  /** Paused in librdkafka by the adapter (assignment, backpressure, stopped). */
  paused: boolean;
  /** Seeks requested and not yet applied: nothing is delivered meanwhile. */
  seeking: number;
  /** The next offset to fetch as of the last delivered batch or seek, if known. */
  position: number | undefined;
}

interface SeekRequest {
  readonly state: PartitionState;
  readonly offset: number;
  readonly deadline: number;
  notBefore: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/** What librdkafka's assignment loses once `onRevoked` settled: all of it, or some partitions (cooperative). */
type Unassign = 'all' | { readonly incremental: readonly TopicPartition[] };

interface PendingCommit {
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly timer: NodeJS.Timeout;
  settled: boolean;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A running group membership (see the module comment). Create it, then {@link GroupMemberBase.join}. */
export class RdKafkaGroupMember extends GroupMemberBase<PartitionState> {
  readonly #options: ResolvedRdKafkaTransportOptions;
  readonly #consumer: KafkaConsumer;
  readonly #seeks: SeekRequest[] = [];
  /** Commits waiting for librdkafka's callback, in commit order. */
  readonly #commits: PendingCommit[] = [];
  readonly #commitsInFlight = new Set<Promise<void>>();
  /** Where the current `consume` call puts what it returns (node-rdkafka emits records and EOF events in order). */
  #collecting: Entry[] | undefined;
  #loop: Promise<void> | undefined;
  #stopLoop = false;

  constructor(context: MemberContext, options: ResolvedRdKafkaTransportOptions) {
    super({ ...context, maxBatchRetries: options.maxBatchRetries, errors: rdKafkaErrors });
    this.#options = options;
    const config = consumerConfig(options, context.groupId, {
      rebalance_cb: (err, assignment) => this.#onRebalance(err as LibrdKafkaError | undefined, assignment as TopicPartition[]),
      offset_commit_cb: (err) => this.#onOffsetCommit(err as LibrdKafkaError | undefined),
    });
    this.#consumer = createClient('consumer', () => new rdkafka.KafkaConsumer(config as never, { ...consumerTopicConfig }));
    this.#consumer.on('data', (message: Message) =>
      this.#collecting?.push({ kind: 'record', topic: message.topic, partition: message.partition, message }),
    );
    this.#consumer.on('partition.eof', (eof: EofEvent) =>
      this.#collecting?.push({ kind: 'eof', topic: eof.topic, partition: eof.partition, offset: eof.offset }),
    );
    this.#consumer.setDefaultConsumeTimeout(options.consumeTimeoutMs);
    forwardEvents(this.#consumer, context.logger, 'consumer');
  }

  /** The librdkafka consumer (its group metadata goes with a transaction fenced by the group). */
  get consumer(): KafkaConsumer {
    return this.#consumer;
  }

  /** Connects, subscribes and starts the poll loop (assignments follow asynchronously). */
  protected async connectClient(): Promise<void> {
    await connectFailingFast(this.#consumer, this.#options.connectionTimeoutMs);
    this.#consumer.subscribe([...this.topics]);
    this.#loop = this.#run();
  }

  protected abandon(): Promise<void> {
    return this.#disconnect();
  }

  /** Asks the poll loop to seek between two `consume` calls (see the module comment); resolves once it did. */
  protected async seekClient(st: PartitionState, target: number): Promise<void> {
    // Nothing of the old position is delivered from now on.
    st.generation++;
    st.seeking++;
    try {
      await new Promise<void>((resolve, reject) => {
        const now = Date.now();
        this.#seeks.push({ state: st, offset: target, deadline: now + this.#options.requestTimeoutMs, notBefore: now, resolve, reject });
      });
    } finally {
      st.seeking--;
      this.#pump(st);
    }
  }

  /** Resolves once the group coordinator acknowledged the commit. */
  protected commit(offsets: readonly TopicPartitionOffset[]): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      try {
        this.#consumer.commit(offsets.map(({ topic, partition, offset }) => ({ topic, partition, offset })));
      } catch (error) {
        reject(toTransportError(error, `committing offsets of group ${this.groupId}`));
        return;
      }
      // Callbacks arrive in commit order; a timed-out entry stays queued so that a late callback still lines up.
      const commit: PendingCommit = {
        resolve,
        reject,
        settled: false,
        timer: setTimeout(() => {
          if (commit.settled) return;
          commit.settled = true;
          reject(new TransportError(`committing offsets of group ${this.groupId} timed out`, { retriable: true }));
        }, this.#options.requestTimeoutMs),
      };
      commit.timer.unref();
      this.#commits.push(commit);
    });
    this.#commitsInFlight.add(done);
    void done.catch(() => {}).finally(() => this.#commitsInFlight.delete(done));
    return done;
  }

  /** Every partition is revoked (`onRevoked` settled): let pending commits be acknowledged, stop polling, disconnect. */
  protected async leave(): Promise<void> {
    // The loop serves the commit callbacks.
    await Promise.allSettled([...this.#commitsInFlight]);
    this.#stopLoop = true;
    await this.#loop;
    // Nothing is delivered any more, so the pending seeks have nothing left to do.
    for (const seek of this.#seeks.splice(0)) seek.resolve();
    await this.#disconnect();
  }

  protected forget(st: PartitionState): void {
    st.queue = [];
    st.queuedRecords = 0;
  }

  /** Pauses newly assigned partitions in librdkafka (what arrives meanwhile waits in their queues). */
  protected pause(states: readonly PartitionState[]): void {
    try {
      this.#consumer.pause(states.map(plain));
      for (const st of states) st.paused = true;
    } catch (error) {
      this.logger.warn({ error }, 'pausing newly assigned partitions failed');
    }
  }

  protected activate(st: PartitionState): void {
    this.#pump(st);
  }

  async #disconnect(): Promise<void> {
    // librdkafka's close revokes the assignment (the rebalance callback unassigns at once) and leaves the group.
    await disconnectWithin(this.#consumer, this.#options.sessionTimeoutMs + this.#options.requestTimeoutMs, (error) =>
      this.logger.warn({ groupId: this.groupId, error }, 'disconnecting the consumer failed'),
    );
  }

  // ---- poll loop ------------------------------------------------------------------------------

  async #run(): Promise<void> {
    let failures = 0;
    while (!this.#stopLoop) {
      await this.#applySeeks();
      if (this.#stopLoop) break;
      let entries: Entry[];
      try {
        entries = await this.#consumeOnce();
        failures = 0;
      } catch (error) {
        failures++;
        this.#consumeError(error);
        await sleep(Math.min(50 * 2 ** Math.min(failures, 10), CONSUME_BACKOFF_MAX_MS));
        continue;
      }
      this.#route(entries);
    }
  }

  #consumeOnce(): Promise<Entry[]> {
    return new Promise<Entry[]>((resolve, reject) => {
      const collected: Entry[] = [];
      this.#collecting = collected;
      try {
        this.#consumer.consume(this.#options.consumeBatchSize, (error: LibrdKafkaError) => {
          this.#collecting = undefined;
          if (error) reject(error);
          else resolve(collected);
        });
      } catch (error) {
        this.#collecting = undefined;
        reject(error);
      }
    });
  }

  #consumeError(error: unknown): void {
    // librdkafka retries transient conditions (broker down, unknown topic while it is created) by itself.
    const transient = isRetriableError(error) || rdKafkaCode(error) === RdKafkaErrorCode.ERR__TIMED_OUT;
    this.consumeFailed(error, transient, 'consume failed; retrying');
  }

  #route(entries: readonly Entry[]): void {
    const touched = new Set<PartitionState>();
    for (const entry of entries) {
      const st = this.states.get(tpKey(entry.topic, entry.partition));
      if (st === undefined || st.phase === 'revoked' || st.stopped) continue;
      st.queue.push(entry);
      if (entry.kind === 'record') st.queuedRecords++;
      touched.add(st);
    }
    for (const st of touched) {
      this.#pump(st);
      if (!st.paused && st.queuedRecords >= this.#options.maxQueuedRecordsPerPartition) this.#pause(st);
    }
  }

  // ---- delivery -------------------------------------------------------------------------------

  /** Starts the next delivery of `st` if it can; resumes a paused partition whose queue is drained. */
  #pump(st: PartitionState): void {
    if (st.busy || st.phase !== 'active' || st.seeking > 0 || st.stopped || this.closing) return;
    const batch = this.#takeBatch(st);
    if (batch === undefined) {
      if (st.paused) this.#resume(st);
      return;
    }
    st.busy = true;
    void this.#deliver(st, batch).finally(() => {
      st.busy = false;
      this.#pump(st);
    });
  }

  /** The next batch of `st`'s queue: leading records (up to `consumeBatchSize`), else one EOF notice. */
  #takeBatch(st: PartitionState): PartitionBatch | undefined {
    const records: Message[] = [];
    while (st.queue.length > 0 && records.length < this.#options.consumeBatchSize) {
      const entry = st.queue[0]!;
      if (entry.kind === 'eof') {
        if (records.length > 0) break;
        st.queue.shift();
        // The EOF offset is the end offset librdkafka's fetch reached (the last stable offset).
        return { topic: st.topic, partition: st.partition, records: [], position: entry.offset, highWatermark: entry.offset };
      }
      st.queue.shift();
      st.queuedRecords--;
      records.push(entry.message);
    }
    if (records.length === 0) return undefined;
    return {
      topic: st.topic,
      partition: st.partition,
      records: records.map(fromRdKafkaMessage),
      position: records[records.length - 1]!.offset + 1,
    };
  }

  /** Delivers `batch` by the kit's rules (bounded redelivery, then the partition stops until a seek). */
  async #deliver(st: PartitionState, batch: PartitionBatch): Promise<void> {
    const generation = st.generation;
    const result = await this.delivery.deliver(st, generation, batch, {
      stop: () => {
        st.queue = [];
        st.queuedRecords = 0;
        this.#pause(st);
      },
    });
    if (result === 'delivered' && st.generation === generation) st.position = batch.position;
  }

  // ---- seeking --------------------------------------------------------------------------------

  /** Applies the requested seeks while no `consume` call is in flight (see the module comment). */
  async #applySeeks(): Promise<void> {
    const waiting: SeekRequest[] = [];
    while (this.#seeks.length > 0) {
      const request = this.#seeks.shift()!;
      const st = request.state;
      if (st.phase === 'revoked' || this.states.get(st.key) !== st) {
        // Revoked meanwhile: nothing is delivered for it any more, so the seek has nothing left to do.
        request.resolve();
        continue;
      }
      if (request.notBefore > Date.now()) {
        waiting.push(request);
        continue;
      }
      try {
        await this.#nativeSeek(st, request.offset);
      } catch (error) {
        if (rdKafkaCode(error) === RdKafkaErrorCode.ERR__STATE && Date.now() < request.deadline) {
          // The fetcher of a just-assigned partition is not started yet: try again after the next consume call.
          request.notBefore = Date.now() + SEEK_RETRY_MS;
          waiting.push(request);
        } else {
          request.reject(toTransportError(error, `seeking ${st.topic}/${st.partition} to ${request.offset}`));
        }
        continue;
      }
      // Everything queued was consumed before the seek.
      st.queue = [];
      st.queuedRecords = 0;
      st.stopped = false;
      st.position = request.offset;
      request.resolve();
    }
    this.#seeks.push(...waiting);
  }

  #nativeSeek(st: PartitionState, offset: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        this.#consumer.seek({ topic: st.topic, partition: st.partition, offset }, this.#options.requestTimeoutMs, (error) =>
          error ? reject(error) : resolve(),
        );
      } catch (error) {
        reject(error);
      }
    });
  }

  #pause(st: PartitionState): void {
    try {
      this.#consumer.pause([plain(st)]);
      st.paused = true;
    } catch (error) {
      this.logger.warn({ topic: st.topic, partition: st.partition, error }, 'pausing a partition failed');
    }
  }

  #resume(st: PartitionState): void {
    try {
      this.#consumer.resume([plain(st)]);
      st.paused = false;
    } catch (error) {
      this.logger.warn({ topic: st.topic, partition: st.partition, error }, 'resuming a partition failed');
    }
  }

  // ---- group events ---------------------------------------------------------------------------

  #onRebalance(err: LibrdKafkaError | undefined, assignment: TopicPartition[]): void {
    const code = rdKafkaCode(err);
    try {
      // With the incremental (cooperative) protocol `assignment` is the change, else the whole assignment.
      const cooperative = this.#consumer.rebalanceProtocol() === 'COOPERATIVE';
      if (code === RdKafkaErrorCode.ERR__ASSIGN_PARTITIONS) this.#onAssign(assignment, cooperative);
      else if (code === RdKafkaErrorCode.ERR__REVOKE_PARTITIONS) this.#onRevoke(assignment, cooperative);
      else {
        this.delivery.reportError(toTransportError(err, `rebalancing group ${this.groupId}`));
        this.#revoke(this.delivery.heldStates(), cooperative ? { incremental: this.delivery.heldStates().map(plain) } : 'all');
      }
    } catch (error) {
      this.delivery.reportError(toTransportError(error, `rebalancing group ${this.groupId}`));
    }
  }

  /** librdkafka revokes `assignment`: every partition (eager), or those moving elsewhere (cooperative). */
  #onRevoke(assignment: readonly TopicPartition[], cooperative: boolean): void {
    if (!cooperative) {
      this.#revoke(this.delivery.heldStates(), 'all');
      return;
    }
    const revoked = new Set(assignment.map((tp) => tpKey(tp.topic, tp.partition)));
    this.#revoke(
      this.delivery.heldStates().filter((st) => revoked.has(st.key)),
      { incremental: assignment.map(plain) },
    );
  }

  #onAssign(assignment: readonly TopicPartition[], cooperative: boolean): void {
    // From the beginning, never from a committed offset: those are informational (the engine seeks
    // where it reads), and librdkafka fetches committed offsets with require_stable under read
    // committed, retrying the whole assignment's OffsetFetch while any one partition has a
    // transactional offset commit pending (fenced by the group: a stalled owner's open
    // transaction), so that none of them could be fetched or sought until it ended.
    const from = assignment.map((tp) => ({ ...plain(tp), offset: OFFSET_BEGINNING }));
    if (cooperative) this.#consumer.incrementalAssign(from);
    else this.#consumer.assign(from);
    if (this.closing) return;
    // Nothing is fetched for a new partition before its onAssigned settled.
    this.assign(assignment, (base) => ({
      ...base,
      queue: [],
      queuedRecords: 0,
      busy: false,
      paused: false,
      seeking: 0,
      position: undefined,
    }));
  }

  /**
   * Marks `states` revoked now (nothing more is delivered) and queues `onRevoked` for them;
   * librdkafka's assignment is given up once `onRevoked` settled: all of it (eager), or the listed
   * partitions (`incrementalUnassign`, cooperative).
   */
  #revoke(states: readonly PartitionState[], unassign: Unassign): void {
    if (this.closing) {
      // librdkafka's close waits for this; the partitions were revoked before close() got here.
      for (const st of states) {
        this.forget(st);
        st.phase = 'revoked';
        st.generation++;
      }
      this.#unassign(unassign);
      return;
    }
    this.revoke(states, () => this.#unassign(unassign));
  }

  #unassign(unassign: Unassign): void {
    try {
      if (unassign === 'all') this.#consumer.unassign();
      else if (unassign.incremental.length > 0) this.#consumer.incrementalUnassign(unassign.incremental.map(plain));
    } catch (error) {
      if (!this.closing) this.delivery.reportError(toTransportError(error, `giving up the assignment of group ${this.groupId}`));
    }
  }

  #onOffsetCommit(err: LibrdKafkaError | undefined): void {
    const commit = this.#commits.shift();
    if (commit === undefined) return;
    clearTimeout(commit.timer);
    if (commit.settled) return;
    commit.settled = true;
    if (err) commit.reject(toTransportError(err, `committing offsets of group ${this.groupId}`));
    else commit.resolve();
  }
}
