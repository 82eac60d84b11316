import { describe, expect, it, vi } from 'vitest';
import { FakeClock } from '../src/index.js';
import type { Clock } from '@ksched/core';

const T0 = Date.UTC(2026, 0, 1);

describe('FakeClock', () => {
  describe('construction and now()', () => {
    it('starts at 0 by default, or at the given time', () => {
      expect(new FakeClock().now()).toBe(0);
      expect(new FakeClock({ now: T0 }).now()).toBe(T0);
    });

    it('is usable as a core Clock', () => {
      const clock: Clock = new FakeClock({ now: T0 });
      const calls: number[] = [];
      clock.setTimeout(() => calls.push(clock.now()), 10);
      (clock as FakeClock).tick(10);
      expect(calls).toEqual([T0 + 10]);
    });

    it('rejects invalid options', () => {
      expect(() => new FakeClock({ now: Number.NaN })).toThrow(RangeError);
      expect(() => new FakeClock({ loopLimit: 0 })).toThrow(RangeError);
      expect(() => new FakeClock({ loopLimit: 1.5 })).toThrow(RangeError);
      expect(() => new FakeClock({ asyncFlushRounds: -1 })).toThrow(RangeError);
    });

    it('never touches global time', () => {
      const spy = vi.spyOn(globalThis, 'setTimeout');
      const clock = new FakeClock({ now: T0 });
      clock.setTimeout(() => {}, 1000);
      clock.tick(1000);
      expect(spy).not.toHaveBeenCalled();
      spy.mockRestore();
    });
  });

  describe('tick', () => {
    it('fires timers when due, not before, and returns the new time', () => {
      const clock = new FakeClock({ now: T0 });
      const fired: string[] = [];
      clock.setTimeout(() => fired.push('a'), 100);
      expect(clock.tick(99)).toBe(T0 + 99);
      expect(fired).toEqual([]);
      expect(clock.tick(1)).toBe(T0 + 100);
      expect(fired).toEqual(['a']);
    });

    it('sets now() to each timer due time while it runs', () => {
      const clock = new FakeClock({ now: T0 });
      const seen: number[] = [];
      clock.setTimeout(() => seen.push(clock.now()), 30);
      clock.setTimeout(() => seen.push(clock.now()), 10);
      clock.tick(100);
      expect(seen).toEqual([T0 + 10, T0 + 30]);
      expect(clock.now()).toBe(T0 + 100);
    });

    it('fires timers due at the same time in the order they were armed (FIFO)', () => {
      const clock = new FakeClock();
      const fired: number[] = [];
      for (let i = 0; i < 50; i++) clock.setTimeout(() => fired.push(i), 5);
      clock.setTimeout(() => fired.push(-1), 4);
      clock.tick(5);
      expect(fired).toEqual([-1, ...Array.from({ length: 50 }, (_, i) => i)]);
    });

    it('orders many timers by due time, then arming order', () => {
      const clock = new FakeClock();
      const fired: string[] = [];
      const delays = [50, 10, 30, 10, 0, 50, 20, 30, 0];
      delays.forEach((d, i) => clock.setTimeout(() => fired.push(`${d}:${i}`), d));
      clock.tick(100);
      expect(fired).toEqual(['0:4', '0:8', '10:1', '10:3', '20:6', '30:2', '30:7', '50:0', '50:5']);
    });

    it('fires timers armed during the tick that fall inside the window, in order', () => {
      const clock = new FakeClock();
      const fired: string[] = [];
      clock.setTimeout(() => {
        fired.push(`outer@${clock.now()}`);
        clock.setTimeout(() => fired.push(`inner@${clock.now()}`), 20);
        clock.setTimeout(() => fired.push(`late@${clock.now()}`), 200);
      }, 10);
      clock.setTimeout(() => fired.push(`other@${clock.now()}`), 25);
      clock.tick(100);
      expect(fired).toEqual(['outer@10', 'other@25', 'inner@30']);
      expect(clock.countTimers()).toBe(1);
      clock.tick(110);
      expect(fired).toEqual(['outer@10', 'other@25', 'inner@30', 'late@210']);
    });

    it('treats a delay <= 0 or NaN as due now: it fires at the next tick(0)', () => {
      const clock = new FakeClock({ now: T0 });
      const fired: string[] = [];
      clock.setTimeout(() => fired.push('zero'), 0);
      clock.setTimeout(() => fired.push('negative'), -50);
      clock.setTimeout(() => fired.push('nan'), Number.NaN);
      expect(fired).toEqual([]);
      clock.tick(0);
      expect(fired).toEqual(['zero', 'negative', 'nan']);
      expect(clock.now()).toBe(T0);
    });

    it('overflows delays above 2^31 - 1 ms to 1 ms, like Node', () => {
      const clock = new FakeClock();
      const fired: string[] = [];
      clock.setTimeout(() => fired.push('overflow'), 2 ** 31);
      clock.setTimeout(() => fired.push('max'), 2 ** 31 - 1);
      clock.tick(1);
      expect(fired).toEqual(['overflow']);
      expect(clock.timers()).toEqual([{ id: 2, callAt: 2 ** 31 - 1, delayMs: 2 ** 31 - 1 }]);
    });

    it('rejects negative, non-finite and non-number durations', () => {
      const clock = new FakeClock();
      expect(() => clock.tick(-1)).toThrow(RangeError);
      expect(() => clock.tick(Number.POSITIVE_INFINITY)).toThrow(RangeError);
      expect(() => clock.tick('10' as unknown as number)).toThrow(RangeError);
    });

    it('keeps firing after a callback throws, then rethrows the first error', () => {
      const clock = new FakeClock();
      const fired: string[] = [];
      clock.setTimeout(() => {
        throw new Error('first');
      }, 1);
      clock.setTimeout(() => {
        throw new Error('second');
      }, 2);
      clock.setTimeout(() => fired.push('third'), 3);
      expect(() => clock.tick(10)).toThrow('first');
      expect(fired).toEqual(['third']);
      expect(clock.now()).toBe(10);
      expect(clock.countTimers()).toBe(0);
    });

    it('detects an infinite loop of zero-delay timers and names loopLimit', () => {
      const clock = new FakeClock({ loopLimit: 50 });
      const rearm = (): void => {
        clock.setTimeout(rearm, 0);
      };
      clock.setTimeout(rearm, 0);
      expect(() => clock.tick(0)).toThrow(/loopLimit = 50/);
    });

    it('fires far more than loopLimit timers when time advances between them', () => {
      const clock = new FakeClock({ loopLimit: 10 });
      let count = 0;
      const every = (): void => {
        count++;
        clock.setTimeout(every, 1000);
      };
      clock.setTimeout(every, 1000);
      clock.tick(86_400_000);
      expect(count).toBe(86_400);
    });
  });

  describe('clearTimeout and countTimers', () => {
    it('cancels a pending timer', () => {
      const clock = new FakeClock();
      const fired: string[] = [];
      const a = clock.setTimeout(() => fired.push('a'), 10);
      clock.setTimeout(() => fired.push('b'), 10);
      expect(clock.countTimers()).toBe(2);
      clock.clearTimeout(a);
      expect(clock.countTimers()).toBe(1);
      clock.tick(10);
      expect(fired).toEqual(['b']);
    });

    it('ignores fired, cleared, unknown and foreign handles', () => {
      const clock = new FakeClock();
      const other = new FakeClock();
      const fired = clock.setTimeout(() => {}, 1);
      clock.tick(1);
      const foreign = other.setTimeout(() => {}, 1);
      const kept = clock.setTimeout(() => {}, 5);
      expect(() => {
        clock.clearTimeout(fired);
        clock.clearTimeout(fired);
        clock.clearTimeout({});
        clock.clearTimeout(foreign);
      }).not.toThrow();
      expect(clock.countTimers()).toBe(1);
      expect(other.countTimers()).toBe(1);
      clock.clearTimeout(kept);
      clock.clearTimeout(kept);
      expect(clock.countTimers()).toBe(0);
    });

    it('lets a callback clear a later timer due at the same instant', () => {
      const clock = new FakeClock();
      const fired: string[] = [];
      let b: ReturnType<FakeClock['setTimeout']> | undefined;
      clock.setTimeout(() => {
        fired.push('a');
        if (b) clock.clearTimeout(b);
      }, 5);
      b = clock.setTimeout(() => fired.push('b'), 5);
      clock.tick(5);
      expect(fired).toEqual(['a']);
    });

    it('returns distinct handles and lists pending timers in firing order', () => {
      const clock = new FakeClock({ now: 100 });
      const h1 = clock.setTimeout(() => {}, 30);
      const h2 = clock.setTimeout(() => {}, 10);
      expect(h1).not.toBe(h2);
      expect(clock.timers()).toEqual([
        { id: 2, callAt: 110, delayMs: 10 },
        { id: 1, callAt: 130, delayMs: 30 },
      ]);
    });

    it('requires a function', () => {
      const clock = new FakeClock();
      expect(() => clock.setTimeout('code' as unknown as () => void, 1)).toThrow(TypeError);
    });
  });

  describe('next', () => {
    it('fires only the first timer, moving time to it', () => {
      const clock = new FakeClock({ now: T0 });
      const fired: string[] = [];
      clock.setTimeout(() => fired.push('a'), 10);
      clock.setTimeout(() => fired.push('b'), 10);
      clock.setTimeout(() => fired.push('c'), 20);
      expect(clock.next()).toBe(T0 + 10);
      expect(fired).toEqual(['a']);
      expect(clock.next()).toBe(T0 + 10);
      expect(fired).toEqual(['a', 'b']);
      expect(clock.next()).toBe(T0 + 20);
      expect(fired).toEqual(['a', 'b', 'c']);
    });

    it('does nothing without timers', () => {
      const clock = new FakeClock({ now: 5 });
      expect(clock.next()).toBe(5);
    });

    it('propagates a callback error', () => {
      const clock = new FakeClock();
      clock.setTimeout(() => {
        throw new Error('boom');
      }, 1);
      expect(() => clock.next()).toThrow('boom');
      expect(clock.now()).toBe(1);
    });
  });

  describe('runAll', () => {
    it('fires everything, including timers armed meanwhile, and returns the final time', () => {
      const clock = new FakeClock();
      const fired: number[] = [];
      clock.setTimeout(() => {
        fired.push(clock.now());
        clock.setTimeout(() => fired.push(clock.now()), 1000);
      }, 500);
      clock.setTimeout(() => fired.push(clock.now()), 100);
      expect(clock.runAll()).toBe(1500);
      expect(fired).toEqual([100, 500, 1500]);
      expect(clock.countTimers()).toBe(0);
    });

    it('throws a clear error naming loopLimit for a timer that re-arms forever', () => {
      const clock = new FakeClock({ loopLimit: 100 });
      const forever = (): void => {
        clock.setTimeout(forever, 10);
      };
      clock.setTimeout(forever, 10);
      expect(() => clock.runAll()).toThrow(/runAll: aborted after running 100 timers \(loopLimit = 100\)/);
      expect(clock.now()).toBe(1000);
    });

    it('defaults loopLimit to 1000', () => {
      const clock = new FakeClock();
      expect(clock.loopLimit).toBe(1000);
      for (let i = 0; i < 1000; i++) clock.setTimeout(() => {}, i);
      expect(() => clock.runAll()).not.toThrow();
      for (let i = 0; i < 1001; i++) clock.setTimeout(() => {}, i);
      expect(() => clock.runAll()).toThrow(/1000/);
    });
  });

  describe('runToLast', () => {
    it('runs up to the last timer pending now, leaving later timers armed meanwhile', () => {
      const clock = new FakeClock();
      const fired: string[] = [];
      clock.setTimeout(() => fired.push('a'), 10);
      clock.setTimeout(() => {
        fired.push('b');
        clock.setTimeout(() => fired.push('within'), 0);
        clock.setTimeout(() => fired.push('beyond'), 1);
      }, 50);
      expect(clock.runToLast()).toBe(50);
      expect(fired).toEqual(['a', 'b', 'within']);
      expect(clock.countTimers()).toBe(1);
    });

    it('does nothing without timers', () => {
      const clock = new FakeClock({ now: 7 });
      expect(clock.runToLast()).toBe(7);
    });
  });

  describe('setSystemTime', () => {
    it('moves now without firing anything; pending timers keep their remaining delay', () => {
      const clock = new FakeClock({ now: T0 });
      const fired: number[] = [];
      clock.setTimeout(() => fired.push(clock.now()), 1000);
      clock.tick(400);
      clock.setSystemTime(T0 + 3_600_000);
      expect(clock.now()).toBe(T0 + 3_600_000);
      expect(fired).toEqual([]);
      clock.tick(599);
      expect(fired).toEqual([]);
      clock.tick(1);
      expect(fired).toEqual([T0 + 3_600_000 + 600]);
    });

    it('can move backwards', () => {
      const clock = new FakeClock({ now: T0 });
      const fired: number[] = [];
      clock.setTimeout(() => fired.push(clock.now()), 100);
      clock.setSystemTime(T0 - 10_000);
      clock.tick(100);
      expect(fired).toEqual([T0 - 10_000 + 100]);
    });

    it('rejects a non-finite time', () => {
      expect(() => new FakeClock().setSystemTime(Number.NaN)).toThrow(RangeError);
    });
  });

  describe('async variants', () => {
    it('tickAsync lets promise chains started by a timer settle before the next timer', async () => {
      const clock = new FakeClock();
      const log: string[] = [];
      clock.setTimeout(() => {
        void (async () => {
          await Promise.resolve();
          await new Promise<void>((resolve) => setImmediate(resolve));
          log.push('async work of timer 1 done');
        })();
      }, 10);
      clock.setTimeout(() => log.push('timer 2'), 10);
      await clock.tickAsync(10);
      expect(log).toEqual(['async work of timer 1 done', 'timer 2']);
    });

    it('tick (sync) does not wait for promise chains', async () => {
      const clock = new FakeClock();
      const log: string[] = [];
      clock.setTimeout(() => {
        void Promise.resolve().then(() => log.push('then'));
      }, 10);
      clock.setTimeout(() => log.push('timer 2'), 10);
      clock.tick(10);
      expect(log).toEqual(['timer 2']);
      await Promise.resolve();
      expect(log).toEqual(['timer 2', 'then']);
    });

    it('tickAsync fires timers armed by promise continuations within the window', async () => {
      const clock = new FakeClock({ now: T0 });
      const fired: number[] = [];
      clock.setTimeout(() => {
        void Promise.resolve().then(() => clock.setTimeout(() => fired.push(clock.now() - T0), 5));
      }, 10);
      await clock.tickAsync(20);
      expect(fired).toEqual([15]);
      expect(clock.now()).toBe(T0 + 20);
    });

    it('tickAsync flushes before the first timer, so timers armed by pending promises count', async () => {
      const clock = new FakeClock();
      const fired: string[] = [];
      void Promise.resolve().then(() => clock.setTimeout(() => fired.push('armed later'), 1));
      await clock.tickAsync(1);
      expect(fired).toEqual(['armed later']);
    });

    it('nextAsync fires one timer and settles its continuation', async () => {
      const clock = new FakeClock();
      const log: string[] = [];
      clock.setTimeout(() => void Promise.resolve().then(() => log.push('continuation')), 3);
      clock.setTimeout(() => log.push('second'), 3);
      expect(await clock.nextAsync()).toBe(3);
      expect(log).toEqual(['continuation']);
      expect(await new FakeClock({ now: 9 }).nextAsync()).toBe(9);
    });

    it('runAllAsync runs a timer chain driven by async code to completion', async () => {
      const clock = new FakeClock();
      let rounds = 0;
      const step = async (): Promise<void> => {
        await Promise.resolve();
        rounds++;
        if (rounds < 5) clock.setTimeout(() => void step(), 100);
      };
      clock.setTimeout(() => void step(), 100);
      expect(await clock.runAllAsync()).toBe(500);
      expect(rounds).toBe(5);
    });

    it('runAllAsync names loopLimit for an endless async chain', async () => {
      const clock = new FakeClock({ loopLimit: 20 });
      const again = (): void => {
        void Promise.resolve().then(() => clock.setTimeout(again, 1));
      };
      clock.setTimeout(again, 1);
      await expect(clock.runAllAsync()).rejects.toThrow(/runAllAsync: aborted after running 20 timers \(loopLimit = 20\)/);
    });

    it('runToLastAsync stops at the last timer pending when it started', async () => {
      const clock = new FakeClock();
      const fired: string[] = [];
      clock.setTimeout(() => {
        fired.push('a');
        void Promise.resolve().then(() => clock.setTimeout(() => fired.push('later'), 100));
      }, 10);
      expect(await clock.runToLastAsync()).toBe(10);
      expect(fired).toEqual(['a']);
      expect(clock.countTimers()).toBe(1);
      expect(await new FakeClock({ now: 3 }).runToLastAsync()).toBe(3);
    });

    it('tickAsync rethrows the first callback error after the tick', async () => {
      const clock = new FakeClock();
      const fired: string[] = [];
      clock.setTimeout(() => {
        throw new Error('async first');
      }, 1);
      clock.setTimeout(() => fired.push('still fired'), 2);
      await expect(clock.tickAsync(5)).rejects.toThrow('async first');
      expect(fired).toEqual(['still fired']);
      expect(clock.now()).toBe(5);
    });

    it('keeps working when vitest fake timers are installed (it uses no global timers)', async () => {
      vi.useFakeTimers();
      try {
        const clock = new FakeClock();
        const log: string[] = [];
        clock.setTimeout(() => void Promise.resolve().then(() => log.push('done')), 10);
        await clock.tickAsync(10);
        expect(log).toEqual(['done']);
      } finally {
        vi.useRealTimers();
      }
    });
  });
});
