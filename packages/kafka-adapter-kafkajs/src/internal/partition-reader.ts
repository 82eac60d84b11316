/**
 * `Transport.openReader` over kafkajs: a pull-based reader of one partition outside the
 * scheduler's consumer group.
 *
 * **A throwaway group.** kafkajs 2.2.4 has no manual assignment: a consumer only fetches what a
 * group assigns it. The reader is therefore a kafkajs consumer of its own, in a group of its own
 * (`<clientId>-reader-<topic>-<partition>-<random>`), whose partition assigner gives it exactly the
 * one partition. Nobody else is in that group, so no other group rebalances and the scheduler's
 * group never sees it; nothing is committed (`autoCommit: false`, and the start is a `seek`, not
 * a committed offset). On close the member leaves and the (empty, offset-less) group is deleted.
 * Opening costs the join of a new group: FindCoordinator, JoinGroup twice (member id), SyncGroup,
 * plus the broker's `group.initial.rebalance.delay.ms` (3 s by default, 0 on the test broker).
 *
 * **Start.** The transport fetched the watermarks and clamped `fromOffset` into [low, high] (the
 * kit's `ReaderContext.start`); it is sought from the `GROUP_JOIN` event, i.e. before the first
 * fetch (and again after a rejoin of the throwaway group, to where the reader had fetched).
 *
 * **Fetching ahead.** `eachBatch` queues the kafkajs batch and, once {@link READ_AHEAD_BATCHES}
 * wait, holds kafkajs's fetch loop (heartbeating the throwaway group meanwhile) until `read()`
 * takes one: kafkajs then fetches the next batch while the caller handles the one it got. Records
 * are mapped when `read()` hands the batch out, with `fromFetchedMessage`: `fromKafkaMessage`'s
 * mapping, but kafkajs's Buffers are re-labelled as plain `Uint8Array`s rather than wrapped in new
 * views (no copies either way; half the mapping cost, which is most of the reader's own cost).
 *
 * **Position and end.** Like the group member: `lastOffset() + 1` of each batch (a trailing
 * transaction marker counts), and of a batch kafkajs resolves without `eachBatch` (control or
 * aborted records only; the `START_BATCH_PROCESS` event with `batchSize` 0), which advances the
 * position without records. At the read-committed end `read()` resolves an empty batch: at once
 * when the position reached a fetched high watermark (then equal to the last stable offset) or the
 * end offset seen at open; otherwise after `eofCheckDelayMs` without new records, when ListOffsets
 * (read committed: the last stable offset) says the position is there. Once an empty batch was
 * returned at a position, the next `read()` at that position first waits up to `maxWaitTimeMs`
 * (at most 1 s) for new records, so a caller polling at the end does not spin.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';
import { TransportError } from '@ksched/core';
import type { ConsumedRecord, PartitionBatch, TopicPartition, Watermarks } from '@ksched/core';
import { PartitionReaderBase } from '@ksched/core/adapter';
import type { ReaderContext } from '@ksched/core/adapter';
// The adapter's own kafkajs copy, with the corrected read-committed filter (internal/kafkajs.ts).
import { kafkajs } from './kafkajs.js';
import type { Batch, Consumer, EachBatchPayload, Kafka, PartitionAssigner } from 'kafkajs';
import { fromFetchedMessage } from '../map-record.js';
import { kafkaJsErrors, toTransportError } from '../map-errors.js';
import type { ResolvedKafkaJsTransportOptions } from '../options.js';
import { kafkaRetry } from './kafka.js';

const { AssignerProtocol } = kafkajs;

/**
 * Batches (one fetch response each, up to `fetchMaxBytesPerPartition`) fetched ahead of `read()`.
 * One is enough to overlap the next fetch with the caller's work; deeper read-ahead measured
 * slower (4 batches: ~5.1 µs of client CPU per record against ~4.2 µs), as the batches held live
 * long enough to be promoted out of V8's young generation.
 */
export const READ_AHEAD_BATCHES = 1;
/** Longest `read()` waits for new records at the end before it answers with an empty batch, ms. */
const END_WAIT_MAX_MS = 1000;
const ASSIGNER_NAME = 'KschedPartitionReader';

