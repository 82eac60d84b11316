/**
 * The FakeBroker's storage: one append-only log per partition, with transaction bookkeeping.
 * Internal to the testkit (blocked by the exports map).
 *
 * @module
 */
import type { ConsumedRecord, HeaderValue, RecordHeaders } from '@ksched/core';

/** Final state of a transaction, or `open` while it runs. */
export type TxnState = 'open' | 'committed' | 'aborted';

/** What a transaction's records report in `broker.produced` (kept up to date). */
export interface TxnProduced {
  transaction: 'open' | 'committed' | 'aborted';
}

/** One transaction of one transactional id, possibly spanning partitions. */
export interface Txn {
  readonly seq: number;
  readonly transactionalId: string;
  state: TxnState;
  /** The commit was decided but its producer was told it failed: it commits when the id goes on. */
  commitPending?: boolean;
  /** Partitions written, by `topic:partition`. */
  readonly logs: Map<string, PartitionLog>;
  readonly produced: TxnProduced[];
}

/** A stored record or control marker. */
export interface Entry {
  readonly offset: number;
  readonly key: Uint8Array | null;
  readonly value: Uint8Array | null;
  readonly headers: RecordHeaders;
  /** Header names the record carried more than once with different values (see `ConsumedRecord`). */
  readonly repeatedHeaders?: readonly string[];
  readonly timestamp: number;
  /** Transaction marker kind; `null` for data records. */
  readonly control: 'commit' | 'abort' | null;
  readonly txn: Txn | null;
}

/** `topic:partition` (a colon cannot appear in a Kafka topic name). */
export function tpKey(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** True for a data record a read-committed consumer may see (once below the last stable offset). */
export function isVisible(entry: Entry): boolean {
  return entry.control === null && (entry.txn === null || entry.txn.state === 'committed');
}

/** A private copy of bytes (a Buffer argument becomes a plain Uint8Array). */
export function copyBytes(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** A private copy of headers; byte values are copied. */
export function copyHeaders(headers: RecordHeaders): RecordHeaders {
  const out: Record<string, HeaderValue> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = typeof value === 'string' ? value : copyBytes(value);
  return out;
}

/** A fresh consumed record (copies, so a consumer cannot corrupt the log). */
export function toConsumed(log: PartitionLog, entry: Entry): ConsumedRecord {
  const record: ConsumedRecord = {
    topic: log.topic,
    partition: log.partition,
    offset: entry.offset,
    key: entry.key === null ? null : copyBytes(entry.key),
    value: entry.value === null ? null : copyBytes(entry.value),
    headers: copyHeaders(entry.headers),
    timestamp: entry.timestamp,
  };
  return entry.repeatedHeaders === undefined ? record : { ...record, repeatedHeaders: [...entry.repeatedHeaders] };
}

/** One partition's log. Offsets increase monotonically; compaction leaves gaps. */
export class PartitionLog {
  readonly topic: string;
  readonly partition: number;
  /** Stored entries in offset order (not contiguous after compaction). */
  entries: Entry[] = [];
  /** Log start offset (low watermark). */
  low = 0;
  /** Log end offset: the offset the next appended entry gets. */
  end = 0;
  /** First offset of each open transaction in this partition. */
  readonly openTxns = new Map<Txn, number>();

  constructor(topic: string, partition: number) {
    this.topic = topic;
    this.partition = partition;
  }

  /** Last stable offset: before the first record of the earliest open transaction, else the log end. */
  get lastStable(): number {
    let lso = this.end;
    for (const first of this.openTxns.values()) if (first < lso) lso = first;
    return lso;
  }

  append(entry: Omit<Entry, 'offset'>): Entry {
    const stored: Entry = { ...entry, offset: this.end++ };
    this.entries.push(stored);
    return stored;
  }

  /** Index of the first entry whose offset is ≥ `offset` (binary search). */
  indexAtOrAfter(offset: number): number {
    let lo = 0;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.entries[mid]!.offset < offset) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
