/**
 * The conformance suite's group listener: it records every callback and checks the ordering rules.
 *
 * @module
 */
import type { ConsumedRecord, GroupListener, PartitionBatch, TopicPartition, Transport } from '@ksched/core';
import { key, sleep, text } from './support.js';

export type Event = { readonly seq: number; readonly kind: 'assigned' | 'revoked'; readonly tp: string };

/** A listener that records everything and checks the callback-ordering rules as it goes. */
export class Collector implements GroupListener {
  readonly batches: PartitionBatch[] = [];
  readonly events: Event[] = [];
  readonly owned = new Set<string>();
  /** Every `onJoined`: its partitions (sorted keys), in call order. */
  readonly joins: (readonly string[])[] = [];
  readonly violations: string[] = [];
  readonly errors: unknown[] = [];
  readonly #settling = new Set<string>();
  readonly #inBatch = new Set<string>();
  readonly #sequence: { value: number };
  readonly #transport: Transport;
  /** Runs inside onAssigned, e.g. to produce to the partitions while the assignment settles. */
  duringAssign: ((partitions: readonly TopicPartition[]) => Promise<void>) | undefined;

  constructor(sequence: { value: number }, transport: Transport) {
    this.#sequence = sequence;
    this.#transport = transport;
  }

  async onAssigned(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      this.events.push({ seq: ++this.#sequence.value, kind: 'assigned', tp: key(tp) });
      this.#settling.add(key(tp));
    }
    // Like the engine: every assigned partition is read from its logical beginning.
    for (const tp of partitions) {
      const wm = await this.#transport.seekToBeginning(tp);
      if (!(wm.low <= wm.high)) this.violations.push(`seekToBeginning(${key(tp)}) in onAssigned returned low > high`);
    }
    await this.duringAssign?.(partitions);
    // Give a broken transport the chance to deliver before onAssigned settled.
    await sleep(20);
    for (const tp of partitions) {
      this.#settling.delete(key(tp));
      this.owned.add(key(tp));
    }
  }

  async onRevoked(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      this.events.push({ seq: ++this.#sequence.value, kind: 'revoked', tp: key(tp) });
      this.owned.delete(key(tp));
    }
  }

  onJoined(partitions: readonly TopicPartition[]): void {
    const joined = partitions.map(key).sort();
    // The join's onRevoked / onAssigned have settled: the member owns exactly what it is told.
    const owned = [...this.owned].sort();
    if (joined.join() !== owned.join() || this.#settling.size > 0) {
      this.violations.push(
        `onJoined([${joined.join(', ')}]) while owning [${owned.join(', ')}]${this.#settling.size > 0 ? ' with an onAssigned running' : ''}`,
      );
    }
    this.joins.push(joined);
  }

  /** The partitions of the last `onJoined`; undefined before the first. */
  lastJoin(): readonly string[] | undefined {
    return this.joins.at(-1);
  }

  async onBatch(batch: PartitionBatch): Promise<void> {
    const k = key(batch);
    if (this.#settling.has(k)) this.violations.push(`batch for ${k} before onAssigned settled`);
    else if (!this.owned.has(k)) this.violations.push(`batch for ${k}, which is not assigned`);
    if (this.#inBatch.has(k)) this.violations.push(`batch for ${k} while onBatch for the previous one had not settled`);
    for (const record of batch.records) {
      if (key(record) !== k) this.violations.push(`record of ${key(record)} in a batch of ${k}`);
    }
    this.#inBatch.add(k);
    this.batches.push(batch);
    await sleep(1);
    this.#inBatch.delete(k);
  }

  onError(error: unknown): void {
    this.errors.push(error);
  }

  /** Records delivered for a partition, in delivery order, from batch index `from` on. */
  records(tp: TopicPartition, from = 0): ConsumedRecord[] {
    return this.batches
      .slice(from)
      .filter((b) => key(b) === key(tp))
      .flatMap((b) => b.records);
  }

  values(tp: TopicPartition, from = 0): (string | null)[] {
    return this.records(tp, from).map((r) => text(r.value));
  }

  /** Index of the first EOF notice (no records) for `tp` with `position >= atLeast`, from batch `from`; -1 if none. */
  eofIndex(tp: TopicPartition, atLeast: number, from = 0): number {
    for (let i = from; i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (key(b) === key(tp) && b.records.length === 0 && b.position >= atLeast) return i;
    }
    return -1;
  }

  lastSeq(kind: Event['kind'], tp: string): number {
    let seq = -1;
    for (const e of this.events) if (e.kind === kind && e.tp === tp) seq = e.seq;
    return seq;
  }
}
