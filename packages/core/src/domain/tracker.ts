import { utcDateOf, utcDateString } from './day.js';
import type { StateName } from './state.js';

/** The statistics part of a states report, in the v1.0.0 key order. */
export interface TrackerSnapshot {
  readonly state: StateName;
  readonly offsets: { readonly low: number; readonly high: number };
  readonly daily: Readonly<Record<string, number>>;
  /** When the current load started, Unix seconds. */
  readonly started_at: number;
  readonly reloads: number;
}

/**
 * Statistics of one partition's current load, reported to the states topic: schedules per UTC
 * date, the first and last offsets read, the state and the reload count.
 *
 * Gotchas: future days are estimates. Cancels and updates are not subtracted until that day is
 * loaded (reference #2607); today's figure is exact because it is set from the buffer size.
 */
export class Tracker {
  readonly startedAt: number;
  state: StateName = 'fresh';
  reloads = 0;
  #low = -1;
  #high = -1;
  readonly #daily = new Map<string, number>();

  /** @param startedAtMs when the load started, Unix milliseconds. */
  constructor(startedAtMs: number) {
    this.startedAt = Math.floor(startedAtMs / 1000);
  }

  /**
   * Notes a record's offset: `low` is the smallest seen, `high` the largest (a background read
   * and the live path note offsets of the same load out of order).
   */
  offset(offset: number): void {
    if (this.#low < 0 || offset < this.#low) this.#low = offset;
    if (offset > this.#high) this.#high = offset;
  }

  /** Counts a schedule under the UTC date it is due (`dueMs`, Unix milliseconds). */
  future(dueMs: number): void {
    const date = utcDateOf(dueMs);
    this.#daily.set(date, (this.#daily.get(date) ?? 0) + 1);
  }

  /** Sets today's count (the date the load started) to `count`, overwriting the estimate. */
  setToday(count: number): void {
    this.#daily.set(utcDateString(this.startedAt * 1000), count);
  }

  /** Sets the count of UTC date `date` (`YYYY-MM-DD`) to `count`. */
  setCount(date: string, count: number): void {
    this.#daily.set(date, count);
  }

  /** The current count of UTC date `date`, 0 when none. */
  count(date: string): number {
    return this.#daily.get(date) ?? 0;
  }

  /** Forgets the dates before `date` (`YYYY-MM-DD`): days that ended while the load went on. */
  dropBefore(date: string): void {
    for (const key of [...this.#daily.keys()]) if (key < date) this.#daily.delete(key);
  }

  get offsets(): { low: number; high: number } {
    return { low: this.#low, high: this.#high };
  }

  /** A frozen plain copy in the states-report key order. */
  snapshot(): TrackerSnapshot {
    const daily: Record<string, number> = {};
    for (const [date, count] of [...this.#daily].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) daily[date] = count;
    return Object.freeze({
      state: this.state,
      offsets: Object.freeze({ low: this.#low, high: this.#high }),
      daily: Object.freeze(daily),
      started_at: this.startedAt,
      reloads: this.reloads,
    });
  }
}
