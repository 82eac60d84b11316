/**
 * Engine scenarios about the tombstones the engine writes.
 *
 * @module
 */
import { expect } from 'vitest';
import { Header } from '@ksched/core';
import type { ScenarioContext } from '../context.js';
import type { BuiltInput } from '../types.js';
import { sleep, text, headerTexts, realDateNow } from '../support.js';

/** The engine’s own tombstones. */
export function describeTombstones({ scenario }: ScenarioContext): void {
  scenario(
    'the engine’s own tombstones land on the schedule’s partition with the spec headers',
    { partitions: 3, targetPartitions: 2 },
    async (s) => {
      const sched = await s.start();
      const due = realDateNow() + 1500;
      const inputs: BuiltInput[] = [
        { key: 'explicit-0', at: due, partition: 0, targetPartition: 1, headers: { trace: 'a' } },
        { key: 'explicit-2', at: due, partition: 2, targetPartition: 0 },
        { key: 'by-partition-key', at: due, partitionKey: 'customer-9' },
        { key: 'order-42-reminder', at: due, byKey: true, targetKey: null, targetPartition: 1 },
        { key: 'foobar', at: due, byKey: true, headers: { trace: 'b' } },
      ];
      const records = inputs.map((i) => s.built(i));
      const metas = await s.produce(records);
      expect(new Set(metas.map((m) => m.partition)).size).toBeGreaterThan(1);
      await s.waitUntil(
        () => s.targets().length >= records.length,
        () => `${records.length} deliveries (got ${s.targets().length})`,
      );
      await sleep(500);
      await s.caughtUp(s.target);
      await s.caughtUp(s.schedules);
      for (const [i, record] of records.entries()) {
        const meta = metas[i]!;
        const key = record.key as string;
        const scheduleHeaders = headerTexts(record.headers ?? {});
        const tombstones = s.reader.of(s.schedules).filter((r) => text(r.key) === key && r.value === null);
        expect(
          tombstones.map((r) => r.partition),
          `tombstones of ${key}`,
        ).toEqual([meta.partition]);
        const [t] = tombstones;
        expect(t!.offset).toBeGreaterThan(meta.offset);
        expect(headerTexts(t!.headers), `tombstone headers of ${key}`).toEqual({
          ...scheduleHeaders,
          [Header.schemaVersion]: '1.0.0',
          [Header.sourceType]: 'tombstone',
          [Header.sourceOffset]: String(meta.offset),
        });
        const targets = s.targets().filter((r) => text(r.headers[Header.sourceKey]) === key);
        expect(targets, `target of ${key}`).toHaveLength(1);
        const [m] = targets;
        if (inputs[i]!.targetPartition !== undefined) expect(m!.partition).toBe(inputs[i]!.targetPartition);
        expect(text(m!.key)).toBe(inputs[i]!.targetKey === null ? null : (inputs[i]!.targetKey ?? key));
        expect(headerTexts(m!.headers)).toEqual({
          ...scheduleHeaders,
          [Header.sourceTopic]: s.schedules,
          [Header.sourcePartition]: String(meta.partition),
          [Header.sourceOffset]: String(meta.offset),
          [Header.sourceKey]: key,
        });
      }
      expect(sched.errors).toEqual([]);
    },
  );
}
