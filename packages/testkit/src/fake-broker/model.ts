/**
 * The FakeBroker's inner model: clients, group memberships and their assignments, groups, and the
 * helpers the log, group and delivery code share.
 *
 * @module
 */
import { TransportError } from '@ksched/core';
import type { Clock, ConsumedRecord, GroupListener, HeaderValue, PartitionBatch, RecordHeaders, TopicPartition } from '@ksched/core';
import { copyBytes, copyHeaders, isVisible, toConsumed } from '../internal/partition-log.js';
import type { PartitionLog, Txn } from '../internal/partition-log.js';

// Captured at load time so that fake timers installed later (vi.useFakeTimers) cannot stall delivery.
export const realSetImmediate = globalThis.setImmediate;
export const realClearImmediate = globalThis.clearImmediate;
export const realPerformanceNow = performance.now.bind(performance);
const encoder = new TextEncoder();

export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

export type Mutable<T> = { -readonly [K in keyof T]: T[K] };

export interface Topic {
  readonly name: string;
  readonly compacted: boolean;
  readonly logs: readonly PartitionLog[];
}

/** One member's hold on one partition. */
export interface Assignment {
  readonly log: PartitionLog;
  /** Next offset to fetch. */
  position: number;
  /** False until `onAssigned` for it has settled. */
  deliverable: boolean;
  /** Set once revocation started: no new batches. */
  revoking: boolean;
  /** The EOF notice was delivered since the position last moved over records / since the last seek. */
  eofNotified: boolean;
  inFlight: Promise<void> | null;
  /** Bumped by every seek, so a failed batch fetched before a seek is not replayed after it. */
  generation: number;
  failures: number;
  /** Delivery stopped after too many failed batches (until a seek). */
  stopped: boolean;
  /** Cancels the fetched batch's read-time wait (readSpeed), while one runs. */
  cancelFetch: (() => void) | null;
}

export type ClientStatus = 'new' | 'connected' | 'closed';

export class Client {
  readonly clientId: string;
  readonly clock: Pick<Clock, 'now'>;
  readonly maxBatchSize: number;
  status: ClientStatus = 'new';
  membership: Membership | null = null;
  readonly roundRobin = new Map<string, number>();

  constructor(clientId: string, clock: Pick<Clock, 'now'>, maxBatchSize: number) {
    this.clientId = clientId;
    this.clock = clock;
    this.maxBatchSize = maxBatchSize;
  }
}

export type MembershipState = 'joining' | 'active' | 'leaving' | 'left' | 'dropped';

export class Membership {
  readonly memberId: string;
  readonly client: Client;
  readonly group: Group;
  readonly topics: readonly string[];
  readonly listener: GroupListener;
  state: MembershipState = 'joining';
  readonly assigned = new Map<string, Assignment>();
  pumpScheduled = false;
  /** Resolved when dropped: abandons awaits on this member's callbacks. */
  readonly gone = deferred();
  /** Resolved when out of the group (left gracefully or dropped). */
  readonly left = deferred();
  /** Called once it is out of the group (the transport's subscription slot is free again). */
  onRemoved: () => void = () => {};

  constructor(memberId: string, client: Client, group: Group, topics: readonly string[], listener: GroupListener) {
    this.memberId = memberId;
    this.client = client;
    this.group = group;
    this.topics = topics;
    this.listener = listener;
  }
}

export class Group {
  readonly id: string;
  /** Members in join order (the assignors' order). */
  members: Membership[] = [];
  readonly owners = new Map<string, Membership>();
  /** Membership changes and rebalances run one at a time. */
  queue: Promise<void> = Promise.resolve();
  pendingOps = 0;
  waitingFor: string | null = null;

  constructor(id: string) {
    this.id = id;
  }
}

export interface TransactionalIdState {
  epoch: number;
  open: Txn | null;
}

export type ProduceSource = 'produce' | 'produceNoWait' | 'transaction';

/** A function, not an inline comparison: the state changes across awaits, which narrowing ignores. */
export function isDropped(m: Membership): boolean {
  return m.state === 'dropped';
}

export function tpOf(log: PartitionLog): TopicPartition {
  return { topic: log.topic, partition: log.partition };
}

/** Owned partitions, sorted by topic then partition. */
export function sortedTps(assigned: Iterable<Assignment>): TopicPartition[] {
  return [...assigned].map((a) => tpOf(a.log)).sort((x, y) => (x.topic < y.topic ? -1 : x.topic > y.topic ? 1 : x.partition - y.partition));
}

export function describeTp(tp: TopicPartition): string {
  return `${tp.topic}/${tp.partition}`;
}

export function toBytes(value: string | Uint8Array | null, what: string): Uint8Array | null {
  if (value === null) return null;
  if (typeof value === 'string') return encoder.encode(value);
  if (value instanceof Uint8Array) return copyBytes(value);
  throw new TransportError(`${what} must be a string, a Uint8Array or null, got ${typeof value}`);
}

export function validHeaders(headers: RecordHeaders | undefined): RecordHeaders {
  if (headers === undefined) return {};
  if (typeof headers !== 'object' || headers === null) throw new TransportError('headers must be an object');
  for (const [name, value] of Object.entries(headers) as [string, HeaderValue][]) {
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new TransportError(`header ${name} must be a string or a Uint8Array, got ${typeof value}`);
    }
  }
  return copyHeaders(headers);
}

export function keyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export const systemNow: Pick<Clock, 'now'> = { now: () => globalThis.Date.now() };

/**
 * What a read-committed fetch from `position` (at or above the log start, below the last stable
 * offset) returns: up to `maxBatchSize` visible records, and the position after them. Markers,
 * aborted records and compaction gaps up to the last stable offset are consumed too, so a batch
 * that is not full ends at the last stable offset.
 */
export function fetchBatch(log: PartitionLog, from: number, maxBatchSize: number): PartitionBatch {
  const lso = log.lastStable;
  const records: ConsumedRecord[] = [];
  let position = from;
  let full = false;
  const entries = log.entries;
  for (let i = log.indexAtOrAfter(position); i < entries.length; i++) {
    const entry = entries[i]!;
    if (entry.offset >= lso) break;
    if (isVisible(entry)) {
      if (records.length >= maxBatchSize) {
        full = true;
        break;
      }
      records.push(toConsumed(log, entry));
    }
    position = entry.offset + 1;
  }
  if (!full) position = Math.max(position, lso);
  return { topic: log.topic, partition: log.partition, records, position, highWatermark: lso };
}

export function positiveInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${String(value)}`);
  return value;
}
