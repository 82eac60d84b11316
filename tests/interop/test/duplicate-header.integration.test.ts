/**
 * A schedules-topic record that carries a `schedule_*` header more than once with different values
 * (Kafka allows a header name to repeat; a raw kafkajs producer writes an array value as the name
 * repeated) is invalid with reason `duplicate_header` on each adapter, counted and skipped, while
 * the schedules next to it go out. A header repeated with one value, and a repeated header of the
 * message's own, are not invalid: the message goes out with that header once, its last value.
 */
import { describe, expect, it } from 'vitest';
import { Header, Scheduler, systemClock } from '@ksched/core';
import type { DispatchedEvent, InvalidEvent } from '@ksched/core';
import { kafkaBrokers, text, waitUntil } from '@ksched/testkit';
import { Kafka, logLevel } from 'kafkajs';
import type { IHeaders } from 'kafkajs';
import { ADAPTERS } from './adapters/index.js';

describe.each(ADAPTERS.map((a) => [a.name, a] as const))('a header repeated with different values, on %s', (name, { harness }) => {
  const r = harness.useResources();

  it('a repeated schedule_source_type is invalid (duplicate_header); the schedules next to it are dispatched', async () => {
    const [schedules] = (await r.schedulesTopics(1, 'duplicate-header')) as [string];
    const target = await r.topic('duplicate-header-target', 1);
    const scheduler = new Scheduler({
      transport: harness.adapter.createTransport(`ksched-${name}-duplicate-header`),
      clock: systemClock,
      options: { topics: [schedules], groupId: harness.unique('duplicate-header'), intervalMs: 1000, statesReportIntervalMs: 1000 },
    });
    const invalid: InvalidEvent[] = [];
    const dispatched: DispatchedEvent[] = [];
    const errors: unknown[] = [];
    scheduler.on('invalid', (e) => invalid.push(e));
    scheduler.on('dispatched', (e) => dispatched.push(e));
    scheduler.on('error', (e) => errors.push(e.error));
    r.afterFile(() => scheduler.stop());

    const producer = new Kafka({ brokers: kafkaBrokers(), clientId: `ksched-${name}-raw`, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    r.afterFile(() => producer.disconnect());
    const epoch = String(Math.floor(Date.now() / 1000) + 3);
    const envelope = (headers: IHeaders): IHeaders => ({
      [Header.schemaVersion]: '1.0.0',
      [Header.sourceType]: 'schedule',
      [Header.targetEpoch]: epoch,
      [Header.targetTopic]: target,
      ...headers,
    });
    const send = async (key: string, headers: IHeaders): Promise<number> => {
      const [meta] = await producer.send({
        topic: schedules,
        acks: -1,
        messages: [{ key, value: `payload-${key}`, partition: 0, headers }],
      });
      return Number(meta!.baseOffset);
    };
    // Before the scheduler starts (read while loading) …
    const loadedBad = await send('both', envelope({ [Header.sourceType]: ['schedule', 'cancel'] }));
    await send('same-twice', envelope({ [Header.sourceType]: ['schedule', 'schedule'] }));
    await scheduler.start();
    await waitUntil(
      () => scheduler.isReady(),
      () => `the scheduler ready (${JSON.stringify(scheduler.partitions())})`,
    );
    // … and while loaded (read live).
    await send('user-twice', envelope({ trace: ['first', 'second'] }));
    const liveBad = await send('two-topics', envelope({ [Header.targetTopic]: [target, `${target}-other`] }));

    await waitUntil(
      () => dispatched.length >= 2 && invalid.length >= 2,
      () => `two dispatches and two invalid records (got ${JSON.stringify({ dispatched, invalid })})`,
      30_000,
    );
    expect(invalid.map((e) => [e.offset, e.reason, e.detail])).toEqual([
      [loadedBad, 'duplicate_header', 'schedule_source_type appears more than once with different values (the last is "cancel")'],
      [liveBad, 'duplicate_header', `schedule_target_topic appears more than once with different values (the last is "${target}-other")`],
    ]);
    expect(dispatched.map((e) => e.key).sort()).toEqual(['same-twice', 'user-twice']);
    expect(scheduler.partitions()[0]).toMatchObject({ invalid: 2, halted: false });

    const { recorder } = await r.consume([target]);
    await recorder.waitForEof({ topic: target, partition: 0 }, 2);
    const delivered = recorder.of({ topic: target, partition: 0 }).flatMap((b) => b.records);
    expect(delivered.map((x) => text(x.value)).sort()).toEqual(['payload-same-twice', 'payload-user-twice']);
    // The message's own repeated header went out once, with its last value.
    const userTwice = delivered.find((x) => text(x.value) === 'payload-user-twice')!;
    expect(text(userTwice.headers['trace'])).toBe('second');
    expect(userTwice.repeatedHeaders).toBeUndefined();
    expect(errors).toEqual([]);
  });
});
