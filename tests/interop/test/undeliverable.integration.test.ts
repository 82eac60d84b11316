/**
 * A valid schedule whose user header holds bytes that are not UTF-8 (issue 13.4, as a new user
 * tried it): the kafkajs adapter sends it like any other; node-rdkafka 3.6 cannot send such a
 * header unchanged, so its adapter refuses the record before sending anything and the scheduler
 * dead-letters it at once (reason `refused`, the header carried as base64) and tombstones it.
 * Either way the schedules due with it go out in the same flush and none counts as a possible
 * duplicate. On the real broker, at-least-once and transactional.
 */
import { describe, expect, it } from 'vitest';
import { Header, Scheduler, schedule, systemClock } from '@ksched/core';
import type { DispatchedEvent, FlushEvent, UndeliverableEvent } from '@ksched/core';
import { RecordingListener, text, waitUntil } from '@ksched/testkit';
import { ADAPTERS } from './adapters/index.js';

const BINARY = new Uint8Array([0xff, 0xfe, 0x41]);
/** The kafkajs adapter can produce any header bytes: the schedules are written with it. */
const writer = ADAPTERS.find((a) => a.name === 'kafkajs')!.harness;

describe.each(ADAPTERS.map((a) => [a.name, a] as const))(
  'a schedule with a non-UTF-8 header value, scheduler on %s',
  (name, { harness }) => {
    const r = harness.useResources();
    const w = writer.useResources();
    /** node-rdkafka 3.6 alters such header values (Blizzard/node-rdkafka#1006): its adapter refuses them. */
    const refuses = name === 'rdkafka';

    it.each([false, true])(
      `is ${refuses ? 'dead-lettered at once' : 'dispatched'}; the others due with it are not delayed or flagged (transactional: %s)`,
      async (transactional) => {
        const [schedules] = (await r.schedulesTopics(1, 'undeliverable')) as [string];
        const target = await r.topic('undeliverable-target', 1);
        const dlq = await r.topic('undeliverable-dlq', 1);
        const scheduler = new Scheduler({
          transport: harness.adapter.createTransport(`ksched-${name}-undeliverable-test`),
          clock: systemClock,
          options: { topics: [schedules], groupId: harness.unique('undeliverable'), transactional, deadLetterTopic: dlq, intervalMs: 1000 },
        });
        const dispatched: DispatchedEvent[] = [];
        const undeliverable: UndeliverableEvent[] = [];
        const flushes: FlushEvent[] = [];
        scheduler.on('flush', (e) => flushes.push(e));
        scheduler.on('dispatched', (e) => dispatched.push(e));
        scheduler.on('undeliverable', (e) => undeliverable.push(e));
        await scheduler.start();
        try {
          await waitUntil(() => scheduler.isReady(), 'the scheduler loaded');
          const at = Date.now() + 2000;
          const build = (key: string, headers?: Record<string, string | Uint8Array<ArrayBuffer>>) =>
            schedule({
              message: { topic: target, key, payload: `p-${key}`, ...(headers ? { headers } : {}) },
              envelope: { topic: schedules, key },
              at,
            });
          await (await w.transport()).produce([build('a'), build('bad', { bin: BINARY, plain: 'text' }), build('c')]);

          const { recorder } = await r.consume([target, dlq], new RecordingListener());
          const expected = refuses ? ['a', 'c'] : ['a', 'bad', 'c'];
          await waitUntil(
            () => dispatched.length >= expected.length && (!refuses || undeliverable.length >= 1),
            () => `dispatches ${JSON.stringify(dispatched.map((d) => d.key))}`,
          );
          expect(dispatched.map((e) => e.key).sort()).toEqual(expected);
          expect(dispatched.every((e) => !e.possibleDuplicate)).toBe(true);
          // Same flush pass: the retry after the refusal carried all three pairs (a and c dispatched, the bad one
          // dead-lettered): one transaction, or without transactions the three targets in one call and their
          // three tombstones in the next (a refused call writes nothing and reports no flush).
          expect(flushes.map((f) => f.records)).toEqual(transactional ? [6] : [3, 3]);
          await waitUntil(() => recorder.values({ topic: target, partition: 0 }).length >= expected.length, 'the target records');
          expect(recorder.values({ topic: target, partition: 0 }).sort()).toEqual(expected.map((k) => `p-${k}`));
          if (refuses) {
            expect(undeliverable.map((e) => [e.key, e.reason, e.action])).toEqual([['bad', 'refused', 'dead_lettered']]);
            await waitUntil(() => recorder.values({ topic: dlq, partition: 0 }).length >= 1, 'the dead letter');
            const [dead] = recorder.of({ topic: dlq, partition: 0 }).flatMap((b) => b.records);
            expect(text(dead!.key)).toBe('bad');
            expect(text(dead!.value)).toBe('p-bad');
            expect(text(dead!.headers['ksched_undeliverable_reason'])).toBe('refused');
            expect(text(dead!.headers[Header.targetTopic])).toBe(target);
            expect(text(dead!.headers['plain'])).toBe('text');
            expect(JSON.parse(text(dead!.headers['ksched_binary_headers_base64'])!)).toEqual({
              bin: Buffer.from(BINARY).toString('base64'),
            });
          } else {
            const bad = recorder
              .of({ topic: target, partition: 0 })
              .flatMap((b) => b.records)
              .find((x) => text(x.key) === 'bad')!;
            expect(Buffer.from(bad.headers['bin'] as Uint8Array)).toEqual(Buffer.from(BINARY));
            expect(undeliverable).toEqual([]);
          }
          // Every schedule is closed by a tombstone: a new owner would neither dispatch nor dead-letter it again.
          const { recorder: log } = await r.consume([schedules], new RecordingListener());
          await waitUntil(
            () =>
              log
                .of({ topic: schedules, partition: 0 })
                .flatMap((b) => b.records)
                .filter((x) => x.value === null).length >= 3,
            'three tombstones',
          );
        } finally {
          await scheduler.stop();
        }
      },
    );
  },
);
