/**
 * Helpers for testing a `Transport` adapter against a real broker: a recording group listener
 * that checks the port's ordering rules, and a polling wait.
 *
 * @module
 */
import type { GroupListener, PartitionBatch, TopicPartition, Transport, Watermarks } from '@ksched/core';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 10 ms until it holds; fails after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string | (() => string), timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(10);
  }
}

const tpKey = (tp: TopicPartition): string => `${tp.topic}/${tp.partition}`;

/**
 * The watermarks of `tp` once its (read-committed) end offset has reached `atLeast`. Use it after a
 * transaction commits: Kafka's coordinator writes the commit markers just after the commit is
 * acknowledged, so an end offset read at once may still stop before the committed records.
 */
export async function waitForEndOffset(transport: Transport, tp: TopicPartition, atLeast: number, timeoutMs = 30_000): Promise<Watermarks> {
  let wm = await transport.fetchWatermarks(tp);
  await waitUntil(
    async () => (wm = await transport.fetchWatermarks(tp)).high >= atLeast,
    () => `the end offset of ${tpKey(tp)} to reach ${atLeast} (at ${wm.high})`,
    timeoutMs,
  );
  return wm;
}

type Event = { kind: 'assigned' | 'revoked'; tp: string; at: number };
let sequence = 0;

/**
 * A `GroupListener` for adapter tests: records every callback and checks the port's ordering
 * rules as it goes (no batch before `onAssigned` settled or after `onRevoked`, no overlapping
 * batches of one partition), collecting breaches in `violations`.
 */
export class RecordingListener implements GroupListener {
  readonly batches: PartitionBatch[] = [];
  readonly events: Event[] = [];
  readonly owned = new Set<string>();
  readonly violations: string[] = [];
  readonly errors: unknown[] = [];
  readonly #settling = new Set<string>();
  readonly #inBatch = new Set<string>();
  /** Called inside onAssigned (after the settling mark), e.g. to seek. */
  onAssignedHook: ((partitions: readonly TopicPartition[]) => Promise<void>) | undefined;
  /** Called inside onBatch. */
  onBatchHook: ((batch: PartitionBatch) => Promise<void>) | undefined;

  async onAssigned(partitions: readonly TopicPartition[]): Promise<void> {
    for (const tp of partitions) {
      this.events.push({ kind: 'assigned', tp: tpKey(tp), at: ++sequence });
      this.#settling.add(tpKey(tp));
    }
    // Like the engine: the hook (e.g. seekToBeginning) runs at once, during the first join too.
    if (this.onAssignedHook) await this.onAssignedHook(partitions);
    await sleep(20);
    for (const tp of partitions) {
      this.#settling.delete(tpKey(tp));
      this.owned.add(tpKey(tp));
    }
  }

  onRevoked(partitions: readonly TopicPartition[]): void {
    for (const tp of partitions) {
      this.events.push({ kind: 'revoked', tp: tpKey(tp), at: ++sequence });
      this.owned.delete(tpKey(tp));
    }
  }

  async onBatch(batch: PartitionBatch): Promise<void> {
    const k = tpKey(batch);
    if (this.#settling.has(k)) this.violations.push(`batch for ${k} before onAssigned settled`);
    else if (!this.owned.has(k)) this.violations.push(`batch for ${k}, not assigned`);
    if (this.#inBatch.has(k)) this.violations.push(`overlapping batches for ${k}`);
    this.#inBatch.add(k);
    try {
      this.batches.push(batch);
      if (this.onBatchHook) await this.onBatchHook(batch);
      await sleep(1);
    } finally {
      this.#inBatch.delete(k);
    }
  }

  onError(error: unknown): void {
    this.errors.push(error);
  }

  of(tp: TopicPartition, from = 0): PartitionBatch[] {
    return this.batches.slice(from).filter((b) => tpKey(b) === tpKey(tp));
  }

  values(tp: TopicPartition, from = 0): (string | null)[] {
    return this.of(tp, from).flatMap((b) => b.records.map((r) => (r.value === null ? null : new TextDecoder().decode(r.value))));
  }

  offsets(tp: TopicPartition, from = 0): number[] {
    return this.of(tp, from).flatMap((b) => b.records.map((r) => r.offset));
  }

  /** Index of the first EOF notice of `tp` at position ≥ `atLeast` from batch `from`, -1 if none. */
  eofIndex(tp: TopicPartition, atLeast: number, from = 0): number {
    for (let i = from; i < this.batches.length; i++) {
      const b = this.batches[i]!;
      if (tpKey(b) === tpKey(tp) && b.records.length === 0 && b.position >= atLeast) return i;
    }
    return -1;
  }

  async waitForEof(tp: TopicPartition, atLeast: number, from = 0, timeoutMs = 30_000): Promise<PartitionBatch> {
    let index = -1;
    await waitUntil(
      () => (index = this.eofIndex(tp, atLeast, from)) >= 0,
      () => `EOF of ${tpKey(tp)} at ≥ ${atLeast}; got ${JSON.stringify(this.of(tp, from).map((b) => [b.records.length, b.position]))}`,
      timeoutMs,
    );
    return this.batches[index]!;
  }

  lastSeq(kind: Event['kind'], tp: string): number {
    let at = -1;
    for (const e of this.events) if (e.kind === kind && e.tp === tp) at = e.at;
    return at;
  }
}
