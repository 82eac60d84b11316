/**
 * A deterministic {@link Clock} for tests, with the API of `@sinonjs/fake-timers` but without
 * patching any global: code under test receives the clock through its options.
 *
 * @module
 */
import type { Clock, TimerHandle } from '@ksched/core';

/** Node's largest timer delay; longer delays overflow to 1 ms in Node, and here too. */
const MAX_NODE_TIMER_DELAY_MS = 2_147_483_647;

// Captured at load time so that `vi.useFakeTimers()` installed later cannot freeze async flushing.
const realSetImmediate = globalThis.setImmediate;

/** Options of {@link FakeClock}. */
export interface FakeClockOptions {
  /**
   * Initial wall-clock time, Unix epoch milliseconds. Defaults to `0` (like fake-timers), which is
   * rarely realistic for ksched: pass a real instant, e.g. `Date.UTC(2026, 0, 1)`.
   */
  readonly now?: number;
  /**
   * Maximum number of timers {@link FakeClock.runAll} fires (and of timers {@link FakeClock.tick}
   * fires without time advancing) before it assumes an infinite loop and throws. Defaults to 1000.
   */
  readonly loopLimit?: number;
  /**
   * How many macrotask turns (`setImmediate`) the async methods wait before and after each timer,
   * so that promise chains started by a timer settle before the next one fires. Defaults to 20.
   */
  readonly asyncFlushRounds?: number;
}

/** A pending timer, as reported by {@link FakeClock.timers}. */
export interface FakeTimerInfo {
  /** Sequence number of the timer on this clock (also its FIFO rank among equal due times). */
  readonly id: number;
  /** When it fires, on this clock's time line (Unix epoch milliseconds). */
  readonly callAt: number;
  /** The delay it was armed with, after normalisation (negative → 0, overflow → 1). */
  readonly delayMs: number;
}

interface Timer {
  readonly id: number;
  readonly handle: TimerHandle;
  readonly callback: () => void;
  readonly delayMs: number;
  callAt: number;
  cancelled: boolean;
}

/** Min-heap order: due time, then arming order (FIFO among timers due at the same time). */
function before(a: Timer, b: Timer): boolean {
  return a.callAt < b.callAt || (a.callAt === b.callAt && a.id < b.id);
}

function normaliseDelay(delayMs: number): number {
  const delay = Number(delayMs);
  if (!(delay > 0)) return 0; // negative, zero and NaN: due now, fires at the next tick(0)
  if (delay > MAX_NODE_TIMER_DELAY_MS) return 1; // Node's TimeoutOverflowWarning behaviour
  return delay;
}

function assertDuration(method: string, ms: number): void {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) {
    throw new RangeError(`FakeClock.${method}: expected a finite number of milliseconds >= 0, got ${String(ms)}`);
  }
}

/**
 * A fake wall clock. Time moves only when the test says so; timers fire in due-time order, and
 * timers due at the same time fire in the order they were armed (FIFO).
 *
 * When to use: every test of code that takes a `Clock`. `tick`/`next`/`runAll` are synchronous;
 * their `…Async` twins let promise chains settle between timers (use them when a timer callback
 * starts async work, e.g. a produce on the `FakeBroker`, whose effects the next timer depends on).
 *
 * Gotchas:
 * - The default start time is `0` (1970); pass `{ now }` for realistic epochs.
 * - Like Node, a delay above 2^31 − 1 ms overflows to 1 ms, so code that arms over-long timers
 *   misbehaves here exactly as in production.
 * - {@link FakeClock.setSystemTime} is a wall-clock jump: pending timers keep their remaining delay
 *   (Node timers run on a monotonic clock), none fires.
 * - An exception thrown by a callback does not stop `tick`: the remaining due timers fire and the
 *   first exception is rethrown at the end (fake-timers behaviour).
 *
 * @example
 * ```ts
 * const clock = new FakeClock({ now: Date.UTC(2026, 0, 1) });
 * const fired: number[] = [];
 * clock.setTimeout(() => fired.push(clock.now()), 1_000);
 * clock.tick(999);  // nothing yet
 * clock.tick(1);    // fired === [Date.UTC(2026, 0, 1) + 1_000]
 * ```
 */
export class FakeClock implements Clock {
  /** See {@link FakeClockOptions.loopLimit}. */
  readonly loopLimit: number;
  /** See {@link FakeClockOptions.asyncFlushRounds}. */
  readonly asyncFlushRounds: number;

  #now: number;
  #nextId = 1;
  readonly #heap: Timer[] = [];
  readonly #timers = new Map<TimerHandle, Timer>();

