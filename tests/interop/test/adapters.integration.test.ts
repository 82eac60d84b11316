/**
 * What every adapter does the same way, run on each: a schedule client made from connection
 * options creates its transport and closes it, and core's `Scheduler` on the adapter's transport
 * loads schedules (also from a log ending in transaction markers), dispatches them on time,
 * honours cancels and tombstones what it dispatched, at-least-once and transactional.
 */
import { describe, expect, it } from 'vitest';
import { ContractViolationError, createScheduleClient, Header, partitionForKey, Scheduler, systemClock } from '@ksched/core';
import type { DispatchedEvent, LoadedEvent } from '@ksched/core';
import { kafkaBrokers, RecordingListener, text, waitUntil } from '@ksched/testkit';
import { ADAPTERS } from './adapters/index.js';

const brokers = kafkaBrokers();

describe.each(ADAPTERS.map((a) => [a.name, a] as const))('the %s adapter', (name, { kafkaAdapter, harness }) => {
  const r = harness.useResources();

  it('createScheduleClient from connection options creates its own transport and closes it; the builders validate', async () => {
    const [schedulesTopic] = await r.schedulesTopics(5, 'client');
    const client = kafkaAdapter.createScheduleClient({ brokers, clientId: `ksched-${name}-client-test`, schedulesTopic: schedulesTopic! });
    try {
      const ref = await client.schedule({ message: { topic: 'orders', payload: 'x' }, envelope: { key: 'k-1' }, delayMs: 60_000 });
      expect(ref).toMatchObject({ topic: schedulesTopic, partition: partitionForKey('k-1', 5), offset: 0 });
      await expect(client.schedule({ message: { topic: 'orders', payload: 'x' }, epoch: 1 })).rejects.toSatisfy(
        ContractViolationError.isInstance,
      );
    } finally {
      await client.close();
    }
  });

  describe.each([false, true])(`the core Scheduler on the ${name} transport (transactional: %s)`, (transactional) => {
    it('loads, dispatches due schedules and honours cancels', async () => {
      const [schedules] = (await r.schedulesTopics(2, 'engine')) as [string];
      const target = await r.topic('engine-target', 1);
      const client = createScheduleClient({ transport: await r.transport(), schedulesTopic: schedules });
      // Something already in the log before the scheduler starts (it must load it).
      const early = await client.schedule({
        message: { topic: target, key: 'early', payload: 'early' },
        envelope: { key: 'early' },
        delayMs: 2500,
      });

      const scheduler = new Scheduler({
        transport: harness.adapter.createTransport(`ksched-${name}-engine-test`),
        clock: systemClock,
        options: {
          topics: [schedules],
          groupId: harness.unique('scheduler'),
          transactional,
          intervalMs: 1000,
          statesReportIntervalMs: 1000,
        },
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

        const { recorder } = await r.consume([target], new RecordingListener());
        await waitUntil(
          () => dispatched.length >= 2,
          () => `two dispatches (got ${JSON.stringify(dispatched.map((d) => d.key))})`,
        );
        await waitUntil(() => recorder.values({ topic: target, partition: 0 }).length >= 2, 'the two target messages');
        const delivered = recorder.of({ topic: target, partition: 0 }).flatMap((b) => b.records);
        expect(delivered.map((x) => text(x.value)).sort()).toEqual(['early', 'later']);
        for (const e of dispatched) expect(e.dispatchedAtMs).toBeGreaterThanOrEqual(e.dueMs);
        const laterRecord = delivered.find((x) => text(x.key) === 'later')!;
        expect(text(laterRecord.headers[Header.sourceTopic])).toBe(schedules);
        expect(text(laterRecord.headers[Header.sourcePartition])).toBe(String(later.partition));
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

    it('dispatches a schedule due in ~1 s to its target topic and tombstones it', async () => {
      const [schedules] = (await r.schedulesTopics(2, 'sched')) as [string];
      const target = await r.topic('target');

      const scheduler = new Scheduler({
        transport: harness.adapter.createTransport(`ksched-${name}-engine`),
        clock: systemClock,
        options: { topics: [schedules], groupId: harness.unique('scheduler'), transactional, intervalMs: 1000 },
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
});
