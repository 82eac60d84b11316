/**
 * `Transport.openReader` over kafkajs: a pull-based reader of one partition outside the
 * scheduler's consumer group, fetching with plain Fetch requests.
 *
 * **No group.** kafkajs 2.2.4 has no manual assignment: its consumer only fetches what a group
 * assigns it. Until 2026-12-07 a reader was therefore a consumer in a throwaway group of its own,
 * and opening it cost the join of a new group: FindCoordinator, JoinGroup twice, SyncGroup and
 * the broker's `group.initial.rebalance.delay.ms`, which is **3 s** by default (0 on the test
 * broker): every explorer page took over 3 s on such a broker (measured: p50 3,108 ms), plus a
 * LeaveGroup and DeleteGroups at close. The reader now talks to the partition leader directly, on
 * a kafkajs `Cluster` of its own (kafkajs's internal connection pool, the one each kafkajs client
 * builds from the `Kafka` object's settings: brokers, TLS, SASL, timeouts, retries): opening is a
 * connection and a metadata request, then Fetch requests at the reader's position, read committed,
 * each decoded into kafkajs's consumer `Batch` of the adapter's copy (its corrected aborted-
 * transaction filter; `internal/kafkajs.ts`). Nothing joins a group, nothing is committed.
 *
 * **Fetching ahead.** One fetch at a time: from the second batch on, the reader fetches the next
 * batch while the caller handles the one it got (one batch ahead, as before: deeper read-ahead
 * measured slower), and it does not fetch ahead once it reached the read-committed end. Not after
 * the first batch: a caller that reads one batch (a page of the admin API's explorer) would have
 * the next one fetched and decoded for nothing, on its event loop, while it goes on (the next
 * page's requests waited for it: ~15 ms per page). Records are mapped when `read()`
 * hands the batch out, with `fromFetchedMessage` (kafkajs's Buffers re-labelled, not copied).
 *
 * **Position and end.** A fetch's position is the end of the last record batch it returned
 * (`firstOffset + lastOffsetDelta + 1` of kafkajs's batch context: transaction markers, aborted
 * records and records compacted out of a batch are accounted for). The Fetch response's last
 * stable offset (read committed: where the committed log ends) says when the reader is at the end:
 * `read()` then resolves an empty batch with that position, at once the first time at a position
 * (also when the end offset seen at open is the start), and after one fetch wait (`maxWaitTimeMs`,
 * at most 1 s, on the broker) when asked again at the same position.
 *
 * **Failures.** Retriable errors (a connection lost, a leader moved, a timeout) refresh the
 * metadata and retry with `consumerRetry`'s back-off; an offset out of range (retention moved the
 * low watermark past the position) restarts at the low watermark, with a warning. Other errors,
 * or retries run out, reject `read()` with a `TransportError`.
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import type { ConsumedRecord, PartitionBatch, Watermarks } from '@ksched/core';
import { PartitionReaderBase } from '@ksched/core/adapter';
import type { ReaderContext } from '@ksched/core/adapter';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { fromFetchedMessage } from '../map-record.js';
import { kafkaJsErrors, toTransportError } from '../map-errors.js';
import type { ResolvedKafkaJsTransportOptions } from '../options.js';
import { KafkaJsBatch } from './kafkajs.js';

/** Longest `read()` waits for new records at the end before it answers with an empty batch, ms (a fetch's `maxWaitTime`). */
const END_WAIT_MAX_MS = 1000;
/**
 * Size of a reader's first fetch, bytes (at most `fetchMaxBytesPerPartition`); each fetch that
 * returns records allows {@link FETCH_GROWTH} times more, up to `fetchMaxBytesPerPartition`. A reader
 * opened for a page of records (the admin API's explorer) then decodes a few hundred records, not
 * a whole 1 MB fetch (~2,000 records, ~15 ms); a reader that reads on reaches full-size fetches
 * after two more.
 */
export const FIRST_FETCH_BYTES = 65_536;
const FETCH_GROWTH = 4;
/** Pause before fetching again after a fetch below the end returned nothing, ms. */
const EMPTY_FETCH_PAUSE_MS = 50;
/** kafkajs's isolation level of a read-committed Fetch. */
const READ_COMMITTED = 1;
/** The description of kafkajs's private symbol under which a `Kafka` object keeps its cluster factory. */
const CREATE_CLUSTER = 'private:Kafka:createCluster';

