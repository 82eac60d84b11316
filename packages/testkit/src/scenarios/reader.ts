/**
 * The scenarios' reader: a consumer in a group of its own that keeps everything it reads.
 *
 * @module
 */
import type { GroupListener, PartitionBatch, Subscription, TopicPartition, Transport } from '@ksched/core';
import { realDateNow, tpKey } from './support.js';
import type { ObservedRecord } from './types.js';

/** A consumer in a group of its own that reads its topics from the beginning and keeps everything. */
export class Reader implements GroupListener {
  readonly #transport: Transport;
  readonly #records = new Map<string, ObservedRecord[]>();
  readonly #positions = new Map<string, number>();
  readonly errors: unknown[] = [];
  subscription: Subscription | undefined;

  constructor(transport: Transport) {
    this.#transport = transport;
  }

  get assigned(): number {
    return this.#positions.size;
  }

  async onAssigned(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      const wm = await this.#transport.seekToBeginning(tp);
      const k = tpKey(tp);
      if (!this.#records.has(k)) this.#records.set(k, []);
      this.#positions.set(k, Math.min(this.#positions.get(k) ?? wm.low, wm.low));
    }
  }

  onRevoked(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) this.#positions.delete(tpKey(tp));
  }

  onBatch(batch: PartitionBatch): void {
    const k = tpKey(batch);
    const list = this.#records.get(k) ?? [];
    this.#records.set(k, list);
    const seen = list.length > 0 ? list[list.length - 1]!.offset : -1;
    const now = realDateNow();
    // A re-delivery (a seek, a rebalance) is not a second copy: keep each offset once.
    for (const record of batch.records) if (record.offset > seen) list.push({ ...record, observedAtMs: now });
    this.#positions.set(k, Math.max(this.#positions.get(k) ?? 0, batch.position));
  }

  onError(error: unknown): void {
    this.errors.push(error);
  }

  position(tp: TopicPartition): number | undefined {
    return this.#positions.get(tpKey(tp));
  }

  /** Records of `topic` (all partitions, or one), by partition then offset. */
  of(topic: string, partition?: number): ObservedRecord[] {
    const out: ObservedRecord[] = [];
    for (const list of this.#records.values()) {
      for (const r of list) if (r.topic === topic && (partition === undefined || r.partition === partition)) out.push(r);
    }
    return out.sort((a, b) => a.partition - b.partition || a.offset - b.offset);
  }
}
