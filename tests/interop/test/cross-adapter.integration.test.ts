/**
 * The two adapters together on one broker: schedules written through one adapter's schedule
 * client are dispatched by a Scheduler on the other (both directions); cancels sent through
 * either client reach the schedule's partition; and the same schedules dispatched by a Scheduler
 * on each adapter produce the same target and tombstone records. This package depends on both
 * adapters, so that neither adapter depends on the other.
 */
import { describe, expect, it } from 'vitest';
import { createScheduleClient, Header, partitionForKey, Scheduler, systemClock } from '@ksched/core';
import type { ConsumedRecord, DispatchedEvent, ErrorEvent, ProduceRecord, ScheduleClient, ScheduledRef, Transport } from '@ksched/core';
import { sleep, text, waitUntil } from '@ksched/testkit';
import { adapters, ADAPTERS } from './adapters/index.js';
import type { AdapterName } from './adapters/index.js';

const unique = adapters.rdkafka.harness.unique;
// One set of resources (topics, the checking consumer, what closes after the file) for both adapters.
const r = adapters.rdkafka.harness.useResources();

function transportOf(adapter: AdapterName, clientId: string): Transport {
  return adapters[adapter].harness.adapter.createTransport(clientId);
}

/** Core's schedule client on a transport of `adapter` (closed after the file). */
async function clientOf(adapter: AdapterName, schedulesTopic: string): Promise<ScheduleClient> {
  const transport = transportOf(adapter, `ksched-cross-${adapter}-client`);
  r.afterFile(() => transport.close());
  await transport.connect();
  return createScheduleClient({ transport, schedulesTopic });
}

const schedulesTopics = (partitions: number, ...labels: string[]): Promise<string[]> => r.schedulesTopics(partitions, ...labels);

interface Running {
  readonly scheduler: Scheduler;
  readonly dispatched: DispatchedEvent[];
  readonly errors: ErrorEvent[];
}

async function startScheduler(adapter: AdapterName, schedules: string): Promise<Running> {
  const scheduler = new Scheduler({
    transport: transportOf(adapter, `ksched-cross-${adapter}-scheduler`),
    clock: systemClock,
    options: { topics: [schedules], groupId: unique(`cross-${adapter}`), intervalMs: 1000, statesReportIntervalMs: 1000 },
  });
  const running: Running = { scheduler, dispatched: [], errors: [] };
  scheduler.on('dispatched', (e) => running.dispatched.push(e));
  scheduler.on('error', (e) => running.errors.push(e));
  r.afterFile(() => scheduler.stop());
  await scheduler.start();
  await waitUntil(
    () => scheduler.isReady(),
    () => `the ${adapter} scheduler ready (${JSON.stringify(scheduler.partitions())})`,
  );
  return running;
}

const headerTexts = (record: ConsumedRecord): Record<string, string> =>
  Object.fromEntries(Object.entries(record.headers).map(([k, v]) => [k, text(v) ?? '']));