  constructor(options: FakeClockOptions = {}) {
    const now = options.now ?? 0;
    if (!Number.isFinite(now)) throw new RangeError(`FakeClock: now must be a finite number, got ${String(now)}`);
    const loopLimit = options.loopLimit ?? 1000;
    if (!Number.isInteger(loopLimit) || loopLimit < 1) {
      throw new RangeError(`FakeClock: loopLimit must be a positive integer, got ${String(loopLimit)}`);
    }
    const rounds = options.asyncFlushRounds ?? 20;
    if (!Number.isInteger(rounds) || rounds < 0) {
      throw new RangeError(`FakeClock: asyncFlushRounds must be an integer >= 0, got ${String(rounds)}`);
    }
    this.#now = now;
    this.loopLimit = loopLimit;
    this.asyncFlushRounds = rounds;
  }

  /** Current fake wall-clock time, Unix epoch milliseconds. */
  now(): number {
    return this.#now;
  }

  /**
   * Arms a timer that fires `delayMs` after the current fake time. A delay ≤ 0 (or `NaN`) is due
   * immediately and fires at the next `tick(0)`; one above 2^31 − 1 overflows to 1 ms, as in Node.
   */
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    if (typeof callback !== 'function') throw new TypeError('FakeClock.setTimeout: callback must be a function');
    const id = this.#nextId++;
    const delay = normaliseDelay(delayMs);
    const handle: TimerHandle = Object.freeze({ fakeTimerId: id });
    const timer: Timer = { id, handle, callback, delayMs: delay, callAt: this.#now + delay, cancelled: false };
    this.#timers.set(handle, timer);
    this.#push(timer);
    return handle;
  }

  /** Cancels a pending timer; handles that already fired, were cleared or are foreign are ignored. */
  clearTimeout(handle: TimerHandle): void {
    const timer = this.#timers.get(handle);
    if (timer === undefined) return;
    timer.cancelled = true;
    this.#timers.delete(handle);
  }

  /** Number of pending timers. */
  countTimers(): number {
    return this.#timers.size;
  }

