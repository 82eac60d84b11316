/**
 * `Transport.seek` and `Transport.openReader` of the kafkajs transport on the real broker.
 */
import { describe, expect, it } from 'vitest';
import { StateError, TransportError } from '@ksched/core';
import type { PartitionBatch, PartitionReader, TopicPartition, Transport } from '@ksched/core';
import { Kafka, logLevel } from 'kafkajs';
import { waitForEndOffset } from '@ksched/testkit';
import { brokers, Recorder, sleep, text, unique, useResources, waitUntil } from './helpers.js';

const r = useResources();

const rawKafka = (): Kafka => new Kafka({ brokers, clientId: 'ksched-reader-test', logLevel: logLevel.NOTHING });

/** Reads until the position reaches `end` (records and every batch returned). */
async function readTo(reader: PartitionReader, end: number): Promise<{ batches: PartitionBatch[]; values: (string | null)[] }> {
  const batches: PartitionBatch[] = [];
  for (;;) {
    const b = await reader.read();
    batches.push(b);
    if (b.position >= end) break;
  }
  return { batches, values: batches.flatMap((b) => b.records.map((x) => text(x.value))) };
}

async function produceValues(t: Transport, topic: string, values: string[], partition = 0): Promise<void> {
  await t.produce(values.map((value) => ({ topic, partition, key: value, value })));
}