describe('cross-adapter: written through one, dispatched or cancelled through the other', () => {
  describe.each([
    ['kafkajs', 'rdkafka'],
    ['rdkafka', 'kafkajs'],
  ] as const)('schedules written through the %s client, dispatched by a Scheduler on %s', (writer, dispatcher) => {
    it('dispatches them once each; cancels through either client stop theirs', async () => {
      const [schedules] = await schedulesTopics(5, `cross-${writer}-to-${dispatcher}`);
      const target = await r.topic('cross-target', 2);
      const running = await startScheduler(dispatcher, schedules!);
      const client = await clientOf(writer, schedules!);
      const at = Date.now() + 2000;
      const kept: ScheduledRef[] = [
        await client.schedule({
          message: { topic: target, key: 'kept-1', payload: 'p1', headers: { h: '1' } },
          envelope: { key: 'kept-1' },
          at,
        }),
        await client.schedule({ message: { topic: target, key: 'kept-2', payload: 'p2' }, envelope: { key: 'kept-2', partition: 3 }, at }),
        await client.schedule({
          message: { topic: target, key: 'kept-3', payload: 'p3' },
          envelope: { key: 'kept-3', partitionKey: 'customer-9' },
          at,
        }),
        // No envelope key: the envelope is routed by the message's partition key.
        await client.schedule({ message: { topic: target, key: 'kept-4', partitionKey: 'tenant-7', payload: 'p4' }, at }),
      ];
      const cancelled: ScheduledRef[] = [];
      for (const { name: canceller } of ADAPTERS) {
        const c = await clientOf(canceller, schedules!);
        const byKey = await client.schedule({ message: { topic: target, payload: 'x' }, envelope: { key: `cancel-${canceller}-key` }, at });
        const byPartition = await client.schedule({
          message: { topic: target, payload: 'x' },
          envelope: { key: `cancel-${canceller}-p`, partition: 4 },
          at,
        });
        const byPartitionKey = await client.schedule({
          message: { topic: target, payload: 'x' },
          envelope: { key: `cancel-${canceller}-pk`, partitionKey: 'order-42' },
          at,
        });
        const refs = [
          await c.cancel({ key: byKey.key }),
          await c.cancel({ key: byPartition.key, partition: byPartition.partition }),
          await c.cancel({ key: byPartitionKey.key, partitionKey: 'order-42' }),
        ];
        expect(refs.map((x) => x.partition)).toEqual([byKey, byPartition, byPartitionKey].map((x) => x.partition));
        cancelled.push(byKey, byPartition, byPartitionKey);
      }
      const { recorder } = await r.consume([target]);
      const delivered = (): ConsumedRecord[] =>
        [0, 1].flatMap((p) => recorder.of({ topic: target, partition: p }).flatMap((b) => b.records));
      await waitUntil(
        () => delivered().length >= kept.length,
        () => `${kept.length} deliveries (got ${delivered().length})`,
      );
      await sleep(at + 1500 - Date.now());
      await waitUntil(() => running.dispatched.length >= kept.length, 'the dispatched events');
      // Everything written to the target so far has been read.
      for (const p of [0, 1]) {
        const tp = { topic: target, partition: p };
        await recorder.waitForEof(tp, (await r.transport().then((t) => t.fetchWatermarks(tp))).high);
      }
      expect(
        delivered()
          .map((x) => text(x.key))
          .sort(),
      ).toEqual(['kept-1', 'kept-2', 'kept-3', 'kept-4']);
      expect(running.dispatched.map((e) => e.key).sort()).toEqual(kept.map((x) => x.key).sort());
      for (const e of running.dispatched) {
        expect(e.partition).toBe(kept.find((x) => x.key === e.key)!.partition);
        expect(e.dispatchedAtMs).toBeGreaterThanOrEqual(at);
      }
      const kept1 = delivered().find((x) => text(x.key) === 'kept-1')!;
      expect(text(kept1.value)).toBe('p1');
      expect(headerTexts(kept1)).toMatchObject({
        h: '1',
        [Header.sourceKey]: 'kept-1',
        [Header.sourcePartition]: String(kept[0]!.partition),
      });
      expect(cancelled).toHaveLength(6);
      expect(running.errors).toEqual([]);
    });
  });

  it('cancels through either client land on the schedule’s partition, whichever client wrote it', async () => {
    const [schedules] = await schedulesTopics(12, 'cross-partitions');
    const target = 'cross-partitions-target';
    const mismatches: string[] = [];
    let n = 0;
    for (const { name: writer } of ADAPTERS) {
      const w = await clientOf(writer, schedules!);
      for (const { name: canceller } of ADAPTERS) {
        const c = await clientOf(canceller, schedules!);
        for (const key of ['21', 'foobar', 'abc', 'order-42-reminder', 'customer-9', '3', 'orders-5b1c0f9e-2f5e-4c51-9d55-0f6f1a8c3b7e']) {
          const k = `${key}-${++n}`;
          const at = Date.now() + 3_600_000;
          const checks: [string, ScheduledRef, ScheduledRef][] = [];
          const byKey = await w.schedule({ message: { topic: target, payload: 'x' }, envelope: { key: k }, at });
          checks.push(['key only', byKey, await c.cancel({ key: k })]);
          const byPk = await w.schedule({ message: { topic: target, payload: 'x' }, envelope: { key: `${k}-pk`, partitionKey: key }, at });
          checks.push(['partitionKey', byPk, await c.cancel({ key: `${k}-pk`, partitionKey: key })]);
          const byRef = await w.schedule({
            message: { topic: target, payload: 'x' },
            envelope: { key: `${k}-ref`, partitionKey: `${key}-x` },
            at,
          });
          checks.push(['ref.partition', byRef, await c.cancel({ key: byRef.key, partition: byRef.partition })]);
          const inherited = await w.schedule({ message: { topic: target, partitionKey: key, payload: 'x' }, at });
          checks.push(['inherited partitionKey (ref)', inherited, await c.cancel(inherited)]);
          for (const [how, s, x] of checks) {
            if (s.partition !== x.partition)
              mismatches.push(`${writer}→${canceller} ${how} ${s.key}: schedule ${s.partition}, cancel ${x.partition}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });
});

describe('cross-adapter: one set of schedules, a Scheduler on each adapter', () => {
  it('a Scheduler on each adapter turns the same schedules into the same target and tombstone records', async () => {
    // One schedules topic per adapter, same layout, the same records in the same order: the same
    // offsets. Both dispatch into one target topic; only schedule_source_topic may differ.
    const [forKafkaJs, forRdKafka] = await schedulesTopics(3, 'cross-same-kjs', 'cross-same-rdk');
    const target = await r.topic('cross-same-target', 2);
    const at = Date.now() + 2500;
    const epochS = Math.ceil(at / 1000);
    const records = (schedules: string): ProduceRecord[] => {
      const base = (
        key: string,
        partition: number,
        extra: Record<string, string>,
        payload: string | null = `payload-${key}`,
      ): ProduceRecord => ({
        topic: schedules,
        partition,
        key,
        value: payload,
        headers: {
          [Header.schemaVersion]: '1.0.0',
          [Header.sourceType]: 'schedule',
          [Header.targetEpoch]: String(epochS),
          [Header.targetEpochMs]: String(at),
          [Header.targetTopic]: target,
          'x-app': 'cross',
          ...extra,
        },
      });
      return [
        base('explicit', 0, { [Header.targetPartition]: '1', [Header.targetKey]: 'tk-explicit' }),
        base('by-target-key', 1, { [Header.targetKey]: 'customer-9' }),
        base('by-target-partition-key', 2, { [Header.targetKey]: 'k', [Header.targetPartitionKey]: 'foobar' }),
        base('keyless-explicit', 0, { [Header.targetPartition]: '0' }),
        base('null-payload', 1, { [Header.targetPartition]: '1', [Header.targetKey]: 'nothing' }, null),
        base('seconds-only', 2, { [Header.targetKey]: 'abc' }),
      ].map((x) =>
        // The seconds-only one has no ms header (as the reference writes them).
        text(x.key as string) === 'seconds-only'
          ? { ...x, headers: Object.fromEntries(Object.entries(x.headers!).filter(([k]) => k !== Header.targetEpochMs)) }
          : x,
      );
    };
    const producer = await r.transport();
    const metasK = await producer.produce(records(forKafkaJs!));
    const metasR = await producer.produce(records(forRdKafka!));
    expect(metasK.map((m) => [m.partition, m.offset])).toEqual(metasR.map((m) => [m.partition, m.offset]));

    const [onKafkaJs, onRdKafka] = await Promise.all([startScheduler('kafkajs', forKafkaJs!), startScheduler('rdkafka', forRdKafka!)]);
    const count = records(forKafkaJs!).length;
    const { recorder } = await r.consume([target, forKafkaJs!, forRdKafka!]);
    const all = (topic: string, partitions: number): ConsumedRecord[] =>
      Array.from({ length: partitions }, (_, p) => recorder.of({ topic, partition: p }).flatMap((b) => b.records)).flat();
    await waitUntil(
      () => all(target, 2).length >= 2 * count,
      () => `${2 * count} target records (got ${all(target, 2).length})`,
    );
    const tombstones = (topic: string): ConsumedRecord[] =>
      all(topic, 3).filter((x) => x.value === null && text(x.headers[Header.sourceType]) === 'tombstone');
    await waitUntil(
      () => tombstones(forKafkaJs!).length >= count && tombstones(forRdKafka!).length >= count,
      'the tombstones of both schedulers',
    );
    await sleep(500);

    const view = (record: ConsumedRecord, sourceTopic: string) => {
      const headers = headerTexts(record);
      expect(headers[Header.sourceTopic]).toBe(sourceTopic);
      delete headers[Header.sourceTopic];
      return { key: text(record.key), value: text(record.value), partition: record.partition, headers };
    };
    const bySource = (sourceTopic: string) =>
      all(target, 2)
        .filter((x) => text(x.headers[Header.sourceTopic]) === sourceTopic)
        .map((x) => view(x, sourceTopic))
        .sort((a, b) => (a.headers[Header.sourceKey]! < b.headers[Header.sourceKey]! ? -1 : 1));
    const targetsK = bySource(forKafkaJs!);
    const targetsR = bySource(forRdKafka!);
    expect(targetsK).toHaveLength(count);
    expect(targetsR).toEqual(targetsK);
    for (const t of [...targetsK, ...targetsR]) expect(t.partition).toBe(expectedPartition(t.headers));

    const tombstoneView = (x: ConsumedRecord) => ({ key: text(x.key), partition: x.partition, offset: x.offset, headers: headerTexts(x) });
    expect(tombstones(forRdKafka!).map(tombstoneView)).toEqual(tombstones(forKafkaJs!).map(tombstoneView));
    expect(tombstones(forKafkaJs!)).toHaveLength(count);
    for (const e of [...onKafkaJs.dispatched, ...onRdKafka.dispatched]) expect(e.dispatchedAtMs).toBeGreaterThanOrEqual(e.dueMs);
    expect([...onKafkaJs.errors, ...onRdKafka.errors]).toEqual([]);
  });
});

/** Where a target record must be: its explicit partition, else murmur2 of its partition key or key (2 partitions). */
function expectedPartition(headers: Record<string, string>): number {
  const explicit = headers[Header.targetPartition];
  if (explicit !== undefined) return Number(explicit);
  return partitionForKey(headers[Header.targetPartitionKey] ?? headers[Header.targetKey]!, 2);
}
