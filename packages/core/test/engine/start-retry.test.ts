import { describe, expect, it } from 'vitest';
import { TransportError } from '@ksched/core';
import { createTestEnvironment } from '@ksched/testkit';
import { interceptTransport, SECOND } from './helpers.js';

describe('a partition whose start fails', () => {
  it('is retried with back-off while assigned, then loads and dispatches', async () => {
    await using env = await createTestEnvironment({ start: false, scheduler: { transactional: true } });
    await env.schedule({ message: { topic: 'events', key: 'k', payload: 'p' }, envelope: { key: 'due-soon' }, delayMs: 10 * SECOND });
    let failures = 0;
    const member = await env.addMember(
      {},
      {
        wrapTransport: (t) =>
          interceptTransport(t, {
            beforeSeek: () => {
              if (failures < 3) {
                failures++;
                throw new TransportError('injected: the broker did not answer the seek', { retriable: true });
              }
            },
          }),
      },
    );
    expect(failures).toBe(1);
    expect(member.events.errors.map((e) => e.phase)).toEqual(['load']);
    expect(member.scheduler.partitions()[0]?.state).toBe('loading');

    // Back-off 500 ms, then 1 s, then 2 s: the fourth start succeeds.
    await env.advance(500);
    expect(failures).toBe(2);
    await env.advance(1000);
    expect(failures).toBe(3);
    await env.advance(2000);
    expect(member.events.loaded).toHaveLength(1);
    expect(member.scheduler.partitions()[0]?.state).toBe('loaded');

    await env.advance(10 * SECOND);
    expect(env.dispatched('events').map((m) => m.value)).toEqual(['p']);
  });

  it('a transactional producer that cannot be initialised is retried by the scheduler, and nothing loads before it is', async () => {
    await using env = await createTestEnvironment({ start: false, scheduler: { transactional: true } });
    await env.schedule({ message: { topic: 'events', payload: 'p' }, delayMs: 5 * SECOND });
    let inits = 0;
    const member = await env.addMember(
      {},
      {
        wrapTransport: (t) =>
          interceptTransport(t, {
            beforeInit: () => {
              inits++;
              if (inits <= 2) throw new TransportError('injected: coordinator not available', { retriable: true });
            },
          }),
      },
    );
    expect(member.events.errors.map((e) => e.phase)).toEqual(['transactions']);
    expect(member.events.loaded).toHaveLength(0);
    await env.advance(500);
    expect(member.events.loaded).toHaveLength(0);
    await env.advance(1000);
    expect(inits).toBe(3);
    expect(member.events.loaded).toHaveLength(1);
    await env.advance(5 * SECOND);
    expect(env.dispatched('events')).toHaveLength(1);
  });

  it('stops retrying once the partition is revoked or the scheduler stops', async () => {
    await using env = await createTestEnvironment({ start: false });
    let seeks = 0;
    const member = await env.addMember(
      {},
      {
        wrapTransport: (t) =>
          interceptTransport(t, {
            beforeSeek: () => {
              seeks++;
              throw new TransportError('injected: unreachable', { retriable: true });
            },
          }),
      },
    );
    await env.advance(600);
    expect(seeks).toBe(2);
    await env.stopMember(member);
    await env.advance(60 * SECOND);
    expect(seeks).toBe(2);
    expect(env.clock.countTimers()).toBe(0);
  });
});