/** What the reader needs besides the shell's context: the kafkajs client and the transport's admin client. */
export interface PartitionReaderDeps extends ReaderContext<KafkaJsPartitionReader> {
  readonly kafka: Kafka;
  readonly options: ResolvedKafkaJsTransportOptions;
  /** Watermarks (low, read-committed high) of every partition of `topic`. */
  topicWatermarks(topic: string): Promise<Map<number, Watermarks>>;
  /** Deletes the throwaway group once the reader left it (best effort). */
  deleteGroup(groupId: string): Promise<void>;
}

/** One fetched step: a kafkajs batch with records, or a position advanced without records. */
interface Fetched {
  readonly batch: Batch | undefined;
  /** The position after it: the next offset kafkajs fetches. */
  readonly position: number;
  /** The fetch's high watermark (NaN when unknown). */
  readonly highWatermark: number;
}

/** A kafkajs partition assigner giving `tp` to the group's one member (the first by member id). */
function onePartitionAssigner(tp: TopicPartition): PartitionAssigner {
  return () => ({
    name: ASSIGNER_NAME,
    version: 0,
    assign: ({ members }) => {
      const ids = members.map((m) => m.memberId).sort();
      return Promise.resolve(
        ids.map((memberId, i) => ({
          memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 0,
            assignment: i === 0 ? { [tp.topic]: [tp.partition] } : {},
            userData: Buffer.alloc(0),
          }),
        })),
      );
    },
    protocol: ({ topics }) => ({
      name: ASSIGNER_NAME,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    }),
  });
}

/** A reader of one partition (see the module comment). Create it, then {@link PartitionReaderBase.open}. */
export class KafkaJsPartitionReader extends PartitionReaderBase {
  /** The throwaway group the reader's consumer joins. */
  readonly groupId: string;
  readonly #deps: PartitionReaderDeps;
  readonly #consumer: Consumer;
  readonly #queue: Fetched[] = [];
  readonly #removeListeners: (() => void)[] = [];
  /** The next offset kafkajs fetches, after everything queued. */
  #fetchPosition: number;
  /** The next offset `read()` hands out. */
  #position: number;
  /** A read-committed end offset the partition had (only meaningful while `#position` equals it). */
  #end: number | undefined;
  /** Position of the last empty batch returned. */
  #eofAt: number | undefined;
  #joined = false;
  #failure: TransportError | undefined;
  #wakeReader: (() => void) | undefined;
  #wakeFetcher: (() => void) | undefined;
  #joinWaiter: { resolve(): void; reject(error: unknown): void } | undefined;

