import { FencedError, StateError, TransportError } from '@ksched/core';
import type { Clock, Logger, ProduceRecord, RecordMetadata } from '@ksched/core';
import { TransactionalProducerBase, TransactionalStatus, waitUntilReadable } from '@ksched/core/adapter';
import { describe, expect, it } from 'vitest';

/** A clock whose timers fire at once and move time forward by their delay. */
function steppingClock(): Clock & { readonly delays: number[] } {
  let now = 0;
  const delays: number[] = [];
  return {
    delays,
    now: () => now,
    setTimeout(cb: () => void, ms: number): object {
      delays.push(ms);
      now += ms;
      queueMicrotask(cb);
      return {};
    },
    clearTimeout: () => {},
  };
}

function logger(): Logger & { readonly warnings: string[] } {
  const warnings: string[] = [];
  const noop = () => {};
  return { warnings, debug: noop, info: noop, error: noop, warn: (_f: unknown, message: string) => warnings.push(message) };
}

describe('TransactionalStatus', () => {
  it('allows init once, then transactions; fenced, failed and closed are final with their own errors', () => {
    const s = new TransactionalStatus('tx-1');
    expect(() => s.assertReady()).toThrow(/not initialised: call init\(\) first/);
    s.beginInit();
    expect(s.status).toBe('initialising');
    s.status = 'ready';
    expect(() => s.assertReady()).not.toThrow();
    expect(() => s.beginInit()).toThrow(/already initialised/);
    s.status = 'fenced';
    expect(() => s.assertReady()).toThrow(FencedError);
    s.status = 'failed';
    s.failure = new Error('fatal');
    const failed = (() => {
      try {
        s.assertReady();
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(TransportError.isInstance(failed) && failed.cause).toBe(s.failure);
    s.status = 'closed';
    expect(() => s.beginInit()).toThrow(StateError);
    expect(() => s.assertReady()).toThrow(/is closed/);
    expect(s.fencedError('why').cause).toBe('why');
  });
});

describe('waitUntilReadable', () => {
  it('polls each written partition until its last stable offset passes the last record, backing off', async () => {
    const clock = steppingClock();
    const stable = new Map([
      ['t/0', [3, 3, 6]],
      ['t/1', [9]],
    ]);
    const asked: string[] = [];
    await waitUntilReadable(
      [
        { topic: 't', partition: 0, offset: 4 },
        { topic: 't', partition: 0, offset: 5 },
        { topic: 't', partition: 1, offset: 8 },
        { topic: 't', partition: 2, offset: -1 },
      ],
      {
        stableOffset: async ({ topic, partition }) => {
          asked.push(`${topic}/${partition}`);
          return stable.get(`${topic}/${partition}`)!.shift()!;
        },
        timeoutMs: 1000,
        logger: logger(),
        transactionalId: 'tx',
        clock,
      },
    );
    expect(asked.filter((k) => k === 't/0')).toHaveLength(3);
    expect(asked.filter((k) => k === 't/1')).toHaveLength(1);
    expect(clock.delays).toEqual([2, 4]);
  });

  it('gives up with a warning after the timeout, and retries a failing query', async () => {
    const clock = steppingClock();
    const log = logger();
    let calls = 0;
    await waitUntilReadable([{ topic: 't', partition: 0, offset: 1 }], {
      stableOffset: async () => {
        calls++;
        if (calls === 1) throw new Error('broker busy');
        return 0;
      },
      timeoutMs: 300,
      logger: log,
      transactionalId: 'tx',
      clock,
    });
    expect(calls).toBeGreaterThan(2);
    expect(log.warnings).toEqual(['committed records not yet visible to read-committed readers after requestTimeoutMs']);
  });
});

class ScriptedProducer extends TransactionalProducerBase {
  readonly log: string[] = [];
  registerFails = false;
  releaseFails = false;

  protected async register(): Promise<void> {
    this.log.push('register');
    if (this.registerFails) throw new Error('coordinator unavailable');
  }

  protected override initError(error: unknown): Error {
    return new TransportError(`init failed: ${String(error)}`);
  }

  protected async transact(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    this.log.push(`transact ${records.length}`);
    await Promise.resolve();
    this.log.push('committed');
    return [];
  }

  protected override async interrupt(): Promise<void> {
    this.log.push('interrupt');
  }

  protected async release(wasReady: boolean): Promise<void> {
    this.log.push(`release ${wasReady}`);
    if (this.releaseFails) throw new Error('disconnect failed');
  }
}

describe('TransactionalProducerBase', () => {
  it('init maps a failure and can be retried; one transaction at a time; close interrupts, waits, releases and logs', async () => {
    const closed: unknown[] = [];
    const log = logger();
    const p = new ScriptedProducer({ transactionalId: 'tx', logger: log, onClosed: (x) => closed.push(x), requestTimeoutMs: 10 });
    await expect(p.sendInTransaction([])).rejects.toThrow(/call init\(\) first/);
    p.registerFails = true;
    await expect(p.init()).rejects.toThrow(/init failed: Error: coordinator unavailable/);
    p.registerFails = false;
    await p.init();
    await Promise.all([p.sendInTransaction([{ topic: 't', key: 'k', value: 'v' }]), p.sendInTransaction([])]);
    const running = p.sendInTransaction([]);
    while (p.log.length < 7) await Promise.resolve(); // the third transaction is running
    p.releaseFails = true;
    const queued = p.sendInTransaction([]).catch((e: unknown) => e);
    await p.close();
    await running;
    // Queued behind close(): refused, the producer is closed.
    expect(String(await queued)).toMatch(/is closed/);
    expect(p.log).toEqual([
      'register',
      'register',
      'transact 1',
      'committed',
      'transact 0',
      'committed',
      'transact 0',
      'interrupt',
      'committed',
      'release true',
    ]);
    expect(log.warnings).toEqual(['disconnecting the transactional producer failed']);
    expect(closed).toEqual([p]);
    await p.close();
    expect(closed).toHaveLength(1);
    await expect(p.init()).rejects.toThrow(StateError);
  });
});

describe('TransactionalProducerBase close during init', () => {
  it('waits for a running init before it releases: a late InitProducerId cannot fence the next producer of the id', async () => {
    const order: string[] = [];
    let answer!: () => void;
    class SlowInit extends ScriptedProducer {
      protected override register(): Promise<void> {
        order.push('register sent');
        return new Promise<void>((resolve) => {
          answer = () => {
            order.push('register answered');
            resolve();
          };
        });
      }
      protected override async release(wasReady: boolean): Promise<void> {
        order.push(`release ${wasReady}`);
      }
    }
    const p = new SlowInit({ transactionalId: 'tx', logger: logger(), onClosed: () => order.push('closed'), requestTimeoutMs: 10 });
    const init = p.init().catch((e: unknown) => e);
    let closed = false;
    const closing = p.close().then(() => (closed = true));
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(closed).toBe(false);
    answer();
    await closing;
    expect(order).toEqual(['register sent', 'register answered', 'release false', 'closed']);
    // The producer was closed meanwhile: it is not ready, whatever the answer was.
    await init;
    await expect(p.sendInTransaction([])).rejects.toThrow(/is closed/);
  });
});

/** Commits at once and waits for readability of what it "wrote": one record per topic of the call. */
class ReadableProducer extends TransactionalProducerBase {
  readonly polled: string[] = [];
  protected async register(): Promise<void> {}
  protected async transact(records: readonly ProduceRecord[]): Promise<RecordMetadata[]> {
    const metadata = records.map((r, i) => ({ topic: r.topic, partition: 0, offset: i }));
    await this.untilReadable(metadata, async ({ topic }) => {
      this.polled.push(topic);
      return 1_000;
    });
    return metadata;
  }
  protected async release(): Promise<void> {}
}

describe('TransactionalProducerBase readableTopics', () => {
  it('waits for the records of the named topics only; none with an empty list; without the option, for every topic written', async () => {
    const p = new ReadableProducer({ transactionalId: 'tx', logger: logger(), onClosed: () => {}, requestTimeoutMs: 10 });
    await p.init();
    const records = [
      { topic: 'targets', key: 'k', value: 'v' },
      { topic: 'schedules', key: 'k', value: null },
    ];
    await p.sendInTransaction(records, { readableTopics: ['schedules'] });
    expect(p.polled).toEqual(['schedules']);
    p.polled.length = 0;
    await p.sendInTransaction(records, { readableTopics: [] });
    expect(p.polled).toEqual([]);
    await p.sendInTransaction(records);
    expect(p.polled.sort()).toEqual(['schedules', 'targets']);
  });
});
