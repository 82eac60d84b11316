import { TransportError } from '@ksched/core';
import type { GroupListener, Logger, PartitionBatch, TopicPartition } from '@ksched/core';
import { ListenerDelivery } from '@ksched/core/adapter';
import type { HeldPartition } from '@ksched/core/adapter';
import { describe, expect, it } from 'vitest';

const batch: PartitionBatch = { topic: 't', partition: 0, records: [], position: 4 };

/** A clock whose timers fire at once (on a microtask), so backoffs take no time. */
const instantClock = {
  now: () => 0,
  setTimeout(cb: () => void): object {
    queueMicrotask(cb);
    return {};
  },
  clearTimeout: () => {},
};

function recordingLogger(): Logger & { readonly errors: string[] } {
  const errors: string[] = [];
  const noop = () => {};
  return { errors, debug: noop, info: noop, warn: noop, error: (_fields: unknown, message: string) => errors.push(message) };
}

function setup(listener: Partial<GroupListener>, maxBatchRetries = 2) {
  const log: string[] = [];
  const full: GroupListener = {
    onAssigned: (tps: readonly TopicPartition[]) => void log.push(`assigned ${tps.length}`),
    onRevoked: (tps: readonly TopicPartition[]) => void log.push(`revoked ${tps.length}`),
    onBatch: () => void log.push('batch'),
    ...listener,
  };
  const logger = recordingLogger();
  const d = new ListenerDelivery<HeldPartition>({ listener: full, logger, groupId: 'g', maxBatchRetries, clock: instantClock });
  const [st] = d.add([{ topic: 't', partition: 0 }], (base) => base);
  return { d, st: st!, log, logger };
}

describe('ListenerDelivery', () => {
  it('redelivers a rejected batch a bounded number of times, then stops the partition and says so', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const { d, st } = setup({
      onBatch: () => {
        calls++;
        throw new Error('nope');
      },
      onError: (e) => errors.push(e),
    });
    st.phase = 'active';
    let stopped = 0;
    expect(await d.deliver(st, st.generation, batch, { stop: () => stopped++ })).toBe('stopped');
    expect(calls).toBe(3);
    expect(stopped).toBe(1);
    expect(st.stopped).toBe(true);
    expect(errors).toHaveLength(4);
    expect(TransportError.isInstance(errors[3])).toBe(true);
    expect(String(errors[3])).toMatch(/rejected 3 times in a row/);
  });

  it('drops a delivery prepared under an older generation, and one that is no longer worth retrying', async () => {
    const { d, st, log } = setup({ onBatch: () => Promise.reject(new Error('x')), onError: () => {} });
    st.phase = 'active';
    expect(await d.deliver(st, st.generation - 1, batch, { stop: () => {} })).toBe('dropped');
    expect(await d.deliver(st, st.generation, batch, { retry: () => false, stop: () => {} })).toBe('dropped');
    expect(log).toEqual([]);
  });

  it('runs onAssigned then activates; onRevoked waits for the in-flight onBatch; nothing after revocation', async () => {
    let release: () => void = () => {};
    const { d, st, log } = setup({
      onBatch: () =>
        new Promise<void>((resolve) => {
          log.push('batch start');
          release = () => {
            log.push('batch end');
            resolve();
          };
        }),
    });
    d.assigned([st], (current) => {
      for (const s of current) s.phase = 'active';
    });
    await d.groupSettled();
    const delivering = d.deliver(st, st.generation, batch, { stop: () => {} });
    await Promise.resolve();
    d.revoke([st]);
    expect(d.heldStates()).toEqual([]);
    expect(() => d.held(st)).toThrow(/not assigned/);
    release();
    await delivering;
    await d.groupSettled();
    expect(log).toEqual(['assigned 1', 'batch start', 'batch end', 'revoked 1']);
    expect(d.states.size).toBe(0);
    expect(await d.deliver(st, st.generation, batch, { stop: () => {} })).toBe('dropped');
  });

  it('without onError, logs the error; an onError that throws is logged too', () => {
    const a = setup({});
    a.d.reportError(new Error('one'));
    expect(a.logger.errors).toEqual(['consumer error (no onError listener)']);
    const b = setup({
      onError: () => {
        throw new Error('bad listener');
      },
    });
    expect(() => b.d.reportError(new Error('two'))).not.toThrow();
    expect(b.logger.errors).toEqual(['onError threw']);
  });
});
