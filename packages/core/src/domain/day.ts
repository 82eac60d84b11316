import { InvalidArgumentError } from '../errors.js';

/** Milliseconds in a UTC day (Unix time has no leap seconds). */
export const DAY_MS = 86_400_000;

/**
 * `YYYY-MM-DD` of the UTC day containing `ms` (Unix epoch milliseconds), computed arithmetically
 * so that core needs no `Date`.
 */
export function utcDateString(ms: number): string {
  // Civil-from-days (proleptic Gregorian), after H. Hinnant's well-known algorithm.
  const days = Math.floor(ms / DAY_MS);
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const yyyy = y < 0 ? `-${String(-y).padStart(6, '0')}` : String(y).padStart(4, '0');
  return `${yyyy}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

/** The last day asked for, remembered: a partition's records mostly fall on few days in a row. */
let lastDay = Number.NaN;
let lastDate = '';

/** {@link utcDateString} of `ms`, computed once per run of the same day (hot paths: counting per record). */
export function utcDateOf(ms: number): string {
  const day = Math.floor(ms / DAY_MS);
  if (day !== lastDay) {
    lastDay = day;
    lastDate = utcDateString(ms);
  }
  return lastDate;
}

/**
 * The UTC calendar day in which something happened; "today" for a partition is the `Day` its
 * current load started in.
 *
 * Gotchas: always UTC (the reference once used local time, #2295). `endsAt` is 23:59:59 in whole
 * seconds, as in the reference; millisecond checks use `nextStartMs`.
 *
 * @example
 * ```ts
 * const today = Day.containing(clock.now());
 * today.contains(dueMs); today.ended(clock.now());
 * ```
 */
export class Day {
  /** When this `Day` was created, Unix seconds. */
  readonly createdAt: number;
  /** 00:00:00 UTC of the day, Unix seconds. */
  readonly startsAt: number;
  /** 23:59:59 UTC of the day (`startsAt + 86_399`), Unix seconds. */
  readonly endsAt: number;
  /** 00:00:00.000 UTC of the day, Unix milliseconds. */
  readonly startMs: number;
  /** 00:00:00.000 UTC of the next day, Unix milliseconds. */
  readonly nextStartMs: number;
  /** `YYYY-MM-DD`. */
  readonly date: string;

  private constructor(nowMs: number) {
    this.startMs = Math.floor(nowMs / DAY_MS) * DAY_MS;
    this.nextStartMs = this.startMs + DAY_MS;
    this.createdAt = Math.floor(nowMs / 1000);
    this.startsAt = this.startMs / 1000;
    this.endsAt = this.startsAt + 86_399;
    this.date = utcDateString(this.startMs);
  }

  /**
   * The UTC day containing `nowMs` (Unix epoch milliseconds).
   *
   * @throws InvalidArgumentError (`KSM_INVALID_ARGUMENT`) when `nowMs` is not a finite number.
   */
  static containing(nowMs: number): Day {
    if (!Number.isFinite(nowMs)) {
      throw new InvalidArgumentError([{ field: 'nowMs', rule: 'finite', message: `must be a finite number, got ${nowMs}` }]);
    }
    return new Day(nowMs);
  }

  /** True once the day is over: `nowMs` is at or after the next day's 00:00:00 UTC. */
  ended(nowMs: number): boolean {
    return nowMs >= this.nextStartMs;
  }

  /** True when `ms` falls on a later day than this one. */
  isBefore(ms: number): boolean {
    return ms >= this.nextStartMs;
  }

  /** True when `ms` falls within this day. */
  contains(ms: number): boolean {
    return ms >= this.startMs && ms < this.nextStartMs;
  }

  toString(): string {
    return this.date;
  }
}