/** What the reader needs besides the shell's context: the kafkajs client and the transport's admin client. */
export interface PartitionReaderDeps extends ReaderContext<KafkaJsPartitionReader> {
  readonly kafka: Kafka;
  readonly options: ResolvedKafkaJsTransportOptions;
  /** Watermarks (low, read-committed high) of every partition of `topic`. */
  topicWatermarks(topic: string): Promise<Map<number, Watermarks>>;
}

/** A record as kafkajs decodes it from a fetch: the consumer's message plus its record batch's context. */
type FetchedMessage = KafkaMessage & {
  readonly batchContext?: { readonly firstOffset: string; readonly lastOffsetDelta: number };
};

/** One partition of a Fetch response, as kafkajs decodes it (v4+: with the last stable offset). */
interface PartitionData {
  readonly partition: number;
  readonly highWatermark: string;
  readonly lastStableOffset?: string;
  readonly abortedTransactions?: unknown[];
  readonly messages: FetchedMessage[];
}

/** The parts of kafkajs's internal `Broker` the reader uses. */
interface KafkaJsBroker {
  fetch(request: {
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: { topic: string; partitions: { partition: number; fetchOffset: string; maxBytes: number }[] }[];
  }): Promise<{ responses: { topicName: string; partitions: PartitionData[] }[] }>;
}

/** The parts of kafkajs's internal `Cluster` (its connection pool and metadata) the reader uses. */
interface KafkaJsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  addTargetTopic(topic: string): Promise<void>;
  refreshMetadata(): Promise<void>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(options: { nodeId: string }): Promise<KafkaJsBroker>;
}

type ClusterFactory = (options: {
  metadataMaxAge?: number;
  allowAutoTopicCreation?: boolean;
  maxInFlightRequests?: number | null;
  isolationLevel?: number;
}) => KafkaJsCluster;

/**
 * A kafkajs `Cluster` of `kafka`'s settings (brokers, TLS, SASL, timeouts, retries, logger), the
 * way kafkajs builds one for each of its clients: through the factory the `Kafka` object keeps
 * under a private symbol (kafkajs 2.2.x; the adapter pins kafkajs 2.2.4).
 */
export function createCluster(kafka: Kafka): KafkaJsCluster {
  const symbol = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CREATE_CLUSTER);
  const factory = symbol === undefined ? undefined : (kafka as unknown as Record<symbol, unknown>)[symbol];
  if (typeof factory !== 'function') {
    throw new TransportError('this kafkajs has no cluster factory: the kafkajs adapter needs kafkajs 2.2.x', { retriable: false });
  }
  return (factory as ClusterFactory)({ allowAutoTopicCreation: false, maxInFlightRequests: null, isolationLevel: READ_COMMITTED });
}

/** One fetch: its records (committed, no control records) and where the next fetch starts. */
interface Fetched {
  readonly messages: readonly KafkaMessage[];
  /** The next offset to fetch after this one. */
  readonly position: number;
  /** The partition's read-committed end offset the fetch reported (NaN when unknown). */
  readonly end: number;
}

/** A reader of one partition (see the module comment). Create it, then {@link PartitionReaderBase.open}. */
export class KafkaJsPartitionReader extends PartitionReaderBase {
  readonly #deps: PartitionReaderDeps;
  readonly #cluster: KafkaJsCluster;
  /** The partition leader's connection, once known (reset when a fetch fails). */
  #broker: KafkaJsBroker | undefined;
  /** The fetch in flight or done and not handed out yet (at most one: read one ahead). */
  #next: Promise<Fetched> | undefined;
  /** The next offset `read()` hands out. */
  #position: number;
  /** Most bytes the next fetch asks for (see {@link FIRST_FETCH_BYTES}). */
  #fetchBytes: number;
  /** The read-committed end offset last seen (at open: the watermarks' high). */
  #end: number;
  /** Position of the last empty batch returned at the end. */
  #eofAt: number | undefined;
  /** Batches with records handed out. */
  #batches = 0;
  /** Settle what waits (a `read()` for a fetch, a fetch's back-off) when the reader closes. */
  readonly #aborts = new Set<(error: unknown) => void>();