/** A transactional producer writing `values` to partition 0 in one transaction, then committing or aborting. */
async function transaction(topic: string, values: string[], how: 'commit' | 'abort'): Promise<void> {
  const producer = rawKafka().producer({ transactionalId: unique('txn'), idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  try {
    const txn = await producer.transaction();
    await txn.send({ topic, messages: values.map((value) => ({ key: value, value, partition: 0 })), acks: -1 });
    await txn[how]();
  } finally {
    await producer.disconnect();
  }
}

describe('kafkajs transport: openReader', () => {
  it('reads from fromOffset to the end, a log ending in a commit marker included; EOF position = end offset', async () => {
    const topic = await r.topic('reader-basic');
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    await produceValues(t, topic, ['a', 'b', 'c']);
    await transaction(topic, ['d', 'e'], 'commit');
    const { high } = await waitForEndOffset(t, tp, 6); // 3 + 2 records + commit marker
    expect(high).toBe(6);

    const started = Date.now();
    const reader = await t.openReader(tp, { fromOffset: 1 });
    console.info(`openReader took ${Date.now() - started} ms`);
    expect([reader.topic, reader.partition]).toEqual([topic, 0]);
    const { batches, values } = await readTo(reader, high);
    expect(values).toEqual(['b', 'c', 'd', 'e']);
    expect(batches.flatMap((b) => b.records.map((x) => x.offset))).toEqual([1, 2, 3, 4]);
    const last = batches[batches.length - 1]!;
    expect(last.position).toBe(6);
    // The records' mapping is the group consumer's.
    const first = batches[0]!.records[0]!;
    expect([first.topic, first.partition, text(first.key)]).toEqual([topic, 0, 'b']);
    expect(first.value).toBeInstanceOf(Uint8Array);
    // At the end: an empty batch at the end offset, quickly the first time.
    const eofStarted = Date.now();
    const eof = last.records.length === 0 ? last : await reader.read();
    expect(eof.records).toEqual([]);
    expect(eof.position).toBe(6);
    expect(Date.now() - eofStarted).toBeLessThan(1500);
    // Again at the end: waits at most about a second for new records, then says EOF again.
    const againStarted = Date.now();
    const again = await reader.read();
    expect(again.records).toEqual([]);
    expect(again.position).toBe(6);
    expect(Date.now() - againStarted).toBeLessThan(2500);
    // New records are read after EOF.
    await produceValues(t, topic, ['f']);
    const more = await readTo(reader, 7);
    expect(more.values).toEqual(['f']);
    await reader.close();
    await reader.close(); // idempotent
    expect(await reader.read().catch((e: unknown) => e)).toSatisfy(TransportError.isInstance);
  });

  it('an empty partition and fromOffset at or past the end: EOF at once at the end offset', async () => {
    const topic = await r.topic('reader-empty');
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    const empty = await t.openReader(tp, { fromOffset: 0 });
    const started = Date.now();
    const eof = await empty.read();
    expect(Date.now() - started).toBeLessThan(500);
    expect([eof.records.length, eof.position]).toEqual([0, 0]);
    await empty.close();
    await produceValues(t, topic, ['a', 'b']);
    const past = await t.openReader(tp, { fromOffset: 10 });
    expect((await past.read()).position).toBe(2);
    await past.close();
  });

  it('clamps fromOffset to the low watermark (after DeleteRecords)', async () => {
    const topic = await r.topic('reader-low');
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    await produceValues(t, topic, ['a', 'b', 'c', 'd']);
    await (await r.admin()).deleteRecords(tp, 2);
    expect((await t.fetchWatermarks(tp)).low).toBe(2);
    const reader = await t.openReader(tp, { fromOffset: 0 });
    const { batches, values } = await readTo(reader, 4);
    expect(values).toEqual(['c', 'd']);
    expect(batches[0]!.records[0]!.offset).toBe(2);
    await reader.close();
  });

  it('skips the records of aborted transactions; the position counts their markers', async () => {
    const topic = await r.topic('reader-aborted');
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    await produceValues(t, topic, ['a']);
    await transaction(topic, ['x1', 'x2'], 'abort'); // offsets 1-2, abort marker 3
    await produceValues(t, topic, ['b']); // 4
    await transaction(topic, ['y1'], 'abort'); // 5, marker 6: the log ends in an abort marker
    const { high } = await waitForEndOffset(t, tp, 7);
    const reader = await t.openReader(tp, { fromOffset: 0 });
    const { batches, values } = await readTo(reader, high);
    expect(values).toEqual(['a', 'b']);
    expect(batches[batches.length - 1]!.position).toBe(7);
    const eof = batches[batches.length - 1]!.records.length === 0 ? batches[batches.length - 1]! : await reader.read();
    expect([eof.records.length, eof.position]).toEqual([0, 7]);
    await reader.close();
  });

  it('stops at the last stable offset while a transaction is open (EOF within about a second)', async () => {
    const topic = await r.topic('reader-open-txn');
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    await produceValues(t, topic, ['a', 'b']);
    const producer = rawKafka().producer({ transactionalId: unique('txn'), idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const txn = await producer.transaction();
      await txn.send({ topic, messages: [{ key: 'open', value: 'open', partition: 0 }], acks: -1 });
      await produceValues(t, topic, ['after']); // beyond the LSO
      const reader = await t.openReader(tp, { fromOffset: 0 });
      const { values } = await readTo(reader, 2);
      expect(values).toEqual(['a', 'b']);
      const started = Date.now();
      const eof = await reader.read();
      expect([eof.records.length, eof.position]).toEqual([0, 2]);
      expect(Date.now() - started).toBeLessThan(2000);
      await txn.commit();
      const rest = await readTo(reader, (await waitForEndOffset(t, tp, 5)).high);
      expect(rest.values).toEqual(['open', 'after']);
      await reader.close();
    } finally {
      await producer.disconnect();
    }
  });

  it('a group member subscribed to the partition sees no rebalance while readers open, read and close', async () => {
    const topic = await r.topic('reader-group', 2);
    const t = await r.transport();
    const records = Array.from({ length: 50 }, (_, i) => `v${i}`);
    await produceValues(t, topic, records, 0);
    await produceValues(t, topic, records, 1);
    const { transport, recorder } = await r.consume([topic]);
    const eventsBefore = recorder.events.length;
    // A reader of the member's own transport, and one of another transport.
    const other = await r.transport();
    const readers = await Promise.all([
      transport.openReader({ topic, partition: 0 }, { fromOffset: 0 }),
      other.openReader({ topic, partition: 1 }, { fromOffset: 10 }),
    ]);
    const [a, b] = await Promise.all([readTo(readers[0]!, 50), readTo(readers[1]!, 50)]);
    expect(a.values).toEqual(records);
    expect(b.values).toEqual(records.slice(10));
    await produceValues(t, topic, ['late'], 0);
    await recorder.waitForEof({ topic, partition: 0 }, 51);
    await Promise.all(readers.map((x) => x.close()));
    await sleep(3500); // a heartbeat interval: a rebalance would show now
    expect(recorder.events.length).toBe(eventsBefore);
    expect(recorder.events.filter((e) => e.kind === 'revoked')).toEqual([]);
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
    // The readers' throwaway groups are gone once they closed.
    const groupIds = readers.map((x) => (x as unknown as { groupId: string }).groupId);
    expect(groupIds.every((g) => g.includes('-reader-'))).toBe(true);
    const admin = rawKafka().admin();
    await admin.connect();
    try {
      const { groups } = await admin.listGroups();
      expect(groups.map((g) => g.groupId).filter((g) => groupIds.includes(g))).toEqual([]);
    } finally {
      await admin.disconnect();
    }
  });

  it('a pending read rejects when the reader closes; overlapping reads are refused; closing the transport closes its readers', async () => {
    const topic = await r.topic('reader-close');
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    const reader = await t.openReader(tp, { fromOffset: 0 });
    expect((await reader.read()).position).toBe(0); // EOF of the empty partition
    const pending = reader.read().catch((e: unknown) => e);
    expect(await reader.read().catch((e: unknown) => e)).toSatisfy(StateError.isInstance);
    await reader.close();
    expect(await pending).toSatisfy(TransportError.isInstance);

    const second = await t.openReader(tp, { fromOffset: 0 });
    await t.close();
    expect(await second.read().catch((e: unknown) => e)).toSatisfy(TransportError.isInstance);
  });

  it('rejects a partition that does not exist with a TransportError', async () => {
    const topic = await r.topic('reader-missing');
    const t = await r.transport();
    expect(await t.openReader({ topic, partition: 3 }, { fromOffset: 0 }).catch((e: unknown) => e)).toSatisfy(TransportError.isInstance);
  });
});

describe('kafkajs transport: seek', () => {
  async function member(topic: string, hook?: (t: Transport, parts: readonly TopicPartition[]) => Promise<void>) {
    const t = await r.transport();
    const recorder = new Recorder();
    if (hook) recorder.onAssignedHook = (parts) => hook(t, parts);
    return r.consume([topic], recorder, unique('group'), t);
  }

  it('seek in onAssigned: delivery starts at the offset; clamped into [low, high]', async () => {
    const topic = await r.topic('seek-assigned', 3);
    const p = await r.transport();
    for (const partition of [0, 1, 2]) await produceValues(p, topic, ['a', 'b', 'c', 'd', 'e'], partition);
    await (await r.admin()).deleteRecords({ topic, partition: 1 }, 2);
    const watermarks: Record<number, unknown> = {};
    const { recorder } = await member(topic, async (t, parts) => {
      for (const tp of parts) {
        const target = tp.partition === 0 ? 3 : tp.partition === 1 ? 0 : 99;
        watermarks[tp.partition] = await t.seek(tp, target);
      }
    });
    await recorder.waitForEof({ topic, partition: 0 }, 5);
    await recorder.waitForEof({ topic, partition: 1 }, 5);
    await recorder.waitForEof({ topic, partition: 2 }, 5);
    expect(recorder.offsets({ topic, partition: 0 })).toEqual([3, 4]);
    expect(recorder.offsets({ topic, partition: 1 })).toEqual([2, 3, 4]);
    expect(recorder.offsets({ topic, partition: 2 })).toEqual([]);
    expect(recorder.of({ topic, partition: 2 })[0]!.position).toBe(5);
    expect(watermarks).toEqual({ 0: { low: 0, high: 5 }, 1: { low: 2, high: 5 }, 2: { low: 0, high: 5 } });
    expect(recorder.violations).toEqual([]);
  });

  it('seek on an active partition: earlier fetched batches are dropped, delivery restarts at the offset', async () => {
    const topic = await r.topic('seek-active');
    const p = await r.transport();
    const tp = { topic, partition: 0 };
    const values = Array.from({ length: 2000 }, (_, i) => `v${i}`);
    await produceValues(p, topic, values);
    const { transport, recorder } = await member(topic, async (t, parts) => {
      for (const x of parts) await t.seekToBeginning(x);
    });
    await recorder.waitForEof(tp, 2000);
    await transport.seek(tp, 1500);
    const from = recorder.batches.length;
    await recorder.waitForEof(tp, 2000, from);
    expect(recorder.offsets(tp, from)).toEqual(values.slice(1500).map((_, i) => 1500 + i));
    // Back to the middle again, then past the end: an EOF notice at the end offset.
    await transport.seek(tp, 1999);
    const from2 = recorder.batches.length;
    await recorder.waitForEof(tp, 2000, from2);
    expect(recorder.offsets(tp, from2)).toEqual([1999]);
    expect(await transport.seek(tp, 10_000)).toEqual({ low: 0, high: 2000 });
    const from3 = recorder.batches.length;
    const eof = await recorder.waitForEof(tp, 2000, from3);
    expect(eof.position).toBe(2000);
    expect(recorder.offsets(tp, from3)).toEqual([]);
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });

  it('seek while records are being delivered (inside onBatch and from outside) loses and repeats nothing after the seek', async () => {
    const topic = await r.topic('seek-busy');
    const p = await r.transport();
    const tp = { topic, partition: 0 };
    const values = Array.from({ length: 5000 }, (_, i) => `v${i}`);
    await produceValues(p, topic, values);
    let sought = false;
    const { transport, recorder } = await member(topic, async (t, parts) => {
      for (const x of parts) await t.seekToBeginning(x);
    });
    // Seek from outside while batches flow (the member starts reading at once).
    await waitUntil(() => recorder.offsets(tp).length > 0, 'first records');
    await transport.seek(tp, 100);
    const from = recorder.batches.length;
    await recorder.waitForEof(tp, 5000, from);
    const after = recorder.offsets(tp, from);
    expect(after[0]).toBe(100);
    expect(after).toEqual(values.slice(100).map((_, i) => 100 + i));
    // And inside onBatch.
    let hookIndex = -1;
    recorder.onBatchHook = async (b) => {
      if (!sought && b.records.length > 0 && b.records[0]!.offset === 0) {
        sought = true;
        await transport.seek(tp, 4990);
        hookIndex = recorder.batches.length; // this batch is recorded already
      }
    };
    await transport.seek(tp, 0);
    await waitUntil(() => sought && hookIndex >= 0, 'the seek in onBatch');
    await recorder.waitForEof(tp, 5000, hookIndex);
    expect(recorder.offsets(tp, hookIndex)).toEqual(Array.from({ length: 10 }, (_, i) => 4990 + i));
    expect(recorder.violations).toEqual([]);
  });

  it('seek of a partition not owned rejects with a TransportError', async () => {
    const topic = await r.topic('seek-not-owned');
    const t = await r.transport();
    expect(await t.seek({ topic, partition: 0 }, 0).catch((e: unknown) => e)).toSatisfy(TransportError.isInstance);
    const { transport } = await member(topic);
    expect(await transport.seek({ topic: unique('other'), partition: 0 }, 0).catch((e: unknown) => e)).toSatisfy(TransportError.isInstance);
  });
});
