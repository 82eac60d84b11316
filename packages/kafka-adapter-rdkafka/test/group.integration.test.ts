/**
 * Group delivery of the rdkafka transport beyond the Transport conformance suite: backpressure
 * per partition (its consumeBatchSize and maxQueuedRecordsPerPartition options).
 */
import { describe, expect, it } from 'vitest';
import { Recorder, unique, useResources, waitUntil } from './helpers.js';

const r = useResources();

describe('rdkafka transport: consumer group', () => {
  it('a slow onBatch holds its partition only: other partitions keep flowing, and the slow one pauses under backpressure', async () => {
    const topic = await r.topic('backpressure', 2);
    const t = await r.transport();
    await t.produce(Array.from({ length: 300 }, (_, i) => ({ topic, partition: 0, key: `k${i}`, value: `slow-${i}` })));
    const recorder = new Recorder();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    recorder.onBatchHook = async (batch) => {
      if (batch.partition === 0 && batch.records.length > 0) await gate;
    };
    await r.consume([topic], recorder, unique('group'), await r.transport({ consumeBatchSize: 20, maxQueuedRecordsPerPartition: 40 }));
    await t.produce([{ topic, partition: 1, key: 'fast', value: 'fast' }]);
    await waitUntil(() => recorder.values({ topic, partition: 1 }).includes('fast'), 'partition 1 delivered while partition 0 is blocked');
    expect(recorder.values({ topic, partition: 0 }).length).toBeLessThanOrEqual(20);
    release();
    await recorder.waitForEof({ topic, partition: 0 }, 300);
    expect(recorder.offsets({ topic, partition: 0 })).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(recorder.violations).toEqual([]);
  });
});
