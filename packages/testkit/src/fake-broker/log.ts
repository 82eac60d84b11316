/**
 * The FakeBroker's logs: the cluster state, topics and partitions, producing (partitioning,
 * validation, produce faults), compaction and retention.
 *
 * @module
 */
import { partitionForKey, RecordRefusedError, TransportError } from '@ksched/core';
import type { Clock, ProduceRecord, RecordMetadata, TopicPartition } from '@ksched/core';
import { isVisible, PartitionLog, tpKey } from '../internal/partition-log.js';
import type { Entry, Txn, TxnProduced } from '../internal/partition-log.js';
import type { CommitFault, Pause, ProduceFault, RecordRefusal } from './faults.js';
import { Client, describeTp, keyString, positiveInteger, toBytes, validHeaders } from './model.js';
import type { Group, Membership, Mutable, ProduceSource, Topic, TransactionalIdState } from './model.js';
import type { CompactOptions, CreateTopicOptions, FakeBrokerOptions, FakeTransportOptions, OffsetCommit, ProducedRecord } from './types.js';

/** Kafka's default `delete.retention.ms`: how long compaction keeps tombstones and markers. */
const DEFAULT_TOMBSTONE_RETENTION_MS = 86_400_000;

const systemNow: Pick<Clock, 'now'> = { now: () => globalThis.Date.now() };

/** All broker state, and the logs; the group and delivery layers extend it. */
export abstract class LogCluster {
  readonly clock: Pick<Clock, 'now'>;
  /** The clock reads wait on, with `readSpeed`; null without (no read time). */
  readonly timerClock: Clock | null;
  readonly recordsPerSecond: number;
  readonly fetchLatencyMs: number;
  readonly maxBatchSize: number;
  readonly assignor: 'range' | 'round-robin';
  readonly maxBatchRetries: number;
  readonly settleTimeoutMs: number;

  readonly topics = new Map<string, Topic>();
  readonly groups = new Map<string, Group>();
  readonly memberships = new Set<Membership>();
  readonly transactionalIds = new Map<string, TransactionalIdState>();
  readonly produced: Mutable<ProducedRecord>[] = [];
  readonly commits: OffsetCommit[] = [];
  readonly committed = new Map<string, Map<string, number>>();
  readonly produceFaults: ProduceFault[] = [];
  /** Predicates of records the client refuses (see `faults.refuseRecords`). */
  readonly refusals: RecordRefusal[] = [];
  readonly commitFaults: CommitFault[] = [];
  readonly pauses = new Set<Pause>();
  #clientSeq = 0;
  protected memberSeq = 0;
  protected txnSeq = 0;

