/**
 * What the kafkajs transport does beyond the Transport conformance suite (which it passes, see
 * tests/interop): kafkajs's own header arrays, keyless spreading, one EOF notice per position,
 * seeks racing its concurrent partition workers and queued batches, agreement with kafkajs's
 * DefaultPartitioner; group membership (where a member starts without a seek, heartbeats during a
 * long onBatch); and readers (no group: a reader fetches from the partition leader itself).
 */
import { describe, expect, it } from 'vitest';
import { partitionForKey } from '@ksched/core';
import { RecordingListener, sleep, text, waitUntil } from '@ksched/testkit';
import { Partitioners } from 'kafkajs';
import { harness, rawKafka } from './helpers.js';

const r = harness.useResources();

describe('kafkajs transport: records', () => {
  it('duplicate header names: the last value wins', async () => {
    const topic = await r.topic('dup-headers');
    // kafkajs can write one header name twice (array value); the transport port cannot, by design.
    const raw = rawKafka().producer();
    await raw.connect();
    try {
      await raw.send({ topic, messages: [{ key: 'k', value: 'v', headers: { h: ['first', 'second'] } }] });
    } finally {
      await raw.disconnect();
    }
    const { recorder } = await r.consume([topic]);
    await recorder.waitForEof({ topic, partition: 0 }, 1);
    expect(text(recorder.of({ topic, partition: 0 })[0]!.records[0]!.headers['h'] as Uint8Array)).toBe('second');
  });

  it('keyless records without a partition spread over the partitions', async () => {
    const topic = await r.topic('keyless', 3);
    const t = await r.transport();
    const metas = await t.produce(Array.from({ length: 12 }, (_, i) => ({ topic, key: null, value: `v${i}` })));
    expect(new Set(metas.map((m) => m.partition)).size).toBe(3);
  });

  it('an idle partition gets one EOF notice per position (no repeats)', async () => {
    const topic = await r.topic('eof-once', 2);
    const t = await r.transport();
    await t.produce([0, 1, 2].map((i) => ({ topic, partition: 0, key: `k${i}`, value: `v${i}` })));
    const { recorder } = await r.consume([topic]);
    const p0 = { topic, partition: 0 };
    await recorder.waitForEof(p0, 3);
    const mark = recorder.batches.length;
    await t.produce([{ topic, partition: 0, key: 'late', value: 'late' }]);
    await recorder.waitForEof(p0, 4, mark);
    await sleep(1500);
    const eofs = recorder
      .of(p0)
      .filter((b) => b.records.length === 0)
      .map((b) => b.position);
    expect(eofs).toEqual([...new Set(eofs)]);
    expect(recorder.violations).toEqual([]);
  });

  it.each([5, 12])('kafkajs DefaultPartitioner agrees with core partitionForKey (%i partitions)', (count) => {
    const partitioner = Partitioners.DefaultPartitioner();
    const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
      partitionId,
      leader: 1,
      replicas: [1],
      isr: [1],
      offlineReplicas: [],
      partitionErrorCode: 0,
    }));
    for (const key of ['21', 'foobar', 'abc', 'order-42-reminder', 'customer-9', '3']) {
      expect(partitioner({ topic: 'any', partitionMetadata, message: { key, value: null } })).toBe(partitionForKey(key, count));
    }
  });
});

describe('kafkajs transport: seeks racing its partition workers', () => {
  it('seekToBeginning while batches are in flight (outside onBatch): nothing fetched before the seek is delivered after it', async () => {
    const topic = await r.topic('seek-stress', 2);
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    const total = 300;
    // Many small record batches, so that a pass takes many fetches.
    for (let i = 0; i < total; i += 5) {
      await t.produce(
        Array.from({ length: 5 }, (_, j) => ({ topic, partition: 0, key: `k${i + j}`, value: `value-${i + j}`.padEnd(40, '.') })),
      );
    }
    await t.produce([{ topic, partition: 1, key: 'other', value: 'other' }]);
    const recorder = new RecordingListener();
    const consumer = await r.transport({ fetchMaxBytesPerPartition: 300, partitionsConsumedConcurrently: 2 });
    recorder.onAssignedHook = async (parts) => {
      for (const p of parts) await consumer.seekToBeginning(p);
    };
    recorder.onBatchHook = () => sleep(3);
    await r.consume([topic], recorder, harness.unique('group'), consumer);
    const all = Array.from({ length: total }, (_, i) => i);
    for (let round = 0; round < 5; round++) {
      // Start a pass, wait until it is under way, then seek again from outside any onBatch.
      await consumer.seekToBeginning(tp);
      const passStart = recorder.batches.length;
      await waitUntil(() => recorder.of(tp, passStart).filter((b) => b.records.length > 0).length >= 1 + round, 'a pass under way');
      expect(recorder.eofIndex(tp, total, passStart)).toBe(-1);
      const wm = await consumer.seekToBeginning(tp);
      const mark = recorder.batches.length;
      expect(wm).toEqual({ low: 0, high: total });
      await recorder.waitForEof(tp, total, mark);
      expect(recorder.offsets(tp, mark)).toEqual(all);
    }
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });

  it("seekToBeginning of a partition whose next batch is already queued (called from another partition's onBatch): the queued batch is dropped", async () => {
    const topic = await r.topic('seek-queued', 2);
    const t = await r.transport();
    const total = 200;
    for (let i = 0; i < total; i += 5) {
      await t.produce(
        [0, 1].flatMap((p) =>
          Array.from({ length: 5 }, (_, j) => ({ topic, partition: p, key: `k${i + j}`, value: `v${p}-${i + j}`.padEnd(40, '.') })),
        ),
      );
    }
    const p0 = { topic, partition: 0 };
    const p1 = { topic, partition: 1 };
    const recorder = new RecordingListener();
    // One worker: a fetch round's batches are handled one after the other.
    const consumer = await r.transport({ fetchMaxBytesPerPartition: 1000, partitionsConsumedConcurrently: 1 });
    recorder.onAssignedHook = async (parts) => {
      for (const p of parts) await consumer.seekToBeginning(p);
    };
    const all = Array.from({ length: total }, (_, i) => i);
    // Inside a batch of one partition, seek the other: when the other's batch of the same fetch
    // round is still queued behind this one, it was fetched before the seek and must be dropped.
    let trigger: ((partition: number) => Promise<void>) | undefined;
    recorder.onBatchHook = async (batch) => {
      if (batch.records.length > 0 && trigger) {
        const run = trigger;
        trigger = undefined;
        await run(batch.partition);
      }
    };
    await r.consume([topic], recorder, harness.unique('group'), consumer);
    for (let round = 0; round < 8; round++) {
      await consumer.seekToBeginning(p0);
      await consumer.seekToBeginning(p1);
      const passStart = recorder.batches.length;
      await waitUntil(
        () => [p0, p1].every((tp) => recorder.of(tp, passStart).filter((b) => b.records.length > 0).length >= 2),
        'both partitions under way',
      );
      let mark = -1;
      let seeked = p0;
      trigger = async (partition) => {
        seeked = partition === 0 ? p1 : p0;
        await consumer.seekToBeginning(seeked);
        mark = recorder.batches.length;
      };
      await waitUntil(() => mark >= 0, 'the seek inside an onBatch of the other partition');
      await recorder.waitForEof(seeked, total, mark);
      expect(recorder.offsets(seeked, mark)).toEqual(all);
    }
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });
});

