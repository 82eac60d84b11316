/**
 * The admin API (issue 14, item 1) on the real broker, through each adapter: the states report a
 * running scheduler wrote, a page of records with the transaction markers of a transactional
 * scheduler shown as gaps, and a schedule routed by partition key found where it is, pending,
 * cancelled and dispatched. The admin reads outside the group: the scheduler keeps its partitions.
 */
import { describe, expect, it } from 'vitest';
import { createScheduleAdmin, createScheduleClient, Scheduler, systemClock } from '@ksched/core';
import type { DispatchedEvent } from '@ksched/core';
import { waitUntil } from '@ksched/testkit';
import { ADAPTERS } from './adapters/index.js';

describe.each(ADAPTERS.map((a) => [a.name, a] as const))('the admin API on %s', (name, { harness }) => {
  const r = harness.useResources();

  it('shows states reports, pages records with gaps, and finds a schedule as it was routed', async () => {
    const [schedules] = (await r.schedulesTopics(3, 'admin')) as [string];
    const target = await r.topic('admin-target', 1);
    const scheduler = new Scheduler({
      transport: harness.adapter.createTransport(`ksched-${name}-admin-scheduler`),
      clock: systemClock,
      options: {
        topics: [schedules],
        groupId: harness.unique('admin'),
        intervalMs: 1000,
        statesReportIntervalMs: 1000,
        transactional: true,
      },
    });
    const dispatchedKeys: string[] = [];
    scheduler.on('dispatched', (e: DispatchedEvent) => dispatchedKeys.push(e.key));
    r.afterFile(() => scheduler.stop());
    await scheduler.start();
    await waitUntil(() => scheduler.isReady(), 'the scheduler ready', 60_000);

    const transport = await r.transport();
    const admin = createScheduleAdmin({ transport, schedulesTopics: [schedules] });
    const client = createScheduleClient({ transport, schedulesTopic: schedules });
    const now = Date.now();
    const soon = await client.schedule({
      message: { topic: target, payload: 'soon' },
      at: now + 3000,
      envelope: { key: 'reminder-soon', partitionKey: 'customer-7' },
    });
    const later = await client.schedule({
      message: { topic: target, payload: 'later' },
      at: now + 30 * 60_000,
      envelope: { key: 'reminder-later', partitionKey: 'customer-7' },
    });
    expect(later.partition).toBe(soon.partition);

    // Found on the partition the partition key routes to, pending, with its due time.
    expect(await admin.find('reminder-later', { partitionKey: 'customer-7' })).toMatchObject({
      partition: later.partition,
      status: 'pending',
      latest: { dueMs: now + 30 * 60_000, target: { topic: target } },
    });
    await client.cancel({ key: 'reminder-later', partition: later.partition });
    expect((await admin.find('reminder-later', { partitionKey: 'customer-7' })).status).toBe('cancelled');
    await waitUntil(() => dispatchedKeys.includes('reminder-soon'), 'reminder-soon dispatched', 60_000);
    const dispatched = await admin.find('reminder-soon', { partitionKey: 'customer-7' });
    expect(dispatched.status).toBe('dispatched');
    expect(dispatched.history.map((h) => h.type)).toEqual(['schedule', 'tombstone']);
    expect(dispatched.history[1]!.closesOffset).toBe(soon.offset);

    // The page: two schedules, the cancel and the tombstone; the tombstone was written in a
    // transaction, so its commit marker is a gap (offsets do not run on).
    const page = await admin.records(schedules, soon.partition);
    expect(page.records.map((rec) => [rec.type, rec.key])).toEqual([
      ['schedule', 'reminder-soon'],
      ['schedule', 'reminder-later'],
      ['cancel', 'reminder-later'],
      ['tombstone', 'reminder-soon'],
    ]);
    expect(page.gaps.length).toBeGreaterThan(0);
    expect(page.next).toBeUndefined();
    const second = await admin.records(schedules, soon.partition, { fromOffset: page.records[1]!.offset, limit: 1 });
    expect(second.records.map((rec) => rec.key)).toEqual(['reminder-later']);
    expect(second.next).toBe(page.records[1]!.offset + 1);

    // The states reports of the running scheduler, one per partition; the scheduler kept its partitions.
    const [topic] = await admin.topics();
    expect(topic!.partitions.map((p) => p.states?.report.state)).toEqual(['loaded', 'loaded', 'loaded']);
    expect(Math.abs(topic!.partitions[0]!.states!.reportedAtMs - Date.now())).toBeLessThan(60_000);
    expect(scheduler.partitions()).toHaveLength(3);
  }, 120_000);
});
