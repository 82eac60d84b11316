import { describe, expect, it } from 'vitest';
import type { PartitionBatch } from '@ksched/core';
import { createTestEnvironment } from '../src/index.js';

describe('createTestEnvironment', () => {
  it('readSpeed makes the broker serve reads on the fake clock', async () => {
    await using env = await createTestEnvironment({ start: false, readSpeed: { recordsPerSecond: 10 } });
    const tp = { topic: env.topic, partition: 0 };
    await env.producer.produce(Array.from({ length: 10 }, (_, i) => ({ ...tp, key: `k${i}`, value: `v${i}` })));
    const reader = await env.producer.openReader(tp, { fromOffset: 0 });
    let batch: PartitionBatch | undefined;
    void reader.read().then((b) => (batch = b));
    await env.clock.tickAsync(999); // 10 records at 10 per second: 1 s of fake time
    expect(batch).toBeUndefined();
    await env.clock.tickAsync(1);
    expect(batch?.records).toHaveLength(10);
    expect(batch?.position).toBe(10);
    await reader.close();
  });

  it('reads take no fake time by default', async () => {
    await using env = await createTestEnvironment({ start: false });
    const tp = { topic: env.topic, partition: 0 };
    await env.producer.produce([{ ...tp, key: 'k', value: 'v' }]);
    const reader = await env.producer.openReader(tp, { fromOffset: 0 });
    const before = env.clock.now();
    expect((await reader.read()).records).toHaveLength(1);
    expect(env.clock.now()).toBe(before);
    await reader.close();
  });
});
