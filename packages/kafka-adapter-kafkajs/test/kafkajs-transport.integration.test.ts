import { describe, expect, it } from 'vitest';
import { partitionForKey, TransportError } from '@ksched/core';
import type { PartitionBatch } from '@ksched/core';
import { Kafka, logLevel } from 'kafkajs';
import { waitForEndOffset } from '@ksched/testkit';
import { brokers, Recorder, sleep, text, unique, useResources, waitUntil } from './helpers.js';

const r = useResources();

describe('kafkajs transport: produce and consume', () => {
  it('round-trips string and binary headers, null keys, null values, byte keys and timestamps', async () => {
    const topic = await r.topic('roundtrip');
    const t = await r.transport();
    expect(t.specificationVersion).toBe('v1');
    const binary = new Uint8Array([0, 1, 127, 128, 254, 255]);
    const metas = await t.produce([
      { topic, partition: 0, key: null, value: null, headers: { text: 'héllo ✓', binary } },
      { topic, partition: 0, key: 'k', value: new Uint8Array([0, 255, 10]), timestamp: 1_767_225_600_123 },
      { topic, key: new Uint8Array([1, 2, 3]), value: 'v', headers: {} },
      { topic, key: null, value: 'keyless' },
    ]);
    expect(metas.map((m) => [m.topic, m.partition, m.offset])).toEqual([0, 1, 2, 3].map((o) => [topic, 0, o]));
    const { recorder } = await r.consume([topic]);
    const tp = { topic, partition: 0 };
    await recorder.waitForEof(tp, 4);
    const records = recorder.of(tp).flatMap((b) => b.records);
    expect(records.map((x) => x.offset)).toEqual([0, 1, 2, 3]);
    const [r0, r1, r2, r3] = records;
    expect(r0!.key).toBeNull();
    expect(r0!.value).toBeNull();
    expect(text(r0!.headers['text'] as Uint8Array)).toBe('héllo ✓');
    expect(r0!.headers['binary']).toBeInstanceOf(Uint8Array);
    expect(Array.from(r0!.headers['binary'] as Uint8Array)).toEqual(Array.from(binary));
    expect(Buffer.isBuffer(r0!.headers['binary'])).toBe(false);
    expect(text(r1!.key)).toBe('k');
    expect(Array.from(r1!.value!)).toEqual([0, 255, 10]);
    expect(r1!.timestamp).toBe(1_767_225_600_123);
    expect(Array.from(r2!.key!)).toEqual([1, 2, 3]);
    expect(Object.keys(r2!.headers)).toEqual([]);
    expect(r3!.key).toBeNull();
    expect(text(r3!.value)).toBe('keyless');
    expect(Math.abs(r3!.timestamp - Date.now())).toBeLessThan(60_000);
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });

  it('duplicate header names: the last value wins', async () => {
    const topic = await r.topic('dup-headers');
    // kafkajs can write one header name twice (array value); the transport port cannot, by design.
    const kafka = new Kafka({ brokers, logLevel: logLevel.NOTHING });
    const raw = kafka.producer();
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

  it('reports metadata in input order across topics and partitions; keyless records spread round robin', async () => {
    const a = await r.topic('order-a', 3);
    const b = await r.topic('order-b', 2);
    const t = await r.transport();
    const records = Array.from({ length: 12 }, (_, i) => ({ topic: i % 2 === 0 ? a : b, key: null, value: `v${i}` }));
    const metas = await t.produce(records);
    expect(metas.map((m) => m.topic)).toEqual(records.map((x) => x.topic));
    expect(new Set(metas.filter((m) => m.topic === a).map((m) => m.partition)).size).toBe(3);
    // Offsets per partition are consecutive from 0, in input order.
    const seen = new Map<string, number[]>();
    for (const m of metas) seen.set(`${m.topic}/${m.partition}`, [...(seen.get(`${m.topic}/${m.partition}`) ?? []), m.offset]);
    for (const offsets of seen.values()) expect(offsets).toEqual(offsets.map((_, i) => i));
    // And the records are there: the watermarks agree.
    for (const [k, offsets] of seen) {
      const [topic, partition] = k.split('/') as [string, string];
      expect((await t.fetchWatermarks({ topic, partition: Number(partition) })).high).toBe(offsets.length);
    }
  });

  it('rejects an unknown topic (partitionCount) and a missing partition with TransportErrors; produceNoWait reports failures', async () => {
    const topic = await r.topic('errors', 2);
    const t = await r.transport();
    expect(await t.partitionCount(topic)).toBe(2);
    const missing = await t.partitionCount(unique('missing')).catch((e: unknown) => e);
    expect(TransportError.isInstance(missing)).toBe(true);
    const badPartition = await t.produce([{ topic, partition: 7, key: 'k', value: 'v' }]).catch((e: unknown) => e);
    expect(TransportError.isInstance(badPartition)).toBe(true);
    expect((badPartition as Error).message).toMatch(/partition 7/);
    const errors: unknown[] = [];
    expect(() => t.produceNoWait([{ topic: 'not a valid topic!', key: 'a', value: '1' }], (e) => errors.push(e))).not.toThrow();
    await waitUntil(() => errors.length > 0, 'onError of produceNoWait');
    expect(TransportError.isInstance(errors[0])).toBe(true);
    expect(() => t.produceNoWait([{ topic, partition: 0, key: 'a', value: '1' }])).not.toThrow();
    await waitUntil(async () => (await t.fetchWatermarks({ topic, partition: 0 })).high === 1, 'the produceNoWait record');
    expect(await t.seekToBeginning({ topic, partition: 0 }).catch((e: unknown) => e)).toSatisfy(TransportError.isInstance);
  });
});

describe('kafkajs transport: watermarks, EOF, seek', () => {
  it('watermarks: empty partition low === high; N records raise high by N', async () => {
    const topic = await r.topic('watermarks', 2);
    const t = await r.transport();
    expect(await t.fetchWatermarks({ topic, partition: 1 })).toEqual({ low: 0, high: 0 });
    await t.produce(Array.from({ length: 5 }, (_, i) => ({ topic, partition: 0, key: `k${i}`, value: `v${i}` })));
    expect(await t.fetchWatermarks({ topic, partition: 0 })).toEqual({ low: 0, high: 5 });
    expect(await t.fetchWatermarks({ topic, partition: 1 })).toEqual({ low: 0, high: 0 });
    const missing = await t.fetchWatermarks({ topic, partition: 9 }).catch((e: unknown) => e);
    expect(TransportError.isInstance(missing)).toBe(true);
  });

  it('EOF notice for an empty partition, after the records, and again after new records', async () => {
    const topic = await r.topic('eof', 2);
    const t = await r.transport();
    await t.produce([0, 1, 2].map((i) => ({ topic, partition: 0, key: `k${i}`, value: `v${i}` })));
    const { recorder } = await r.consume([topic]);
    const p0 = { topic, partition: 0 };
    const p1 = { topic, partition: 1 };
    expect((await recorder.waitForEof(p1, 0)).position).toBe(0);
    const eof0 = await recorder.waitForEof(p0, 3);
    expect(eof0.position).toBe(3);
    expect(recorder.values(p0)).toEqual(['v0', 'v1', 'v2']);
    const mark = recorder.batches.length;
    const [late] = await t.produce([{ topic, partition: 0, key: 'late', value: 'late' }]);
    expect((await recorder.waitForEof(p0, late!.offset + 1, mark)).position).toBe(late!.offset + 1);
    expect(recorder.values(p0, mark)).toEqual(['late']);
    // One notice per position: no repeated EOF for the same position while idle.
    await sleep(1500);
    const eofs = recorder
      .of(p0)
      .filter((b) => b.records.length === 0)
      .map((b) => b.position);
    expect(eofs).toEqual([...new Set(eofs)]);
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });

  it('EOF for a log ending in a transaction commit marker, and for a log ending in an aborted transaction', async () => {
    const topic = await r.topic('eof-marker', 2);
    const t = await r.transport();
    const committer = r.producer(await t.createTransactionalProducer(unique('txn')));
    await committer.init();
    const metas = await committer.sendInTransaction([
      { topic, partition: 0, key: 'a', value: '1' },
      { topic, partition: 0, key: 'b', value: '2' },
    ]);
    expect(metas.map((m) => m.offset)).toEqual([0, 1]);
    // Partition 1: a committed record, then an aborted transaction (records + abort marker).
    await committer.sendInTransaction([{ topic, partition: 1, key: 'c', value: 'kept' }]);
    const failing = await committer
      .sendInTransaction([
        { topic, partition: 1, key: 'x', value: 'aborted' },
        { topic, partition: 5, key: 'x', value: 'no such partition' },
      ])
      .catch((e: unknown) => e);
    expect(TransportError.isInstance(failing)).toBe(true);
    // Commit and abort markers are written just after the coordinator answers: wait for them.
    const wm0 = await waitForEndOffset(t, { topic, partition: 0 }, 3);
    const wm1 = await waitForEndOffset(t, { topic, partition: 1 }, 2); // 'kept' and its commit marker
    expect(wm0.high).toBe(3); // two records + commit marker
    const { recorder } = await r.consume([topic]);
    expect((await recorder.waitForEof({ topic, partition: 0 }, wm0.high)).position).toBe(wm0.high);
    expect(recorder.values({ topic, partition: 0 })).toEqual(['1', '2']);
    expect((await recorder.waitForEof({ topic, partition: 1 }, wm1.high)).position).toBe(wm1.high);
    expect(recorder.values({ topic, partition: 1 })).toEqual(['kept']);
    expect(recorder.violations).toEqual([]);
  });

  it('seekToBeginning from onAssigned and from outside: redelivers from low, never stale batches, then EOF', async () => {
    const topic = await r.topic('seek');
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    await t.produce(Array.from({ length: 50 }, (_, i) => ({ topic, partition: 0, key: `k${i % 7}`, value: `v${i}` })));
    const recorder = new Recorder();
    const consumerTransport = await r.transport({ fetchMaxBytesPerPartition: 512 });
    const seeks: { low: number; high: number }[] = [];
    recorder.onAssignedHook = async (parts) => {
      for (const p of parts) seeks.push(await consumerTransport.seekToBeginning(p));
    };
    const { recorder: rec } = await r.consume([topic], recorder, unique('group'), consumerTransport);
    expect(seeks).toEqual([{ low: 0, high: 50 }]);
    await rec.waitForEof(tp, 50);
    expect(rec.offsets(tp)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Small fetches (512 bytes): seek while batches are flowing, repeatedly.
    for (let round = 0; round < 3; round++) {
      const mark = rec.batches.length;
      const wm = await consumerTransport.seekToBeginning(tp);
      expect(wm).toEqual({ low: 0, high: 50 });
      await rec.waitForEof(tp, 50, mark);
      expect(rec.offsets(tp, mark)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    }
    // Seek from inside onBatch, halfway through a pass: the rest of that pass is never delivered.
    let armed = true;
    const mark = rec.batches.length;
    let seekMark = -1;
    rec.onBatchHook = async (batch: PartitionBatch) => {
      if (armed && batch.records.some((x) => x.offset >= 20)) {
        armed = false;
        await consumerTransport.seekToBeginning(tp);
        seekMark = rec.batches.length;
      }
    };
    await consumerTransport.seekToBeginning(tp);
    await waitUntil(() => seekMark >= 0, 'the seek inside onBatch');
    await rec.waitForEof(tp, 50, seekMark);
    expect(rec.offsets(tp, seekMark)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(rec.offsets(tp, mark).length).toBeGreaterThan(50);
    expect(rec.violations).toEqual([]);
    expect(rec.errors).toEqual([]);
  });

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
    const recorder = new Recorder();
    const consumer = await r.transport({ fetchMaxBytesPerPartition: 300, partitionsConsumedConcurrently: 2 });
    recorder.onAssignedHook = async (parts) => {
      for (const p of parts) await consumer.seekToBeginning(p);
    };
    recorder.onBatchHook = () => sleep(3);
    await r.consume([topic], recorder, unique('group'), consumer);
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
    const recorder = new Recorder();
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
    await r.consume([topic], recorder, unique('group'), consumer);
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

describe('kafkajs transport: partitioning', () => {
  const keys = ['21', 'foobar', 'abc', 'order-42-reminder', 'customer-9', '3'];

  it.each([5, 12])(
    'partitionKey and key land where core partitionForKey says (%i partitions), and kafkajs DefaultPartitioner agrees',
    async (count) => {
      const topic = await r.topic(`partitioner${count}`, count);
      const t = await r.transport();
      for (const key of keys) {
        const expected = partitionForKey(key, count);
        const [byKey, byPartitionKey, keyless, explicit] = await t.produce([
          { topic, key, value: 'by key' },
          { topic, key: 'unrelated', partitionKey: key, value: 'partitionKey wins' },
          { topic, key: null, partitionKey: key, value: 'partitionKey, no key' },
          { topic, key, partitionKey: key, partition: (expected + 1) % count, value: 'explicit wins' },
        ]);
        expect([byKey!.partition, byPartitionKey!.partition, keyless!.partition, explicit!.partition], key).toEqual([
          expected,
          expected,
          expected,
          (expected + 1) % count,
        ]);
      }
      // kafkajs's own DefaultPartitioner (used by other kafkajs producers) is the same murmur2.
      const { Partitioners } = await import('kafkajs');
      const partitioner = Partitioners.DefaultPartitioner();
      const partitionMetadata = Array.from({ length: count }, (_, partitionId) => ({
        partitionId,
        leader: 1,
        replicas: [1],
        isr: [1],
        offlineReplicas: [],
        partitionErrorCode: 0,
      }));
      for (const key of keys) {
        expect(partitioner({ topic, partitionMetadata, message: { key, value: null } })).toBe(partitionForKey(key, count));
      }
    },
  );
});

describe('kafkajs transport: failing onBatch', () => {
  it('redelivers the same batch after a rejection, a bounded number of times, then stops the partition until a seek', async () => {
    const topic = await r.topic('failing', 2);
    const t = await r.transport();
    await t.produce([0, 1].flatMap((p) => ['a', 'b', 'c'].map((v) => ({ topic, partition: p, key: v, value: `${p}${v}` }))));
    const recorder = new Recorder();
    const consumer = await r.transport({ maxBatchRetries: 2 });
    recorder.onAssignedHook = async (parts) => {
      for (const p of parts) await consumer.seekToBeginning(p);
    };
    const attempts = new Map<number, number>();
    let failP1 = true;
    recorder.onBatchHook = async (batch) => {
      if (batch.records.length === 0) return;
      const n = (attempts.get(batch.partition) ?? 0) + 1;
      attempts.set(batch.partition, n);
      // Partition 0 fails twice, then succeeds; partition 1 always fails (until told otherwise).
      if (batch.partition === 0 && n <= 2) throw new Error(`p0 attempt ${n}`);
      if (batch.partition === 1 && failP1) throw new Error(`p1 attempt ${n}`);
    };
    await r.consume([topic], recorder, unique('group'), consumer);
    const p0 = { topic, partition: 0 };
    const p1 = { topic, partition: 1 };
    await recorder.waitForEof(p0, 3);
    // The same batch three times (two rejections), then the EOF notice.
    const p0Batches = recorder.of(p0).filter((b) => b.records.length > 0);
    expect(p0Batches.map((b) => b.records.map((x) => x.offset))).toEqual([
      [0, 1, 2],
      [0, 1, 2],
      [0, 1, 2],
    ]);
    // Partition 1: 1 + 2 retries, then stopped with a TransportError; no EOF notice, nothing more.
    await waitUntil(
      () => recorder.errors.some((e) => TransportError.isInstance(e) && /stopped/.test((e as Error).message)),
      'the stop report',
    );
    expect(attempts.get(1)).toBe(3);
    await sleep(1500);
    expect(attempts.get(1)).toBe(3);
    expect(recorder.eofIndex(p1, 0)).toBe(-1);
    // A seek restarts it.
    failP1 = false;
    const mark = recorder.batches.length;
    await consumer.seekToBeginning(p1);
    await recorder.waitForEof(p1, 3, mark);
    expect(recorder.values(p1, mark)).toEqual(['1a', '1b', '1c']);
    // Partitions are handled concurrently: the order holds within a partition, not across them.
    const rejections = recorder.errors.filter((e) => !TransportError.isInstance(e)).map((e) => (e as Error).message);
    expect(rejections.filter((m) => m.startsWith('p0'))).toEqual(['p0 attempt 1', 'p0 attempt 2']);
    expect(rejections.filter((m) => m.startsWith('p1'))).toEqual(['p1 attempt 1', 'p1 attempt 2', 'p1 attempt 3']);
    expect(rejections).toHaveLength(5);
    expect(recorder.violations).toEqual([]);
  });
});
