/**
 * The helpers for a scheduler embedded in someone else's service (issue 15, item 2): the service's
 * metrics on the application's own registry, its readiness answers, and its graceful stop, on a
 * scheduler running on the FakeBroker.
 */
import { createTestEnvironment } from '@ksched/testkit';
import { Counter, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { observeScheduler, readinessResponse, stopGracefully } from '../src/index.js';
import { metricValue } from './helpers.js';

describe('observeScheduler', () => {
  it('puts the ksched metrics on the application’s registry next to its own, and answers readiness like /readyz', async () => {
    await using env = await createTestEnvironment({ partitions: 2 });
    const registry = new Registry();
    new Counter({ name: 'app_requests_total', help: 'the application’s own metric', registers: [registry] }).inc(3);
    let reachable = true;
    const observed = observeScheduler(env.scheduler, {
      registry,
      checkBroker: async () => {
        if (!reachable) throw new Error('down');
      },
      brokerCheckIntervalMs: 10,
    });
    try {
      const now = env.clock.now();
      await env.schedule({ message: { topic: 'events', payload: 'x' }, at: now + 1000 });
      await env.advance(2000);
      await observed.probe.check();
      const text = await observed.renderMetrics();
      expect(observed.contentType).toBe(registry.contentType);
      expect(metricValue(text, 'app_requests_total')).toBe(3);
      expect(metricValue(text, 'ksched_dispatched_total')).toBe(1);
      expect(metricValue(text, 'ksched_ready')).toBe(1);
      expect(text).not.toContain('process_cpu_user_seconds_total'); // the app's registry: no process metrics unless asked

      expect(observed.readiness()).toMatchObject({ status: 200, body: { status: 'ready', brokerReachable: true } });
      expect(observed.readiness().body.partitions).toHaveLength(2);
      reachable = false;
      await observed.probe.check();
      expect(observed.readiness()).toMatchObject({ status: 503, body: { status: 'not ready', brokerReachable: false } });
      expect(observed.readiness().body.reason).toMatch(/^broker unreachable/);
      expect(observed.health()).toEqual({ status: 200, body: { status: 'ok' } });
    } finally {
      observed.close();
    }
    // Detached: later dispatches are not counted.
    await env.schedule({ message: { topic: 'events', payload: 'y' }, at: env.clock.now() + 1000 });
    await env.advance(2000);
    expect(metricValue(await registry.metrics(), 'ksched_dispatched_total')).toBe(1);
  });

  it('readinessResponse: 503 with the reason before the first broker check', () => {
    const response = readinessResponse({ ready: false, reason: 'no broker check answered yet; loading 1 of 1 partitions', partitions: [] });
    expect(response).toEqual({
      status: 503,
      body: {
        status: 'not ready',
        reason: 'no broker check answered yet; loading 1 of 1 partitions',
        brokerReachable: null,
        partitions: [],
      },
    });
  });
});

describe('stopGracefully', () => {
  it('stops the scheduler (partitions report stopped), or says it timed out', async () => {
    await using env = await createTestEnvironment({ partitions: 1 });
    expect(await stopGracefully(env.scheduler, { timeoutMs: 5000 })).toBe('stopped');
    expect(env.lastState(0)?.state).toBe('stopped');
    expect(await stopGracefully({ stop: () => new Promise<void>(() => {}) }, { timeoutMs: 20 })).toBe('timeout');
    await expect(stopGracefully({ stop: () => Promise.reject(new Error('boom')) }, { timeoutMs: 1000 })).rejects.toThrow('boom');
  });
});
