import { describe, expect, it } from 'vitest';
import type { Transport } from '@ksched/core';
import { RecordingListener, sleep, text, waitUntil } from '@ksched/testkit';
import { harness } from './helpers.js';

const r = harness.useResources();

/** Compacts quickly: small segments roll on the next append, and the cleaner acts at 1 % dirty. */
const FAST_COMPACTION = {
  'cleanup.policy': 'compact',
  'segment.ms': '100',
  'min.cleanable.dirty.ratio': '0.01',
  'delete.retention.ms': '100',
  'min.compaction.lag.ms': '0',
};

describe('kafkajs transport: compacted logs', () => {
  it('seekToBeginning after compaction: delivery restarts at the logical beginning and skips the gaps', async () => {
    const topic = await r.topic('compacted', 1, FAST_COMPACTION);
    const t = await r.transport();
    const tp = { topic, partition: 0 };
    const metas = await t.produce(
      ['a=1', 'a=2', 'b=1', 'c=1', 'b=2', 'a=3'].map((kv) => ({ topic, partition: 0, key: kv.split('=')[0]!, value: kv })),
    );
    const recorder = new RecordingListener();
    const consumer = await r.transport();
    const seeks: { low: number; high: number }[] = [];
    recorder.onAssignedHook = async (parts) => {
      for (const p of parts) seeks.push(await consumer.seekToBeginning(p));
    };
    await r.consume([topic], recorder, undefined, consumer);
    await recorder.waitForEof(tp, 6);
    expect(recorder.offsets(tp)).toEqual([0, 1, 2, 3, 4, 5]);

    // Roll the segment (appends after segment.ms close it) until the cleaner has removed the superseded records.
    let pass = recorder.batches.length;
    let rounds = 0;
    await waitUntil(
      async () => {
        rounds++;
        await sleep(150);
        const [roll] = await t.produce([{ topic, partition: 0, key: 'roll', value: 'roll' }]);
        await recorder.waitForEof(tp, roll!.offset + 1, pass);
        pass = recorder.batches.length;
        const wm = await consumer.seekToBeginning(tp);
        expect(wm.high).toBe(roll!.offset + 1);
        await recorder.waitForEof(tp, wm.high, pass);
        const values = recorder.values(tp, pass);
        expect(values).toContain('c=1');
        return !values.includes('a=1') && !values.includes('a=2') && !values.includes('b=1');
      },
      'compaction of the superseded records',
      60_000,
    );
    const again = recorder.of(tp, pass).flatMap((b) => b.records);
    const wm = await t.fetchWatermarks(tp);
    console.info(`compaction seen after ${rounds} round(s); watermarks after compaction: ${JSON.stringify(wm)}`);
    // Survivors keep their offsets: a gap where a=1, a=2, b=1 were.
    expect(again.filter((x) => text(x.key) !== 'roll').map((x) => [x.offset, text(x.value)])).toEqual([
      [metas[3]!.offset, 'c=1'],
      [metas[4]!.offset, 'b=2'],
      [metas[5]!.offset, 'a=3'],
    ]);
    // Delivery restarts at the logical beginning: nothing below low, the first survivor first.
    expect(again[0]!.offset).toBeGreaterThanOrEqual(wm.low);
    expect(again[0]!.offset).toBeGreaterThan(0);
    const offsets = again.map((x) => x.offset);
    expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
    expect(recorder.violations).toEqual([]);
    expect(recorder.errors).toEqual([]);
  });

  it('seekToBeginning after the head was removed (DeleteRecords): low > 0 and delivery restarts exactly at low', async () => {
    const topic = await r.topic('deleted-head', 1);
    const t: Transport = await r.transport();
    const tp = { topic, partition: 0 };
    await t.produce(['a=1', 'a=2', 'b=1', 'c=1', 'b=2'].map((kv) => ({ topic, partition: 0, key: kv.split('=')[0]!, value: kv })));
    const { transport, recorder } = await r.consume([topic]);
    await recorder.waitForEof(tp, 5);
    await (await r.admin()).deleteRecords(tp, 3);
    const mark = recorder.batches.length;
    const seek = await transport.seekToBeginning(tp);
    expect(seek).toEqual({ low: 3, high: 5 });
    await recorder.waitForEof(tp, 5, mark);
    expect(recorder.offsets(tp, mark)).toEqual([3, 4]);
    expect(recorder.values(tp, mark)).toEqual(['c=1', 'b=2']);
    expect(recorder.violations).toEqual([]);
  });
});