  constructor(options: FakeBrokerOptions) {
    this.clock = options.clock ?? systemNow;
    const speed = options.readSpeed;
    if (speed === undefined) {
      this.timerClock = null;
      this.recordsPerSecond = Infinity;
      this.fetchLatencyMs = 0;
    } else {
      const clock = options.clock as Partial<Clock> | undefined;
      if (clock === undefined || typeof clock.setTimeout !== 'function' || typeof clock.clearTimeout !== 'function') {
        throw new TypeError(
          'FakeBroker: readSpeed needs a clock with timers: pass `clock` with now(), setTimeout() and clearTimeout() ' +
            `(e.g. a FakeClock), ${clock === undefined ? 'no clock was given' : 'the given clock has no setTimeout/clearTimeout'}`,
        );
      }
      this.timerClock = clock as Clock;
      const rps = speed.recordsPerSecond ?? Infinity;
      if (typeof rps !== 'number' || !(rps > 0)) throw new RangeError(`readSpeed.recordsPerSecond must be > 0, got ${String(rps)}`);
      const latency = speed.fetchLatencyMs ?? 0;
      if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0) {
        throw new RangeError(`readSpeed.fetchLatencyMs must be a finite number >= 0, got ${String(latency)}`);
      }
      this.recordsPerSecond = rps;
      this.fetchLatencyMs = latency;
    }
    this.maxBatchSize = positiveInteger('maxBatchSize', options.maxBatchSize ?? 500);
    this.assignor = options.assignor ?? 'range';
    if (this.assignor !== 'range' && this.assignor !== 'round-robin') {
      throw new RangeError(`assignor must be 'range' or 'round-robin', got ${String(this.assignor)}`);
    }
    const retries = options.maxBatchRetries ?? 3;
    if (!Number.isInteger(retries) || retries < 0) throw new RangeError(`maxBatchRetries must be an integer >= 0, got ${String(retries)}`);
    this.maxBatchRetries = retries;
    this.settleTimeoutMs = options.settleTimeoutMs ?? 2000;
  }

  newClient(options: FakeTransportOptions): Client {
    const seq = ++this.#clientSeq;
    const maxBatchSize = positiveInteger('maxBatchSize', options.maxBatchSize ?? this.maxBatchSize);
    return new Client(options.clientId ?? `client-${seq}`, options.clock ?? this.clock, maxBatchSize);
  }

  /** Delivery may have something new to deliver (records appended, markers written, compaction). */
  abstract wakeAll(): void;
  /** A metadata change: groups subscribed to `topic` rebalance. */
  protected abstract topicCreated(topic: string): void;

  // ---- topics ---------------------------------------------------------------------------------

  createTopic(name: string, options: CreateTopicOptions): void {
    if (typeof name !== 'string' || name.length === 0 || name.includes(':')) {
      throw new TransportError(`invalid topic name ${JSON.stringify(name)}`);
    }
    if (this.topics.has(name)) throw new TransportError(`topic ${name} already exists`);
    const partitions = positiveInteger('partitions', options.partitions);
    const logs = Array.from({ length: partitions }, (_, p) => new PartitionLog(name, p));
    this.topics.set(name, { name, compacted: options.compacted ?? false, logs });
    this.topicCreated(name);
  }

  topic(name: string): Topic {
    const topic = this.topics.get(name);
    if (topic === undefined) throw new TransportError(`unknown topic ${JSON.stringify(name)}`);
    return topic;
  }

  log(tp: TopicPartition): PartitionLog {
    const log = this.topic(tp.topic).logs[tp.partition];
    if (log === undefined) throw new TransportError(`unknown partition ${describeTp(tp)}`);
    return log;
  }

  logsOf(topic: string, partition: number | undefined): readonly PartitionLog[] {
    return partition === undefined ? this.topic(topic).logs : [this.log({ topic, partition })];
  }

  // ---- producing ------------------------------------------------------------------------------

  requireConnected(client: Client, operation: string): void {
    if (client.status === 'new') throw new TransportError(`${operation}: ${client.clientId} is not connected; call connect() first`);
    if (client.status === 'closed') throw new TransportError(`${operation}: ${client.clientId} is closed`);
  }

  /** Throws `RecordRefusedError` for the first record a refusal matches, before anything of the call is written. */
  checkRefusals(records: readonly ProduceRecord[]): void {
    if (this.refusals.length === 0) return;
    records.forEach((record, index) => {
      const refusal = this.refusals.find((r) => r.match(record));
      if (refusal !== undefined) throw new RecordRefusedError(index, refusal.reason);
    });
  }

  /**
   * Appends one record (after the produce faults); throws TransportError for invalid records.
   * `repeatedHeaders`: the header names the record repeats with different values (`headers` holds
   * the last of each), for {@link FakeBroker.appendRaw}.
   */
  append(
    client: Client,
    record: ProduceRecord,
    source: ProduceSource,
    txn: Txn | null,
    repeatedHeaders?: readonly string[],
  ): RecordMetadata {
    if (typeof record !== 'object' || record === null) throw new TransportError('a produced record must be an object');
    const topic = this.topic(record.topic);
    const key = toBytes(record.key, 'key');
    const value = toBytes(record.value, 'value');
    const headers = validHeaders(record.headers);
    const partition = this.choosePartition(client, topic, record, key);
    if (topic.compacted && key === null) {
      throw new TransportError(`compacted topic ${topic.name} cannot accept a record without a key`);
    }
    const timestamp = record.timestamp ?? client.clock.now();
    if (typeof timestamp !== 'number' || !Number.isFinite(timestamp)) throw new TransportError(`invalid timestamp ${String(timestamp)}`);
    for (const fault of this.produceFaults) {
      if (fault.topic !== undefined && fault.topic !== topic.name) continue;
      if (fault.source !== undefined && fault.source !== source) continue;
      const hit = fault.handle.hit();
      if (hit) throw hit.error;
    }
    const log = topic.logs[partition]!;
    const repeated = repeatedHeaders === undefined || repeatedHeaders.length === 0 ? {} : { repeatedHeaders: [...repeatedHeaders] };
    const entry = log.append({ key, value, headers, ...repeated, timestamp, control: null, txn });
    const produced: Mutable<ProducedRecord> = {
      topic: topic.name,
      partition,
      offset: entry.offset,
      key,
      value,
      headers,
      ...repeated,
      timestamp,
      clientId: client.clientId,
      transactionalId: txn?.transactionalId ?? null,
      transaction: txn ? 'open' : 'none',
    };
    this.produced.push(produced);
    if (txn) {
      const k = tpKey(log.topic, log.partition);
      if (!txn.logs.has(k)) {
        txn.logs.set(k, log);
        log.openTxns.set(txn, entry.offset);
      }
      txn.produced.push(produced as TxnProduced);
    }
    this.wakeAll();
    return { topic: topic.name, partition, offset: entry.offset };
  }

  choosePartition(client: Client, topic: Topic, record: ProduceRecord, key: Uint8Array | null): number {
    const count = topic.logs.length;
    if (record.partition !== undefined) {
      if (!Number.isInteger(record.partition) || record.partition < 0 || record.partition >= count) {
        throw new TransportError(`unknown partition ${topic.name}/${String(record.partition)} (the topic has ${count})`);
      }
      return record.partition;
    }
    if (record.partitionKey !== undefined) return partitionForKey(record.partitionKey, count);
    if (key !== null) return partitionForKey(key, count);
    const next = client.roundRobin.get(topic.name) ?? 0;
    client.roundRobin.set(topic.name, next + 1);
    return next % count;
  }

  // ---- compaction and retention ---------------------------------------------------------------

  compact(topicName: string, options: CompactOptions): number {
    const topic = this.topic(topicName);
    if (!topic.compacted) throw new TransportError(`compact: topic ${topicName} was not created with { compacted: true }`);
    const retention = options.tombstoneRetentionMs ?? DEFAULT_TOMBSTONE_RETENTION_MS;
    const now = options.now ?? this.clock.now();
    const expired = (entry: Entry): boolean => entry.timestamp + retention <= now;
    let removed = 0;
    for (const log of topic.logs) {
      // Only the stable part of the log is cleanable (an open transaction and what follows stay).
      const lso = log.lastStable;
      const latest = new Map<string, number>();
      for (const entry of log.entries) {
        if (entry.offset >= lso) break;
        if (isVisible(entry) && entry.key !== null) latest.set(keyString(entry.key), entry.offset);
      }
      const keepData = (entry: Entry): boolean => {
        if (entry.txn !== null && entry.txn.state === 'aborted') return false;
        if (entry.key === null) return true;
        if (latest.get(keyString(entry.key)) !== entry.offset) return false;
        return !(entry.value === null && expired(entry));
      };
      const survivors = log.entries.filter((entry) => entry.offset >= lso || entry.control !== null || keepData(entry));
      // A marker goes once no record of its transaction is left here and the retention passed.
      const liveTxns = new Set<Txn>();
      for (const entry of survivors) if (entry.control === null && entry.txn !== null) liveTxns.add(entry.txn);
      const kept = survivors.filter(
        (entry) => entry.offset >= lso || entry.control === null || liveTxns.has(entry.txn!) || !expired(entry),
      );
      removed += log.entries.length - kept.length;
      log.entries = kept;
      // Stricter than Kafka (which keeps its log start offset): the low watermark follows the
      // head, so code seeking to literal offset 0 instead of the logical beginning is caught.
      log.low = Math.max(log.low, kept[0]?.offset ?? log.end);
    }
    this.wakeAll();
    return removed;
  }

  deleteRecords(tp: TopicPartition, beforeOffset: number): void {
    const log = this.log(tp);
    if (!Number.isInteger(beforeOffset) || beforeOffset < 0 || beforeOffset > log.lastStable) {
      throw new RangeError(
        `deleteRecords: offset must be an integer in [0, ${log.lastStable}] for ${describeTp(tp)}, got ${String(beforeOffset)}`,
      );
    }
    if (beforeOffset <= log.low) return;
    log.entries = log.entries.filter((entry) => entry.offset >= beforeOffset);
    log.low = beforeOffset;
    this.wakeAll();
  }
}
