/**
 * What the kafkajs transport's `openReader` does beyond the Transport conformance suite: kafkajs
 * has no assign-only consumer, so a reader is a member of a throwaway group; those groups are gone
 * once the readers closed.
 */
import { describe, expect, it } from 'vitest';
import { rawKafka, useResources } from './helpers.js';

const r = useResources();

describe('kafkajs transport: openReader', () => {
  it("a reader's throwaway group is gone once the reader closed", async () => {
    const topic = await r.topic('reader-group', 2);
    const t = await r.transport();
    await t.produce([0, 1].map((partition) => ({ topic, partition, key: 'k', value: `v${partition}` })));
    const other = await r.transport();
    const readers = await Promise.all([
      t.openReader({ topic, partition: 0 }, { fromOffset: 0 }),
      other.openReader({ topic, partition: 1 }, { fromOffset: 0 }),
    ]);
    for (const reader of readers) expect((await reader.read()).records.length).toBeGreaterThan(0);
    await Promise.all(readers.map((x) => x.close()));
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
});
