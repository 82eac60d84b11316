/**
 * Group membership of the kafkajs transport beyond the Transport conformance suite: where a member
 * starts without a seek (kafkajs resumes at the committed offset), and heartbeats during a long
 * onBatch (its session and heartbeat options).
 */
import { describe, expect, it } from 'vitest';
import { Recorder, unique, useResources } from './helpers.js';

const r = useResources();

describe('kafkajs transport: group membership', () => {
  it('without a seek in onAssigned, a member starts at the committed offset and still gets its EOF notice', async () => {
    const topic = await r.topic('committed', 1);
    const groupId = unique('group');
    const t = await r.transport();
    await t.produce(['a', 'b', 'c', 'd'].map((v) => ({ topic, partition: 0, key: v, value: v })));
    const first = await r.consume([topic], new Recorder(), groupId);
    await first.recorder.waitForEof({ topic, partition: 0 }, 4);
    await first.transport.commitOffsets([{ topic, partition: 0, offset: 2 }]);
    await first.subscription.close();
    const second = await r.consume([topic], new Recorder(), groupId);
    await second.recorder.waitForEof({ topic, partition: 0 }, 4);
    expect(second.recorder.values({ topic, partition: 0 })).toEqual(['c', 'd']);
  });

  it('a long onBatch keeps the membership (heartbeats continue) and batches of a partition never overlap', async () => {
    const topic = await r.topic('slow', 2);
    const t = await r.transport();
    await t.produce([0, 1].flatMap((p) => [0, 1, 2].map((i) => ({ topic, partition: p, key: `k${i}`, value: `${p}-${i}` }))));
    const recorder = new Recorder();
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
    await r.consume([topic], recorder, unique('group'), transport);
    await recorder.waitForEof({ topic, partition: 0 }, 3, 0, 30_000);
    await recorder.waitForEof({ topic, partition: 1 }, 3, 0, 30_000);
    // The member was never expired: one join, no revocation.
    expect(joins).toHaveLength(1);
    expect(recorder.events.filter((e) => e.kind === 'revoked')).toEqual([]);
    expect(recorder.violations).toEqual([]);
  });
});
