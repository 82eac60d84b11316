/** Seconds below the newest tombstoned due time that are still considered possibly undispatched. */
export const MAX_EPOCH_GRACE_SECONDS = 3600;

/**
 * The newest due time (Unix seconds) seen on a tombstone, minus a one-hour grace. During a
 * (re)load, schedules due before {@link MaxEpoch.value} are taken as already dispatched and not
 * held in memory, so not-yet-compacted history costs nothing.
 *
 * Fed only by tombstones read back from the partition, never by the scheduler's own dispatches
 * (reference #2578/#2580), and never reset for the life of a partition's engine.
 */
export class MaxEpoch {
  #max = -1;
  #value = -1;

  /** Newest tombstoned due time seen, Unix seconds; −1 before any. */
  get max(): number {
    return this.#max;
  }

  /** `max − 3600`, or −1 before any tombstone: schedules due before this are skipped. */
  get value(): number {
    return this.#value;
  }

  /** Takes a tombstone's due time (Unix seconds); equal or smaller values are ignored. */
  update(epochSeconds: number): void {
    if (!Number.isFinite(epochSeconds) || epochSeconds <= this.#max) return;
    this.#max = epochSeconds;
    this.#value = epochSeconds - MAX_EPOCH_GRACE_SECONDS;
  }
}