  constructor(deps: PartitionReaderDeps) {
    super(deps, kafkaJsErrors);
    this.#deps = deps;
    this.#position = deps.start;
    this.#end = deps.watermarks.high;
    this.#fetchBytes = Math.min(FIRST_FETCH_BYTES, deps.options.fetchMaxBytesPerPartition);
    this.#cluster = createCluster(deps.kafka);
  }

  /** Connects, loads the topic's metadata, and starts the first fetch at `start` (unless that is the end). */
  protected async connectClient(): Promise<void> {
    await this.#cluster.connect();
    if (this.closed) throw this.closedError();
    await this.#cluster.addTargetTopic(this.topic);
    if (this.closed) throw this.closedError();
    this.#broker = await this.#leader();
    if (this.#position < this.#end) this.#next = this.#fetchAhead(this.#position);
  }

  // ---- reading --------------------------------------------------------------------------------

  protected async readBatch(): Promise<PartitionBatch> {
    const deadline = Date.now() + END_WAIT_MAX_MS;
    for (;;) {
      const position = this.#position;
      // At a known end: say so at once the first time at this position; else a fetch waits for new records.
      if (this.#next === undefined && position >= this.#end && this.#eofAt !== position) return this.#eof(position);
      const fetched = await this.#wait((this.#next ??= this.#fetchAhead(position)));
      this.#next = undefined;
      if (this.closed) throw this.closedError();
      this.#position = Math.max(position, fetched.position);
      if (Number.isFinite(fetched.end)) this.#end = fetched.end;
      const atEnd = this.#position >= this.#end;
      const progressed = fetched.messages.length > 0 || this.#position > position;
      // Read ahead while the caller handles this batch: from its second batch on (see the module
      // comment), and not past the end (the next read waits there).
      if (!atEnd && progressed && this.#batches > 0) this.#next = this.#fetchAhead(this.#position);
      if (fetched.messages.length > 0) {
        const { topic, partition } = this;
        const messages = fetched.messages;
        const records = new Array<ConsumedRecord>(messages.length);
        for (let i = 0; i < messages.length; i++) records[i] = fromFetchedMessage(topic, partition, messages[i]!);
        this.#batches++;
        return { topic, partition, records, position: this.#position, ...(atEnd ? { highWatermark: this.#end } : {}) };
      }
      if (atEnd) return this.#eof(this.#position);
      // Markers or aborted records only: go on. Nothing at all below the end (not expected: the
      // broker returns what is there): try again shortly, and answer with no records after about
      // a fetch wait.
      if (!progressed) {
        if (Date.now() >= deadline) return { topic: this.topic, partition: this.partition, records: [], position };
        await this.#sleep(EMPTY_FETCH_PAUSE_MS);
      }
    }
  }

  #eof(position: number): PartitionBatch {
    this.#eofAt = position;
    return { topic: this.topic, partition: this.partition, records: [], position, highWatermark: position };
  }

  /** `work`, or a rejection as soon as the reader is closed. */
  #wait<T>(work: Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(this.closedError());
    let abort: (error: unknown) => void = () => {};
    return new Promise<T>((resolve, reject) => {
      abort = reject;
      this.#aborts.add(abort);
      work.then(resolve, reject);
    }).finally(() => this.#aborts.delete(abort));
  }

  // ---- fetching -------------------------------------------------------------------------------

  /** {@link KafkaJsPartitionReader.#fetch} started now, its rejection handled by whoever awaits it. */
  #fetchAhead(offset: number): Promise<Fetched> {
    const fetching = this.#fetch(offset);
    fetching.catch(() => {}); // awaited by read(); a fetch ahead that nobody takes (closed) must not be unhandled
    return fetching;
  }

  /** One Fetch at `offset`, retried on retriable errors; an offset out of range restarts at the low watermark. */
  async #fetch(offset: number): Promise<Fetched> {
    const o = this.#deps.options;
    const retry = o.consumerRetry;
    let from = offset;
    for (let attempt = 0; ; attempt++) {
      if (this.closed) throw this.closedError();
      try {
        const broker = (this.#broker ??= await this.#leader());
        const { responses } = await broker.fetch({
          isolationLevel: READ_COMMITTED,
          maxWaitTime: Math.min(o.maxWaitTimeMs, END_WAIT_MAX_MS),
          minBytes: 1,
          maxBytes: o.fetchMaxBytes,
          topics: [
            { topic: this.topic, partitions: [{ partition: this.partition, fetchOffset: String(from), maxBytes: this.#fetchBytes }] },
          ],
        });
        const data = responses.find((r) => r.topicName === this.topic)?.partitions.find((p) => p.partition === this.partition);
        if (data === undefined) return { messages: [], position: from, end: Number.NaN };
        return this.#fetched(from, data);
      } catch (error) {
        if (this.closed) throw this.closedError();
        const mapped = toTransportError(error, `reading ${this.topic}/${this.partition} at ${from}`) as TransportError;
        if (attempt >= retry.retries) throw mapped;
        if ((error as { name?: unknown }).name === 'KafkaJSOffsetOutOfRange') {
          from = await this.#restartFrom(from);
          continue;
        }
        if (!mapped.retriable) throw mapped;
        this.#broker = undefined;
        const backoff = Math.min(retry.maxRetryTimeMs, retry.initialRetryTimeMs * 2 ** attempt) * (0.8 + Math.random() * 0.4);
        this.logger.warn({ topic: this.topic, partition: this.partition, attempt, error: mapped }, 'a reader fetch failed; retrying');
        await this.#sleep(backoff);
        await this.#cluster.refreshMetadata().catch(() => {});
      }
    }
  }

  /** The decoded response of a fetch at `from`. */
  #fetched(from: number, data: PartitionData): Fetched {
    // The end of the last record batch returned (markers and compacted-out records included).
    let position = from;
    for (const m of data.messages) {
      const context = m.batchContext;
      const end = context === undefined ? Number(m.offset) + 1 : Number(context.firstOffset) + context.lastOffsetDelta + 1;
      if (end > position) position = end;
    }
    const lso = Number(data.lastStableOffset ?? Number.NaN);
    // Without a last stable offset (fetch before v4): the high watermark, when the position reached it.
    const hwm = Number(data.highWatermark);
    const end = Number.isFinite(lso) && lso >= 0 ? lso : position >= hwm ? hwm : Number.NaN;
    const messages = data.messages.length === 0 ? [] : new KafkaJsBatch(this.topic, String(from), data).messages;
    if (data.messages.length > 0)
      this.#fetchBytes = Math.min(this.#fetchBytes * FETCH_GROWTH, this.#deps.options.fetchMaxBytesPerPartition);
    return { messages: messages as KafkaMessage[], position, end };
  }

  /** Where to go on after an offset out of range at `from`: the end when past it (a truncated log), else the low watermark. */
  async #restartFrom(from: number): Promise<number> {
    const wm = (await this.#deps.topicWatermarks(this.topic)).get(this.partition);
    if (wm === undefined) throw new TransportError(`${this.topic}/${this.partition} does not exist any more`, { retriable: false });
    const next = from > wm.high ? wm.high : wm.low;
    this.logger.warn(
      { topic: this.topic, partition: this.partition, from, low: wm.low, high: wm.high, next },
      'the reader position is out of range (retention or DeleteRecords moved the beginning, or the log was truncated): going on from there',
    );
    return next;
  }

  /** The connection to the partition's leader. */
  async #leader(): Promise<KafkaJsBroker> {
    const leaders = this.#cluster.findLeaderForPartitions(this.topic, [this.partition]);
    const nodeId = Object.keys(leaders)[0];
    if (nodeId === undefined) {
      throw new TransportError(`no leader known for ${this.topic}/${this.partition}`, { retriable: true });
    }
    return this.#cluster.findBroker({ nodeId });
  }

  /** Waits `ms`, or less when the reader closes. */
  #sleep(ms: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    return this.#wait(new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))).finally(() => clearTimeout(timer));
  }

  protected interrupt(): void {
    for (const abort of this.#aborts) abort(this.closedError());
  }

  protected async release(): Promise<void> {
    this.#next = undefined;
    try {
      await this.#cluster.disconnect();
    } catch (error) {
      this.logger.warn({ topic: this.topic, partition: this.partition, error }, 'disconnecting the reader failed');
    }
  }
}
