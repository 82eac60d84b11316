/**
 * What the live view shows about a running scheduler: dispatch lateness as a histogram, dispatches
 * per second over the last minute, buffered schedules, invalid records by reason, and halted
 * partitions with the error that halted them. Fed by a `Scheduler`'s events and its partition
 * snapshots; the UI reads {@link LiveStats.snapshot} on each request.
 *
 * @module
 */
import type { PartitionStatus, SchedulerEventMap, SchedulerListener } from '@ksched/core';

/** What {@link LiveStats} attaches to: a `Scheduler`, or anything with its `on` and `partitions`. */
export interface LiveSource {
  on<K extends keyof SchedulerEventMap>(name: K, listener: SchedulerListener<K>): () => void;
  partitions(): PartitionStatus[];
}

/** Upper bounds of the lateness buckets, ms (the last bucket is everything later). */
export const LATENESS_BUCKETS_MS: readonly number[] = [1, 5, 10, 25, 50, 100, 250, 500, 1000, 5000, 15_000, 60_000];
/** Seconds the dispatch rate is averaged over. */
export const RATE_WINDOW_S = 60;

/** A partition this member owns, as the live view shows it. */
export interface LivePartition {
  readonly topic: string;
  readonly partition: number;
  readonly state: PartitionStatus['state'];
  readonly halted: boolean;
  /** Why it halted: the last error reported for it before it did. */
  readonly haltReason?: string;
  readonly buffered: number;
  readonly dispatched: number;
  readonly invalid: number;
  readonly nextDueMs?: number;
}

/** What the live view shows at one moment. */
export interface LiveSnapshot {
  /** When the stats started, Unix ms. */
  readonly sinceMs: number;
  readonly nowMs: number;
  /** Per bucket of {@link LATENESS_BUCKETS_MS} (and one more for later), how many dispatches. */
  readonly lateness: { readonly boundsMs: readonly number[]; readonly counts: readonly number[] };
  readonly dispatched: number;
  /** Dispatches per second over the last {@link RATE_WINDOW_S} s (or since start). */
  readonly dispatchedPerSecond: number;
  readonly buffered: number;
  readonly invalidByReason: Readonly<Record<string, number>>;
  readonly partitions: readonly LivePartition[];
}

/** Collects a scheduler's live figures (see the module comment). */
export class LiveStats {
  readonly #source: LiveSource;
  readonly #now: () => number;
  readonly #sinceMs: number;
  readonly #counts = new Array<number>(LATENESS_BUCKETS_MS.length + 1).fill(0);
  /** Dispatches per whole second (Unix seconds), the last {@link RATE_WINDOW_S} + 1 seconds. */
  readonly #perSecond = new Map<number, number>();
  readonly #invalid = new Map<string, number>();
  readonly #lastError = new Map<string, string>();
  readonly #haltReason = new Map<string, string>();
  readonly #detach: (() => void)[];
  #dispatched = 0;

  constructor(source: LiveSource, options: { readonly now?: () => number } = {}) {
    this.#source = source;
    this.#now = options.now ?? Date.now;
    this.#sinceMs = this.#now();
    this.#detach = [
      source.on('dispatched', (e) => this.#onDispatched(e.lateMs, e.dispatchedAtMs)),
      source.on('invalid', (e) => this.#invalid.set(e.reason, (this.#invalid.get(e.reason) ?? 0) + 1)),
      source.on('error', (e) => this.#lastError.set(`${e.topic}/${e.partition}`, `${e.phase}: ${messageOf(e.error)}`)),
      source.on('state', (e) => {
        const id = `${e.topic}/${e.partition}`;
        if (e.halted) this.#haltReason.set(id, this.#lastError.get(id) ?? 'no error was reported before it halted');
        else this.#haltReason.delete(id);
      }),
    ];
  }

  /** Stops listening. */
  close(): void {
    for (const detach of this.#detach.splice(0)) detach();
  }

  snapshot(): LiveSnapshot {
    const now = this.#now();
    const nowS = Math.floor(now / 1000);
    let recent = 0;
    for (const [second, count] of this.#perSecond) if (second > nowS - RATE_WINDOW_S) recent += count;
    const windowS = Math.max(1, Math.min(RATE_WINDOW_S, (now - this.#sinceMs) / 1000));
    const partitions = this.#source.partitions().map((p): LivePartition => {
      const reason = p.halted ? this.#haltReason.get(`${p.topic}/${p.partition}`) : undefined;
      return {
        topic: p.topic,
        partition: p.partition,
        state: p.state,
        halted: p.halted,
        ...(reason !== undefined ? { haltReason: reason } : {}),
        buffered: p.buffered,
        dispatched: p.dispatched,
        invalid: p.invalid,
        ...(p.nextDueMs !== undefined ? { nextDueMs: p.nextDueMs } : {}),
      };
    });
    return {
      sinceMs: this.#sinceMs,
      nowMs: now,
      lateness: { boundsMs: LATENESS_BUCKETS_MS, counts: [...this.#counts] },
      dispatched: this.#dispatched,
      dispatchedPerSecond: recent / windowS,
      buffered: partitions.reduce((sum, p) => sum + p.buffered, 0),
      invalidByReason: Object.fromEntries(this.#invalid),
      partitions,
    };
  }

  #onDispatched(lateMs: number, atMs: number): void {
    this.#dispatched++;
    let bucket = LATENESS_BUCKETS_MS.findIndex((bound) => lateMs <= bound);
    if (bucket < 0) bucket = LATENESS_BUCKETS_MS.length;
    this.#counts[bucket]!++;
    const second = Math.floor(atMs / 1000);
    this.#perSecond.set(second, (this.#perSecond.get(second) ?? 0) + 1);
    if (this.#perSecond.size > RATE_WINDOW_S + 1) {
      for (const s of this.#perSecond.keys()) if (s <= second - RATE_WINDOW_S) this.#perSecond.delete(s);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
