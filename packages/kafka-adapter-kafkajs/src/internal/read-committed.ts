/**
 * The read-committed filter the adapter's kafkajs uses in place of kafkajs 2.2.4's own.
 *
 * With `isolation.level=read_committed` the broker returns every record up to the last stable
 * offset, aborted ones included, plus the list of aborted transactions that overlap the fetched
 * range (producer id and first offset); the client drops the records of those transactions. A
 * transaction of producer P is entered at its first offset and left at P's abort marker.
 *
 * kafkajs 2.2.4 enters at most one aborted transaction per fetched record and takes the list in
 * the order the broker sent it (the order the transactions *ended*). A fetch that starts after
 * several producers' aborted transactions began therefore lets some of their records through
 * (docs/reliability.md, finding 9). This filter enters every transaction that began at or before
 * the record, in first-offset order.
 *
 * @module
 */

/** A fetched record as kafkajs decodes it (the fields the filter reads). */
export interface FetchedRecord {
  readonly offset: string;
  readonly key: Buffer | Uint8Array | null | undefined;
  readonly batchContext: { readonly producerId: string; readonly inTransaction: boolean };
}

/** An aborted transaction from the fetch response. */
export interface AbortedTransaction {
  readonly producerId: string;
  readonly firstOffset: string;
}

/** The key of an abort marker (control record version 0, type 0 = ABORT). */
const ABORT_MARKER_KEY = Buffer.from([0, 0, 0, 0]);

function isAbortMarker(record: FetchedRecord): boolean {
  const key = record.key;
  return key !== null && key !== undefined && Buffer.from(key.buffer, key.byteOffset, key.byteLength).equals(ABORT_MARKER_KEY);
}

/**
 * Drops the records of aborted transactions from one partition's fetched records (control
 * records are kept: kafkajs removes them afterwards). Same call shape as kafkajs's own filter.
 */
export function filterAbortedRecords<R extends FetchedRecord>(input: {
  readonly messages: readonly R[];
  readonly abortedTransactions?: readonly AbortedTransaction[] | null;
}): R[] {
  const { messages, abortedTransactions } = input;
  if (abortedTransactions === undefined || abortedTransactions === null || abortedTransactions.length === 0) return [...messages];
  const byStart = abortedTransactions
    .map((t) => ({ producerId: t.producerId, start: BigInt(t.firstOffset) }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const inAborted = new Set<string>();
  let next = 0;
  return messages.filter((record) => {
    const offset = BigInt(record.offset);
    while (next < byStart.length && byStart[next]!.start <= offset) inAborted.add(byStart[next++]!.producerId);
    const { producerId, inTransaction } = record.batchContext;
    if (isAbortMarker(record)) {
      inAborted.delete(producerId);
      return true;
    }
    return !(inTransaction && inAborted.has(producerId));
  });
}