  constructor(deps: PartitionReaderDeps) {
    super(deps, kafkaJsErrors);
    this.#deps = deps;
    // Fetching starts at the clamped `fromOffset`; the high watermark seen at open is a known end.
    this.#fetchPosition = deps.start;
    this.#position = deps.start;
    this.#end = deps.watermarks.high;
    const o = deps.options;
    this.groupId = `${o.clientId}-reader-${this.topic}-${this.partition}-${randomBytes(6).toString('hex')}`;
    this.#consumer = deps.kafka.consumer({
      groupId: this.groupId,
      partitionAssigners: [onePartitionAssigner(deps.tp)],
      sessionTimeout: o.sessionTimeoutMs,
      rebalanceTimeout: o.rebalanceTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs,
      maxWaitTimeInMs: Math.min(o.maxWaitTimeMs, END_WAIT_MAX_MS),
      maxBytesPerPartition: o.fetchMaxBytesPerPartition,
      maxBytes: o.fetchMaxBytes,
      readUncommitted: false,
      allowAutoTopicCreation: false,
      retry: kafkaRetry(o.consumerRetry)!,
    });
  }

  /** Joins the throwaway group and starts fetching at `start`. */
  protected async connectClient(): Promise<void> {
    const c = this.#consumer;
    const { events } = c;
    this.#removeListeners.push(
      c.on(events.GROUP_JOIN, (e) => this.#onGroupJoin(e.payload.memberAssignment)),
      c.on(events.START_BATCH_PROCESS, (e) => this.#onStartBatchProcess(e.payload)),
      c.on(events.CRASH, (e) => this.#onCrash(e.payload.error, e.payload.restart)),
    );
    const joined = new Promise<void>((resolve, reject) => (this.#joinWaiter = { resolve, reject }));
    joined.catch(() => {}); // awaited below; rejected early when closed or failed meanwhile
    await c.connect();
    if (this.closed) throw this.closedError();
    await c.subscribe({ topics: [this.topic], fromBeginning: true });
    // kafkajs's run() swallows a failed first join (it crashes and maybe restarts): wait for the join itself.
    await c.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new TransportError(`joining the reader group ${this.groupId} timed out`, { retriable: true })),
        this.#deps.options.rebalanceTimeoutMs,
      );
    });
    try {
      await Promise.race([joined, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- reading --------------------------------------------------------------------------------

  protected async readBatch(): Promise<PartitionBatch> {
    let quietMs = this.#deps.options.eofCheckDelayMs;
    for (;;) {
      this.#throwIfDone();
      const item = this.#queue.shift();
      if (item !== undefined) {
        this.#wakeFetcher?.();
        this.#position = item.position;
        const reachedEnd = Number.isFinite(item.highWatermark) && item.position >= item.highWatermark;
        // Below a fetched high watermark, an older end offset is no end any more.
        if (reachedEnd) this.#end = item.highWatermark;
        else if (Number.isFinite(item.highWatermark)) this.#end = undefined;
        if (item.batch === undefined || item.batch.messages.length === 0) continue;
        const { topic, partition } = this;
        const messages = item.batch.messages;
        const records = new Array<ConsumedRecord>(messages.length);
        for (let i = 0; i < messages.length; i++) records[i] = fromFetchedMessage(topic, partition, messages[i]!);
        return { topic, partition, records, position: item.position, ...(reachedEnd ? { highWatermark: item.highWatermark } : {}) };
      }
      const position = this.#position;
      if (this.#eofAt !== position) {
        // Reached a known end: say so at once (the first time at this position).
        if (this.#end === position) return this.#eof(position);
      } else {
        // An empty batch was returned here already: give new records a fetch wait to come.
        quietMs = Math.max(quietMs, Math.min(this.#deps.options.maxWaitTimeMs, END_WAIT_MAX_MS));
      }
      if (await this.#waitForFetched(Math.min(quietMs, END_WAIT_MAX_MS))) continue;
      // Quiet: ask the broker where the read-committed end is (an open transaction stops it early).
      let high: number | undefined;
      try {
        high = (await this.#deps.topicWatermarks(this.topic)).get(this.partition)?.high;
      } catch (error) {
        this.logger.warn({ topic: this.topic, partition: this.partition, error }, 'checking the end offset failed; retrying');
      }
      this.#throwIfDone();
      if (this.#queue.length > 0 || this.#position !== position) continue;
      if (high !== undefined && position >= high) {
        this.#end = position;
        return this.#eof(position);
      }
      quietMs = Math.min(quietMs * 2, END_WAIT_MAX_MS);
    }
  }

  #eof(position: number): PartitionBatch {
    this.#eofAt = position;
    return { topic: this.topic, partition: this.partition, records: [], position, highWatermark: position };
  }

  /** Resolves true when something was queued (or the reader closed or failed), false after `ms`. */
  #waitForFetched(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wakeReader = undefined;
        resolve(false);
      }, ms);
      this.#wakeReader = () => {
        clearTimeout(timer);
        this.#wakeReader = undefined;
        resolve(true);
      };
    });
  }

  #throwIfDone(): void {
    if (this.closed) throw this.closedError();
    if (this.#failure !== undefined) throw this.#failure;
  }

  // ---- fetching -------------------------------------------------------------------------------

  #push(item: Fetched): void {
    this.#queue.push(item);
    this.#fetchPosition = item.position;
    this.#wakeReader?.();
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isStale }: EachBatchPayload): Promise<void> {
    if (this.closed || isStale() || batch.topic !== this.topic || batch.partition !== this.partition) return;
    const fetchedOffset = Number((batch as { fetchedOffset?: string }).fetchedOffset);
    if (Number.isFinite(fetchedOffset) && fetchedOffset !== this.#fetchPosition) {
      this.logger.warn(
        { topic: this.topic, partition: this.partition, expected: this.#fetchPosition, fetchedOffset },
        'the reader fetched from another offset than expected (offset reset?); following it',
      );
    }
    const lastOffset = batch.lastOffset();
    this.#push({ batch, position: Number(lastOffset) + 1, highWatermark: Number(batch.highWatermark) });
    resolveOffset(lastOffset);
    if (this.#queue.length < READ_AHEAD_BATCHES) return;
    // Enough fetched ahead: hold kafkajs's fetch loop until the caller takes one, heartbeating.
    const keepAlive = setInterval(() => void heartbeat().catch(() => {}), this.#deps.options.heartbeatIntervalMs);
    try {
      while (this.#queue.length >= READ_AHEAD_BATCHES && !this.closed && this.#failure === undefined) {
        await new Promise<void>((resolve) => (this.#wakeFetcher = resolve));
      }
    } finally {
      this.#wakeFetcher = undefined;
      clearInterval(keepAlive);
    }
  }

  /** A control-only (or aborted-only) batch: kafkajs resolves it without calling eachBatch. */
  #onStartBatchProcess(payload: { topic: string; partition: number; batchSize: number; lastOffset: string; highWatermark: string }): void {
    if (payload.batchSize !== 0 || payload.topic !== this.topic || payload.partition !== this.partition || this.closed) return;
    const next = Number(payload.lastOffset) + 1;
    if (!Number.isFinite(next) || next <= this.#fetchPosition) return;
    this.#push({ batch: undefined, position: next, highWatermark: Number(payload.highWatermark) });
  }

  #onGroupJoin(memberAssignment: Record<string, number[]>): void {
    if (this.closed) return;
    if (!(memberAssignment[this.topic] ?? []).includes(this.partition)) {
      this.#fail(
        new TransportError(`the reader group ${this.groupId} did not assign ${this.topic}/${this.partition}`, { retriable: false }),
      );
      return;
    }
    // Before the first fetch (kafkajs emits this between SyncGroup and fetching), and after a
    // rejoin, which restarts kafkajs from the (never committed) default offset.
    this.#consumer.seek({ topic: this.topic, partition: this.partition, offset: String(this.#fetchPosition) });
    this.#joined = true;
    this.#joinWaiter?.resolve();
  }

  #onCrash(error: Error, restart: boolean): void {
    if (this.closed) return;
    const mapped = toTransportError(error, `reading ${this.topic}/${this.partition}`);
    if (restart) {
      this.logger.warn({ groupId: this.groupId, error: mapped }, 'the reader consumer crashed; it restarts and rejoins');
      return;
    }
    this.#fail(
      TransportError.isInstance(mapped) ? mapped : new TransportError((mapped as Error).message, { cause: mapped, retriable: false }),
    );
  }

  #fail(error: TransportError): void {
    this.#failure ??= error;
    this.#joinWaiter?.reject(error);
    this.#wakeReader?.();
    this.#wakeFetcher?.();
  }

  protected interrupt(): void {
    this.#queue.length = 0;
    this.#joinWaiter?.reject(
      new TransportError(`the reader of ${this.topic}/${this.partition} was closed while opening`, { retriable: false }),
    );
    this.#wakeReader?.();
    this.#wakeFetcher?.();
  }

  protected async release(): Promise<void> {
    try {
      await this.#consumer.disconnect();
    } catch (error) {
      this.logger.warn({ groupId: this.groupId, error }, 'disconnecting the reader consumer failed');
    } finally {
      for (const remove of this.#removeListeners.splice(0)) remove();
    }
    if (this.#joined) {
      await this.#deps.deleteGroup(this.groupId).catch((error: unknown) => {
        this.logger.debug({ groupId: this.groupId, error }, 'deleting the reader group failed (the broker expires it)');
      });
    }
  }
}