describe('kafkajs transport: group membership', () => {
  it('without a seek in onAssigned, a member starts at the committed offset and still gets its EOF notice', async () => {
    const topic = await r.topic('committed', 1);
    const groupId = harness.unique('group');
    const t = await r.transport();
    await t.produce(['a', 'b', 'c', 'd'].map((v) => ({ topic, partition: 0, key: v, value: v })));
    const first = await r.consume([topic], new RecordingListener(), groupId);
    await first.recorder.waitForEof({ topic, partition: 0 }, 4);
    await first.transport.commitOffsets([{ topic, partition: 0, offset: 2 }]);
    await first.subscription.close();
    const second = await r.consume([topic], new RecordingListener(), groupId);
    await second.recorder.waitForEof({ topic, partition: 0 }, 4);
    expect(second.recorder.values({ topic, partition: 0 })).toEqual(['c', 'd']);
  });

  it('a long onBatch keeps the membership (heartbeats continue) and batches of a partition never overlap', async () => {
    const topic = await r.topic('slow', 2);
    const t = await r.transport();
    await t.produce([0, 1].flatMap((p) => [0, 1, 2].map((i) => ({ topic, partition: p, key: `k${i}`, value: `${p}-${i}` }))));
    const recorder = new RecordingListener();
    let slowOnce = true;
    recorder.onBatchHook = async (batch) => {
      if (slowOnce && batch.records.length > 0) {
        slowOnce = false;
        await new Promise((resolve) => setTimeout(resolve, 8000));
      }
    };
    const joins: string[] = [];
    const logger = {
      debug: () => {},
      info: (_fields: Record<string, unknown>, message: string) => {
        if (message === 'Consumer has joined the group') joins.push(message);
      },
      warn: () => {},
      error: () => {},
    };
    const transport = await r.transport({ sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, logLevel: 'info', logger });
    await r.consume([topic], recorder, harness.unique('group'), transport);
    await recorder.waitForEof({ topic, partition: 0 }, 3, 0, 30_000);
    await recorder.waitForEof({ topic, partition: 1 }, 3, 0, 30_000);
    // The member was never expired: one join, no revocation.
    expect(joins).toHaveLength(1);
    expect(recorder.events.filter((e) => e.kind === 'revoked')).toEqual([]);
    expect(recorder.violations).toEqual([]);
  });
});

describe('kafkajs transport: openReader', () => {
  it('a reader joins no group (it fetches from the leader): no group appears while it reads', async () => {
    const topic = await r.topic('reader-group', 2);
    const t = await r.transport();
    await t.produce([0, 1].map((partition) => ({ topic, partition, key: 'k', value: `v${partition}` })));
    const other = await r.transport();
    const admin = rawKafka().admin();
    await admin.connect();
    try {
      const before = new Set((await admin.listGroups()).groups.map((g) => g.groupId));
      const readers = await Promise.all([
        t.openReader({ topic, partition: 0 }, { fromOffset: 0 }),
        other.openReader({ topic, partition: 1 }, { fromOffset: 0 }),
      ]);
      for (const reader of readers) expect((await reader.read()).records.length).toBeGreaterThan(0);
      const during = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => !before.has(g));
      await Promise.all(readers.map((x) => x.close()));
      expect(during.filter((g) => g.includes('-reader-'))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });
});