  /** Pending timers in firing order (a snapshot, for assertions such as "never armed for more than 60 s"). */
  timers(): FakeTimerInfo[] {
    return [...this.#timers.values()]
      .sort((a, b) => (before(a, b) ? -1 : 1))
      .map((t) => ({ id: t.id, callAt: t.callAt, delayMs: t.delayMs }));
  }

  /**
   * Moves the wall clock to `ms` without firing anything, like an NTP step or a manual clock
   * change: pending timers keep their remaining delay. Moving backwards is allowed.
   */
  setSystemTime(ms: number): void {
    if (typeof ms !== 'number' || !Number.isFinite(ms)) {
      throw new RangeError(`FakeClock.setSystemTime: expected a finite number, got ${String(ms)}`);
    }
    const shift = ms - this.#now;
    // A uniform shift keeps the heap ordered.
    for (const timer of this.#heap) timer.callAt += shift;
    this.#now = ms;
  }

  /**
   * Advances time by `ms`, firing every timer due up to the new time in order, including timers
   * armed by callbacks during the tick that fall within the window. Returns the new time.
   *
   * @throws the first exception thrown by a callback, after the tick completed.
   * @throws Error when more than `loopLimit` timers fire without time advancing (a zero-delay loop).
   */
  tick(ms: number): number {
    assertDuration('tick', ms);
    const target = this.#now + ms;
    const errors = new ErrorCollector();
    const guard = new SameInstantGuard(this.loopLimit, 'tick');
    for (;;) {
      const timer = this.#peek();
      if (timer === undefined || timer.callAt > target) break;
      guard.check(timer.callAt);
      this.#fire(this.#pop(), errors);
    }
    this.#now = Math.max(this.#now, target);
    errors.rethrow();
    return this.#now;
  }

  /**
   * {@link FakeClock.tick}, letting promise chains settle (see {@link FakeClockOptions.asyncFlushRounds})
   * before the first timer, after each timer, and at the end.
   */
  async tickAsync(ms: number): Promise<number> {
    assertDuration('tickAsync', ms);
    const target = this.#now + ms;
    const errors = new ErrorCollector();
    const guard = new SameInstantGuard(this.loopLimit, 'tickAsync');
    await this.#flush();
    for (;;) {
      const timer = this.#peek();
      if (timer === undefined || timer.callAt > target) break;
      guard.check(timer.callAt);
      this.#fire(this.#pop(), errors);
      await this.#flush();
    }
    this.#now = Math.max(this.#now, target);
    await this.#flush();
    errors.rethrow();
    return this.#now;
  }

  /**
   * Advances time to the first pending timer and fires it (only that one, even if others are due at
   * the same time). Returns the new time; does nothing when no timer is pending.
   */
  next(): number {
    const timer = this.#peek();
    if (timer === undefined) return this.#now;
    const errors = new ErrorCollector();
    this.#fire(this.#pop(), errors);
    errors.rethrow();
    return this.#now;
  }

  /** {@link FakeClock.next}, letting promise chains settle before and after the timer. */
  async nextAsync(): Promise<number> {
    await this.#flush();
    const timer = this.#peek();
    if (timer === undefined) return this.#now;
    const errors = new ErrorCollector();
    this.#fire(this.#pop(), errors);
    await this.#flush();
    errors.rethrow();
    return this.#now;
  }

  /**
   * Fires timers one by one, advancing time, until none is pending (timers armed meanwhile
   * included). Returns the new time.
   *
   * @throws Error naming `loopLimit` when more than `loopLimit` timers fired, which usually means a
   * timer that re-arms itself forever.
   */
  runAll(): number {
    for (let fired = 0; this.#timers.size > 0; fired++) {
      if (fired >= this.loopLimit) throw loopLimitError('runAll', this.loopLimit, this.#timers.size);
      this.next();
    }
    return this.#now;
  }

  /** {@link FakeClock.runAll}, letting promise chains settle between timers. */
  async runAllAsync(): Promise<number> {
    await this.#flush();
    for (let fired = 0; this.#timers.size > 0; fired++) {
      if (fired >= this.loopLimit) throw loopLimitError('runAllAsync', this.loopLimit, this.#timers.size);
      await this.nextAsync();
    }
    return this.#now;
  }

  /**
   * Advances to the due time of the last timer pending *now* and fires everything due up to it,
   * including timers armed meanwhile that fall in that window; later timers stay pending.
   */
  runToLast(): number {
    const last = this.#lastCallAt();
    return last === undefined ? this.#now : this.tick(last - this.#now);
  }

  /** {@link FakeClock.runToLast}, letting promise chains settle between timers. */
  async runToLastAsync(): Promise<number> {
    await this.#flush();
    const last = this.#lastCallAt();
    return last === undefined ? this.#now : this.tickAsync(last - this.#now);
  }

  #lastCallAt(): number | undefined {
    let last: number | undefined;
    for (const timer of this.#timers.values()) if (last === undefined || timer.callAt > last) last = timer.callAt;
    return last;
  }

  #fire(timer: Timer, errors: ErrorCollector): void {
    this.#timers.delete(timer.handle);
    this.#now = Math.max(this.#now, timer.callAt);
    try {
      timer.callback();
    } catch (error) {
      errors.add(error);
    }
  }

  async #flush(): Promise<void> {
    for (let i = 0; i < this.asyncFlushRounds; i++) {
      await new Promise<void>((resolve) => realSetImmediate(resolve));
    }
  }

  // Binary min-heap with lazy deletion of cleared timers.
  #peek(): Timer | undefined {
    for (;;) {
      const top = this.#heap[0];
      if (top === undefined || !top.cancelled) return top;
      this.#pop();
    }
  }

  #push(timer: Timer): void {
    const heap = this.#heap;
    heap.push(timer);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[i]!, heap[parent]!)) break;
      [heap[i], heap[parent]] = [heap[parent]!, heap[i]!];
      i = parent;
    }
  }

  #pop(): Timer {
    const heap = this.#heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let smallest = i;
        if (l < heap.length && before(heap[l]!, heap[smallest]!)) smallest = l;
        if (r < heap.length && before(heap[r]!, heap[smallest]!)) smallest = r;
        if (smallest === i) break;
        [heap[i], heap[smallest]] = [heap[smallest]!, heap[i]!];
        i = smallest;
      }
    }
    return top;
  }
}

function loopLimitError(method: string, loopLimit: number, pending: number): Error {
  return new Error(
    `FakeClock.${method}: aborted after running ${loopLimit} timers (loopLimit = ${loopLimit}) with ` +
      `${pending} still pending; assuming an infinite loop of timers that re-arm themselves. ` +
      `If that many timers are expected, pass a larger loopLimit to new FakeClock({ loopLimit }).`,
  );
}

/** Detects zero-delay timer loops in `tick`, which would otherwise never return. */
class SameInstantGuard {
  readonly #loopLimit: number;
  readonly #method: string;
  #at = Number.NaN;
  #count = 0;

  constructor(loopLimit: number, method: string) {
    this.#loopLimit = loopLimit;
    this.#method = method;
  }

  check(callAt: number): void {
    if (callAt !== this.#at) {
      this.#at = callAt;
      this.#count = 0;
    }
    if (++this.#count > this.#loopLimit) {
      throw new Error(
        `FakeClock.${this.#method}: more than ${this.#loopLimit} timers (loopLimit = ${this.#loopLimit}) fired at the ` +
          `same instant ${callAt}; assuming an infinite loop of zero-delay timers.`,
      );
    }
  }
}

class ErrorCollector {
  #has = false;
  #first: unknown;

  add(error: unknown): void {
    if (this.#has) return;
    this.#has = true;
    this.#first = error;
  }

  rethrow(): void {
    if (this.#has) throw this.#first;
  }
}
