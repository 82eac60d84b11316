/**
 * An opaque handle for a timer armed through a {@link Clock}.
 */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/**
 * The only way core code learns the time or waits for it.
 *
 * Everything in `@ksched/core` receives a `Clock` through its options, so tests can drive time
 * with `FakeClock` from `@ksched/testkit` and production uses {@link systemClock}.
 *
 * Gotchas: `now()` is wall-clock Unix time in **milliseconds**; due times chosen by producers are
 * compared against it, so the scheduler host's clock must be synchronised (NTP).
 */
export interface Clock {
  /** Current wall-clock time, Unix epoch milliseconds. */
  now(): number;
  /** Calls `callback` once after at least `delayMs` milliseconds. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  /** Cancels a timer armed by {@link Clock.setTimeout}; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The longest single timer core code arms. Node's timers overflow beyond 2^31 − 1 ms and drift
 * over long waits, so longer waits are re-armed in steps of at most this many milliseconds.
 */
export const MAX_TIMER_DELAY_MS = 60_000;

/**
 * The real clock. This is the one place in core that touches global time: it reads `Date.now`
 * and the global timers *lazily*, at call time, so spies and fake timers installed later still
 * apply, and nothing else in core needs them (a lint rule and a test keep it that way).
 *
 * @example
 * ```ts
 * const scheduler = new Scheduler({ transport, clock: systemClock, options });
 * ```
 */
export const systemClock: Clock = {
  now: () => globalThis.Date.now(),
  setTimeout: (callback, delayMs) => {
    const handle = globalThis.setTimeout(callback, Math.max(0, delayMs));
    // A pending dispatch timer must not keep a process alive that is otherwise shutting down.
    handle.unref?.();
    return handle;
  },
  clearTimeout: (handle) => {
    globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>);
  },
};
