import { partitionForKey, TransportError } from '@ksched/core';
import type { PartitionerArgs } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RecordingPartitioner } from '../src/internal/produce.js';

type Metadata = PartitionerArgs['partitionMetadata'];

const meta = (leaders: number[]): Metadata =>
  leaders.map((leader, partitionId) => ({ partitionId, leader, partitionErrorCode: 0, replicas: [leader], isr: [leader] }));

/** What kafkajs does with `sendBatch`: the partitioner is called once per message (again on a retry). */
function choose(partitioner: RecordingPartitioner, topic: string, partitionMetadata: Metadata, batch = partitioner.prepare([])) {
  const call = partitioner.create();
  return batch.topicMessages.flatMap(({ topic: t, messages }) =>
    t === topic ? messages.map((message) => call({ topic, partitionMetadata, message })) : [],
  );
}

describe('RecordingPartitioner', () => {
  it('keeps an explicit partition, hashes the partition key before the key, and reports each in input order', () => {
    const p = new RecordingPartitioner();
    const batch = p.prepare([
      { topic: 't', partition: 2, key: 'k', value: 'a' },
      { topic: 't', key: 'k', partitionKey: 'tenant-7', value: 'b' },
      { topic: 't', key: 'k', value: 'c' },
    ]);
    const chosen = choose(p, 't', meta([1, 1, 1, 1, 1]), batch);
    expect(chosen).toEqual([2, partitionForKey('tenant-7', 5), partitionForKey('k', 5)]);
    const response = [0, 1, 2, 3, 4].map((partition) => ({ topicName: 't', partition, errorCode: 0, baseOffset: String(100 * partition) }));
    const offsets = p.metadata(batch, response);
    expect(offsets.map((m) => m.partition)).toEqual(chosen);
    // Each record: its partition's base offset plus the records of that partition before it.
    expect(offsets.map((m) => m.offset)).toEqual(chosen.map((c, i) => 100 * c + chosen.slice(0, i).filter((d) => d === c).length));
  });

  it('spreads keyless records over the partitions that have a leader, and a retry keeps the first choice', () => {
    const p = new RecordingPartitioner();
    const batch = p.prepare(Array.from({ length: 30 }, (_, i) => ({ topic: 't', key: null, value: String(i) })));
    const metadata = meta([1, -1, 1]);
    const first = choose(p, 't', metadata, batch);
    expect(new Set(first)).toEqual(new Set([0, 2]));
    expect(choose(p, 't', metadata, batch)).toEqual(first);
  });

  it('refuses a partition the topic does not have, naming it, and finds partitions listed out of order', () => {
    const p = new RecordingPartitioner();
    const call = p.create();
    const unordered = meta([1, 1, 1]).reverse();
    expect(call({ topic: 't', partitionMetadata: unordered, message: { value: 'x', partition: 0 } })).toBe(0);
    for (const partition of [3, -1]) {
      let caught: unknown;
      try {
        call({ topic: 't', partitionMetadata: unordered, message: { value: 'x', partition } });
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(TransportError);
      expect((caught as TransportError).message).toContain(`partition ${partition} of topic t does not exist (the topic has 3 partitions)`);
      expect((caught as TransportError).retriable).toBe(false);
    }
  });
});
