/**
 * Engine smoke test: core's `Scheduler` on the real clock and the rdkafka transport dispatches a
 * schedule due in about a second, at-least-once and transactional.
 */
import { describe, expect, it } from 'vitest';
import { Header, Scheduler, systemClock } from '@ksched/core';
import type { DispatchedEvent } from '@ksched/core';
import { createRdKafkaTransport, createScheduleClient } from '../src/index.js';
import { brokers, text, unique, useResources, waitUntil } from './helpers.js';

const r = useResources();
describe.each([false, true])('Scheduler on the rdkafka transport (transactional: %s)', (transactional) => {
  it('dispatches a schedule due in ~1 s to its target topic and tombstones it', async () => {
    const [schedules] = (await r.schedulesTopics(2, 'sched')) as [string];
    const target = await r.topic('target');

    const transport = createRdKafkaTransport({ brokers, clientId: 'ksched-rdkafka-engine' });
    const scheduler = new Scheduler({
      transport,
      clock: systemClock,
      options: { topics: [schedules], groupId: unique('scheduler'), transactional, intervalMs: 1000 },
    });
    const dispatched: DispatchedEvent[] = [];
    scheduler.on('dispatched', (e) => dispatched.push(e));
    await scheduler.start();
    try {
      await waitUntil(
        () => scheduler.isReady(),
        () => `scheduler loaded (${JSON.stringify(scheduler.partitions())})`,
        60_000,
      );
      const client = createScheduleClient({ transport: await r.transport(), schedulesTopic: schedules });
      const dueMs = Date.now() + 1000;
      const ref = await client.schedule({
        message: { topic: target, key: 'order-1', payload: 'due soon', headers: { trace: 'abc' } },
        at: dueMs,
      });
      await waitUntil(() => dispatched.length === 1, 'the dispatch', 30_000);
      const [event] = dispatched;
      expect(event).toMatchObject({ topic: schedules, partition: ref.partition, key: ref.key, targetTopic: target });
      expect(event!.dispatchedAtMs).toBeGreaterThanOrEqual(dueMs);
      expect(event!.lateMs).toBeLessThan(5000);

      const { recorder } = await r.consume([target]);
      await recorder.waitForEof({ topic: target, partition: 0 }, 1);
      const [message] = recorder.of({ topic: target, partition: 0 }).flatMap((b) => b.records);
      expect(text(message!.value)).toBe('due soon');
      expect(text(message!.key)).toBe('order-1');
      expect(text(message!.headers['trace'])).toBe('abc');
      expect(text(message!.headers[Header.sourceKey])).toBe(ref.key);

      // The tombstone closes the schedule on its partition.
      const reader = await r.consume([schedules]);
      const tp = { topic: schedules, partition: ref.partition };
      const wm = await reader.transport.fetchWatermarks(tp);
      await reader.recorder.waitForEof(tp, wm.high);
      const records = reader.recorder
        .of(tp)
        .flatMap((b) => b.records)
        .filter((x) => text(x.key) === ref.key);
      expect(records.map((x) => text(x.headers[Header.sourceType]))).toEqual(['schedule', 'tombstone']);
      expect(records[1]!.value).toBeNull();
    } finally {
      await scheduler.stop();
    }
  });
});
