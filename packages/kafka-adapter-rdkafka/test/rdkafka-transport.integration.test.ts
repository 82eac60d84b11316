import { describe, expect, it } from 'vitest';
import { partitionForKey, StateError, TransportError, UnsupportedError } from '@ksched/core';
import type { PartitionBatch } from '@ksched/core';
import { waitForEndOffset } from '@ksched/testkit';
import { Recorder, sleep, text, unique, useResources, waitUntil } from './helpers.js';

const r = useResources();

describe('rdkafka transport: produce and consume', () => {
  it('round-trips text headers (also UTF-8 bytes), null keys, null values, byte keys and timestamps', async () => {
    const topic = await r.topic('roundtrip');
    const t = await r.transport();
    expect(t.specificationVersion).toBe('v1');
    const utf8Bytes = new TextEncoder().encode('bytes ✓');
    const metas = await t.produce([
      { topic, partition: 0, key: null, value: null, headers: { text: 'héllo ✓', utf8: utf8Bytes } },
      { topic, partition: 0, key: 'k', value: new Uint8Array([0, 255, 10]), timestamp: 1_767_225_600_123 },
      { topic, key: new Uint8Array([1, 0, 3]), value: 'v', headers: {} },
      { topic, key: null, value: 'keyless' },
      { topic, partition: 0, key: 'nul\u0000inside', value: '' },
    ]);
    expect(metas.map((m) => [m.topic, m.partition, m.offset])).toEqual([0, 1, 2, 3, 4].map((o) => [topic, 0, o]));
    const { recorder } = await r.consume([topic]);
    const tp = { topic, partition: 0 };
    await recorder.waitForEof(tp, 5);
    const records = recorder.of(tp).flatMap((b) => b.records);
    expect(records.map((x) => x.offset)).toEqual([0, 1, 2, 3, 4]);
    const [r0, r1, r2, r3, r4] = records;
    expect(r0!.key).toBeNull();
    expect(r0!.value).toBeNull();
    expect(text(r0!.headers['text'])).toBe('héllo ✓');
    expect(Array.from(r0!.headers['utf8'] as Uint8Array)).toEqual(Array.from(utf8Bytes));
    expect(r0!.headers['utf8']).toBeInstanceOf(Uint8Array);
    expect(Buffer.isBuffer(r0!.headers['utf8'])).toBe(false);
    expect(text(r1!.key)).toBe('k');
    expect(Array.from(r1!.value!)).toEqual([0, 255, 10]);
    expect(r1!.timestamp).toBe(1_767_225_600_123);
    expect(Array.from(r2!.key!)).toEqual([1, 0, 3]);
    expect(Object.keys(r2!.headers)).toEqual([]);
    expect(r3!.key).toBeNull();
    expect(text(r3!.value)).toBe('keyless');
    expect(Math.abs(r3!.timestamp - Date.now())).toBeLessThan(60_000);
    // A string key is sent as its UTF-8 bytes: a NUL inside survives; an empty value is not a tombstone.
    expect(text(r4!.key)).toBe('nul\u0000inside');
    expect(r4!.value).not.toBeNull();
    expect(r4!.value!.length).toBe(0);
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });

  it('refuses header values node-rdkafka would alter (non-UTF-8 bytes, NUL) with UnsupportedError, producing nothing', async () => {
    const topic = await r.topic('binary-headers');
    const t = await r.transport();
    const before = await t.fetchWatermarks({ topic, partition: 0 });
    for (const value of [new Uint8Array([0, 1, 127, 128, 254, 255]), 'a\u0000b', '\uD800']) {
      const error = await t
        .produce([
          { topic, partition: 0, key: 'ok', value: 'first' },
          { topic, partition: 0, key: 'bad', value: 'second', headers: { h: value } },
        ])
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(UnsupportedError.isInstance(error)).toBe(true);
    }
    expect(await t.fetchWatermarks({ topic, partition: 0 })).toEqual(before);
  });

  it('watermarks: empty partition low === high; produce reports consecutive offsets and raises high', async () => {
    const topic = await r.topic('watermarks', 2);
    const t = await r.transport();
    const p0 = { topic, partition: 0 };
    expect(await t.fetchWatermarks(p0)).toEqual({ low: 0, high: 0 });
    const metas = await t.produce(Array.from({ length: 5 }, (_, i) => ({ topic, partition: 0, key: `k${i}`, value: `v${i}` })));
    expect(metas.map((m) => m.offset)).toEqual([0, 1, 2, 3, 4]);
    expect(await t.fetchWatermarks(p0)).toEqual({ low: 0, high: 5 });
    expect(await t.fetchWatermarks({ topic, partition: 1 })).toEqual({ low: 0, high: 0 });
    expect(await t.partitionCount(topic)).toBe(2);
    const missing = await t.partitionCount(unique('missing')).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(TransportError.isInstance(missing)).toBe(true);
    const badPartition = await t.fetchWatermarks({ topic, partition: 7 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(TransportError.isInstance(badPartition)).toBe(true);
  });

  it('rejects a produce to a partition that does not exist, and to an invalid topic name', async () => {
    const topic = await r.topic('bad-partition', 1);
    const t = await r.transport();
    const e1 = await t.produce([{ topic, partition: 3, key: 'k', value: 'v' }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(TransportError.isInstance(e1)).toBe(true);
    const e2 = await t.produce([{ topic: 'not a topic!', key: 'k', value: 'v' }]).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(TransportError.isInstance(e2)).toBe(true);
    const errors: unknown[] = [];
    expect(() => t.produceNoWait([{ topic: 'not a topic!', key: 'k', value: 'v' }], (e) => errors.push(e))).not.toThrow();
    await waitUntil(() => errors.length === 1, 'onError of produceNoWait');
  });

  it('partitions like the Java client: keys, partition keys (5 and 12 partitions) agree with core partitionForKey', async () => {
    const t5 = await r.topic('part5', 5);
    const t12 = await r.topic('part12', 12);
    const t = await r.transport();
    for (const key of ['21', 'foobar', 'abc', 'order-42-reminder', 'customer-9', '3']) {
      for (const [topic, n] of [
        [t5, 5],
        [t12, 12],
      ] as const) {
        const expected = partitionForKey(key, n);
        const [byKey, byBytes, byPartitionKey, keyless] = await t.produce([
          { topic, key, value: 'by key' },
          { topic, key: new TextEncoder().encode(key), value: 'by key bytes' },
          { topic, key: 'other', partitionKey: key, value: 'by partition key' },
          { topic, key: null, partitionKey: key, value: 'keyless with partition key' },
        ]);
        expect([byKey!.partition, byBytes!.partition, byPartitionKey!.partition, keyless!.partition], `${key} / ${n}`).toEqual([
          expected,
          expected,
          expected,
          expected,
        ]);
      }
    }
    const [explicit] = await t.produce([{ topic: t12, key: 'foobar', partitionKey: 'foobar', partition: 2, value: 'explicit' }]);
    expect(explicit!.partition).toBe(2);
  });

  it('concurrent produce calls over several partitions each resolve with their own records, in input order', async () => {
    const topic = await r.topic('concurrent', 3);
    const t = await r.transport();
    const calls = [0, 1, 2, 3].map((c) =>
      Array.from({ length: 40 }, (_, i) => ({
        topic,
        // Explicit partitions, keys (librdkafka's partitioner) and no key at all (random), mixed.
        ...(i % 3 === 0 ? { partition: (c + i) % 3 } : {}),
        key: i % 3 === 2 ? null : `c${c}-${i}`,
        value: `c${c}-${i}`,
      })),
    );
    const results = await Promise.all(calls.map((records) => t.produce(records)));
    const { recorder } = await r.consume([topic]);
    const written = new Map<string, string | null>();
    for (const partition of [0, 1, 2]) {
      const tp = { topic, partition };
      const { high } = await t.fetchWatermarks(tp);
      await recorder.waitForEof(tp, high);
      for (const record of recorder.of(tp).flatMap((b) => b.records)) written.set(`${partition}@${record.offset}`, text(record.value));
    }
    expect(written.size).toBe(160);
    results.forEach((metas, c) => {
      expect(metas).toHaveLength(40);
      metas.forEach((m, i) => {
        expect(m.topic).toBe(topic);
        if (i % 3 === 0) expect(m.partition).toBe((c + i) % 3);
        expect(written.get(`${m.partition}@${m.offset}`), `call ${c} record ${i}`).toBe(`c${c}-${i}`);
      });
    });
    expect(recorder.violations).toEqual([]);
  });
});

describe('rdkafka transport: EOF, position and seeks', () => {
  it('EOF notice with position === high for an empty partition and after the records; again after new records', async () => {
    const topic = await r.topic('eof', 2);
    const t = await r.transport();
    await t.produce([0, 1, 2].map((i) => ({ topic, partition: 0, key: `k${i}`, value: `v${i}` })));
    const { recorder } = await r.consume([topic]);
    const p0 = { topic, partition: 0 };
    const p1 = { topic, partition: 1 };
    const eof0 = await recorder.waitForEof(p0, 3);
    const eof1 = await recorder.waitForEof(p1, 0);
    expect(eof0.position).toBe(3);
    expect(eof0.highWatermark).toBe(3);
    expect(eof1.position).toBe(0);
    expect(recorder.values(p0)).toEqual(['v0', 'v1', 'v2']);
    for (const b of recorder.of(p0).filter((x) => x.records.length > 0)) {
      expect(b.position).toBe(b.records[b.records.length - 1]!.offset + 1);
    }
    const mark = recorder.batches.length;
    await t.produce([{ topic, partition: 0, key: 'late', value: 'late' }]);
    await recorder.waitForEof(p0, 4, mark);
    expect(recorder.values(p0, mark)).toEqual(['late']);
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });

  it('a log ending in a commit marker reaches EOF at position === high > last record offset + 1', async () => {
    const topic = await r.topic('eof-marker');
    const t = await r.transport();
    const producer = r.producer(await t.createTransactionalProducer(unique('txn')));
    await producer.init();
    const metas = await producer.sendInTransaction([
      { topic, partition: 0, key: 'a', value: '1' },
      { topic, partition: 0, key: 'b', value: '2' },
    ]);
    expect(metas.map((m) => m.offset)).toEqual([0, 1]);
    const wm = await waitForEndOffset(t, { topic, partition: 0 }, 3);
    expect(wm.high).toBe(3); // two records and the commit marker
    const { recorder } = await r.consume([topic]);
    const eof = await recorder.waitForEof({ topic, partition: 0 }, 3);
    expect(eof.position).toBe(3);
    expect(recorder.values({ topic, partition: 0 })).toEqual(['1', '2']);
  });

  it('seekToBeginning (from onAssigned, from outside, and inside onBatch) redelivers from low; stale batches are dropped', async () => {
    const topic = await r.topic('seek');
    const t = await r.transport();
    await t.produce(Array.from({ length: 200 }, (_, i) => ({ topic, partition: 0, key: `k${i % 7}`, value: `v${i}` })));
    const tp = { topic, partition: 0 };
    const recorder = new Recorder();
    let consumer: Awaited<ReturnType<typeof r.transport>> | undefined;
    recorder.onAssignedHook = async (tps) => {
      for (const x of tps) expect(await consumer!.seekToBeginning(x)).toEqual({ low: 0, high: 200 });
    };
    consumer = await r.transport({ consumeBatchSize: 16 });
    await r.consume([topic], recorder, unique('group'), consumer);
    await recorder.waitForEof(tp, 200);
    expect(recorder.offsets(tp)).toEqual(Array.from({ length: 200 }, (_, i) => i));

    // From outside a callback, while idle.
    let mark = recorder.batches.length;
    expect(await consumer.seekToBeginning(tp)).toEqual({ low: 0, high: 200 });
    await recorder.waitForEof(tp, 200, mark);
    expect(recorder.offsets(tp, mark)).toEqual(Array.from({ length: 200 }, (_, i) => i));

    // Inside onBatch, in the middle of the log: what was fetched before the seek is not delivered after it.
    mark = recorder.batches.length;
    let seeks = 0;
    recorder.onBatchHook = async (batch: PartitionBatch) => {
      if (seeks === 0 && batch.records.some((rec) => rec.offset >= 100)) {
        seeks++;
        await consumer!.seekToBeginning(tp);
      }
    };
    await consumer.seekToBeginning(tp);
    await waitUntil(() => seeks === 1, 'the seek inside onBatch');
    const afterSeek = recorder.batches.length;
    await recorder.waitForEof(tp, 200, afterSeek);
    expect(recorder.offsets(tp, afterSeek)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
    const notOwned = await consumer.seekToBeginning({ topic, partition: 5 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(TransportError.isInstance(notOwned)).toBe(true);
    await consumer.commitOffsets([{ topic, partition: 0, offset: 200 }]);
  });

  it('a rejected batch is redelivered, then the partition stops until the next seek', async () => {
    const topic = await r.topic('failing');
    const t = await r.transport({ maxBatchRetries: 2 });
    await t.produce([{ topic, partition: 0, key: 'k', value: 'boom' }]);
    const recorder = new Recorder();
    let failures = 0;
    recorder.onBatchHook = async (batch) => {
      if (batch.records.length > 0 && failures < 10) {
        failures++;
        throw new Error('listener failed');
      }
    };
    const { transport } = await r.consume([topic], recorder, unique('group'), t);
    await waitUntil(
      () => failures === 3 && recorder.errors.length >= 4,
      () => `3 failures (got ${failures}, errors ${recorder.errors.length})`,
    );
    await sleep(500);
    expect(failures).toBe(3);
    failures = 10;
    const mark = recorder.batches.length;
    await transport.seekToBeginning({ topic, partition: 0 });
    await recorder.waitForEof({ topic, partition: 0 }, 1, mark);
    expect(recorder.values({ topic, partition: 0 }, mark)).toEqual(['boom']);
  });

  it('subscribe twice and operations after close are refused', async () => {
    const topic = await r.topic('states');
    const t = await r.transport();
    const { transport } = await r.consume([topic], new Recorder(), unique('group'), t);
    await expect(transport.subscribe({ groupId: unique('g'), topics: [topic], listener: new Recorder() })).rejects.toSatisfy(
      StateError.isInstance,
    );
    await transport.close();
    await expect(transport.produce([{ topic, key: 'k', value: 'v' }])).rejects.toSatisfy(StateError.isInstance);
    expect(() => transport.produceNoWait([{ topic, key: 'k', value: 'v' }])).not.toThrow();
  });
});
