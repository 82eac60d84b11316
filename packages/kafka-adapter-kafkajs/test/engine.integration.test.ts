/**
 * The core engine on the kafkajs transport and the real broker: schedules are loaded (also from a
 * log ending in transaction markers), dispatched on time, and a cancel on the schedule's
 * partition prevents the dispatch.
 */
import { describe, expect, it } from 'vitest';
import { Header, Scheduler, systemClock } from '@ksched/core';
import type { DispatchedEvent, LoadedEvent } from '@ksched/core';
import { createKafkaJsTransport, createScheduleClient } from '../src/index.js';
import { brokers, Recorder, text, unique, useResources, waitUntil } from './helpers.js';

const r = useResources();
describe('the core Scheduler on the kafkajs transport', () => {
  it.each([false, true])('loads, dispatches due schedules and honours cancels (transactional: %s)', async (transactional) => {
    const [schedules] = (await r.schedulesTopics(2, 'engine')) as [string];
    const target = await r.topic('engine-target', 1);
    const producer = await r.transport();
    const client = createScheduleClient({ transport: producer, schedulesTopic: schedules });
    // Something already in the log before the scheduler starts (it must load it).
    const early = await client.schedule({
      message: { topic: target, key: 'early', payload: 'early' },
      envelope: { key: 'early' },
      delayMs: 2500,
    });

    const scheduler = new Scheduler({
      transport: createKafkaJsTransport({ brokers, clientId: 'ksched-engine-test' }),
      clock: systemClock,
      options: { topics: [schedules], groupId: unique('scheduler'), transactional, intervalMs: 1000, statesReportIntervalMs: 1000 },
    });
    const dispatched: DispatchedEvent[] = [];
    const loaded: LoadedEvent[] = [];
    const errors: unknown[] = [];
    scheduler.on('dispatched', (e) => dispatched.push(e));
    scheduler.on('loaded', (e) => loaded.push(e));
    scheduler.on('error', (e) => errors.push(e.error));
    await scheduler.start();
    try {
      await waitUntil(
        () => loaded.length >= 2,
        () => `both partitions loaded (${JSON.stringify(loaded)})`,
      );
      expect(loaded.every((e) => e.by === 'end_offset')).toBe(true);

      const later = await client.schedule({
        message: { topic: target, key: 'later', payload: 'later' },
        envelope: { key: 'later' },
        delayMs: 1500,
      });
      const cancelled = await client.schedule({
        message: { topic: target, key: 'cancelled', payload: 'no' },
        envelope: { key: 'cancelled' },
        delayMs: 1500,
      });
      await client.cancel(cancelled);

      const { recorder } = await r.consume([target], new Recorder());
      await waitUntil(
        () => dispatched.length >= 2,
        () => `two dispatches (got ${JSON.stringify(dispatched.map((d) => d.key))})`,
      );
      await waitUntil(() => recorder.values({ topic: target, partition: 0 }).length >= 2, 'the two target messages');
      const delivered = recorder.of({ topic: target, partition: 0 }).flatMap((b) => b.records);
      expect(delivered.map((x) => text(x.value)).sort()).toEqual(['early', 'later']);
      for (const e of dispatched) expect(e.dispatchedAtMs).toBeGreaterThanOrEqual(e.dueMs);
      const laterRecord = delivered.find((x) => text(x.key) === 'later')!;
      expect(text(laterRecord.headers[Header.sourceTopic] as Uint8Array)).toBe(schedules);
      expect(text(laterRecord.headers[Header.sourcePartition] as Uint8Array)).toBe(String(later.partition));
      expect(early.partition).toBeGreaterThanOrEqual(0);

      // The cancelled schedule stays cancelled past its due time.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(dispatched.map((d) => d.key).sort()).toEqual(['early', 'later']);
      expect(recorder.values({ topic: target, partition: 0 }).sort()).toEqual(['early', 'later']);
      expect(errors).toEqual([]);
    } finally {
      await scheduler.stop();
    }
  });
});
