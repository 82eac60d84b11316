/**
 * Joins concurrent produce calls into one request.
 *
 * kafkajs's idempotent producer holds a lock per broker for the whole round trip of a produce
 * request (`eosManager.acquireBrokerLock` in `sendMessages`), so concurrent `sendBatch` calls go
 * one after the other. A member owning many partitions has one engine per partition, each with
 * its own small produce calls: 60 partitions meant 60 round trips in a row before the last one's
 * records left (lateness p50 ~250 ms at 1,000 schedules/s in the bench). The joiner keeps one
 * request in flight and sends every call that arrived meanwhile in the next one.
 *
 * A joined request that fails rejects every call in it: each caller treats its records as
 * possibly written, as with any failed produce. A call made with `alone` is never joined, so a
 * caller isolating a failing record learns about its own records only.
 *
 * @module
 */
import type { ProduceOptions, ProduceRecord, RecordMetadata } from '@ksched/core';

/** How much one joined request may carry (a call bigger than that alone still goes, alone). */
export interface JoinLimits {
  readonly maxRecords: number;
  /** Estimated from keys, values and headers. */
  readonly maxBytes: number;
}

/** Default limits: like one engine flush (1,000 records), well under the broker's 1 MiB batch limit. */
export const DEFAULT_JOIN_LIMITS: JoinLimits = Object.freeze({ maxRecords: 1000, maxBytes: 512 * 1024 });

interface Waiting {
  readonly records: readonly ProduceRecord[];
  readonly alone: boolean;
  readonly resolve: (metadata: RecordMetadata[]) => void;
  readonly reject: (error: unknown) => void;
}

function sizeOf(value: string | Uint8Array | null | undefined): number {
  return value === null || value === undefined ? 0 : value.length;
}

/** Rough size of records on the wire (keys, values, header names and values). */
export function approximateBytes(records: readonly ProduceRecord[]): number {
  let bytes = 0;
  for (const record of records) {
    bytes += 16 + sizeOf(record.key) + sizeOf(record.value);
    const headers = record.headers;
    if (headers !== undefined) for (const name in headers) bytes += name.length + sizeOf(headers[name]);
  }
  return bytes;
}

/** One request in flight; the calls waiting meanwhile go together in the next one (see the module comment). */
export class ProduceJoiner {
  readonly #send: (records: readonly ProduceRecord[]) => Promise<RecordMetadata[]>;
  readonly #limits: JoinLimits;
  readonly #queue: Waiting[] = [];
  #busy = false;

  constructor(send: (records: readonly ProduceRecord[]) => Promise<RecordMetadata[]>, limits: JoinLimits = DEFAULT_JOIN_LIMITS) {
    this.#send = send;
    this.#limits = limits;
  }

  produce(records: readonly ProduceRecord[], options?: ProduceOptions): Promise<RecordMetadata[]> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ records, alone: options?.alone === true, resolve, reject });
      this.#next();
    });
  }

  #next(): void {
    if (this.#busy) return;
    const first = this.#queue.shift();
    if (first === undefined) return;
    const calls = [first];
    if (!first.alone && this.#queue.length > 0) {
      let count = first.records.length;
      let bytes = approximateBytes(first.records);
      while (this.#queue.length > 0 && !this.#queue[0]!.alone) {
        const call = this.#queue[0]!;
        const callBytes = approximateBytes(call.records);
        if (count + call.records.length > this.#limits.maxRecords || bytes + callBytes > this.#limits.maxBytes) break;
        calls.push(this.#queue.shift()!);
        count += call.records.length;
        bytes += callBytes;
      }
    }
    this.#busy = true;
    const records = calls.length === 1 ? first.records : calls.flatMap((call) => call.records);
    void this.#send(records)
      .then(
        (metadata) => {
          if (calls.length === 1) {
            first.resolve(metadata);
            return;
          }
          let from = 0;
          for (const call of calls) {
            call.resolve(metadata.slice(from, from + call.records.length));
            from += call.records.length;
          }
        },
        (error: unknown) => {
          for (const call of calls) call.reject(error);
        },
      )
      .finally(() => {
        this.#busy = false;
        this.#next();
      });
  }
}
