/**
 * Conformance cases about records on their way through: edge-case keys and values, metadata of
 * concurrent produce calls, and the end of a log ending in an abort marker.
 *
 * @module
 */
import { expect } from 'vitest';
import { partitionForKey } from '@ksched/core';
import type { ConformanceContext } from '../context.js';
import { text } from '../support.js';

/** Edge-case records, concurrent produce calls, a trailing abort marker. */
export function describeRecords(ctx: ConformanceContext): void {
  const { topic, transport, consume, settledEnd, waitForEof, abortedTransaction, expectNoViolations, test } = ctx;

  test('keyless records, a NUL inside a key and an empty value (not a tombstone) round-trip; a byte key lands where its text would; bytes are plain Uint8Arrays', async () => {
    const t1 = await topic('edge-records', 1);
    const t5 = await topic('byte-key', 5);
    const t = await transport();
    const [byBytes] = await t.produce([{ topic: t5, key: new TextEncoder().encode('foobar'), value: 'by key bytes' }]);
    expect(byBytes!.partition).toBe(partitionForKey('foobar', 5));
    await t.produce([
      { topic: t1, key: null, value: 'keyless', headers: { h: 'x' } },
      { topic: t1, partition: 0, key: 'nul\u0000inside', value: '' },
    ]);
    const { collector } = await consume(t1);
    const tp = { topic: t1, partition: 0 };
    await waitForEof(collector, tp, 2);
    const [keyless, nul] = collector.records(tp);
    expect(keyless!.key).toBeNull();
    expect(text(keyless!.value)).toBe('keyless');
    expect(keyless!.timestamp).toBeGreaterThan(0);
    expect(text(nul!.key)).toBe('nul\u0000inside');
    expect(nul!.value).not.toBeNull();
    expect(nul!.value!.length).toBe(0);
    for (const bytes of [keyless!.value!, nul!.key!, nul!.value!]) expect(Object.getPrototypeOf(bytes)).toBe(Uint8Array.prototype);
    const header = keyless!.headers['h']!;
    if (typeof header !== 'string') expect(Object.getPrototypeOf(header)).toBe(Uint8Array.prototype);
    expectNoViolations(collector);
  });

  test(
    'concurrent produce calls over several topics and partitions each resolve with their own records, in input order',
    async () => {
      const a = await topic('concurrent-a', 3);
      const b = await topic('concurrent-b', 2);
      const t = await transport();
      const calls = [0, 1, 2, 3].map((c) =>
        Array.from({ length: 30 }, (_, i) => ({
          topic: i % 2 === 0 ? a : b,
          // Explicit partitions, keys and no key at all, mixed.
          ...(i % 3 === 0 ? { partition: (c + i) % 2 } : {}),
          key: i % 3 === 2 ? null : `c${c}-${i}`,
          value: `c${c}-${i}`,
        })),
      );
      const results = await Promise.all(calls.map((records) => t.produce(records)));
      const { collector } = await consume(a, b);
      const written = new Map<string, string | null>();
      for (const [name, partitions] of [
        [a, 3],
        [b, 2],
      ] as const) {
        for (let partition = 0; partition < partitions; partition++) {
          const tp = { topic: name, partition };
          await waitForEof(collector, tp, (await t.fetchWatermarks(tp)).high);
          for (const r of collector.records(tp)) written.set(`${name}/${partition}@${r.offset}`, text(r.value));
        }
      }
      expect(written.size).toBe(120);
      results.forEach((metas, c) => {
        expect(metas.map((m) => m.topic)).toEqual(calls[c]!.map((r) => r.topic));
        metas.forEach((m, i) => {
          if (i % 3 === 0) expect(m.partition).toBe((c + i) % 2);
          expect(written.get(`${m.topic}/${m.partition}@${m.offset}`), `call ${c} record ${i}`).toBe(`c${c}-${i}`);
        });
      });
      expectNoViolations(collector);
      // Open flake (kafkajs only, before and after its reader changed): now and then the new member
      // subscribed to the two fresh topics is assigned nothing for a minute ("assignment of 5
      // partitions (got 0)"); the produce calls this case is about had all resolved by then. One
      // re-run from scratch, until the group join is understood.
    },
    { retry: 1 },
  );

  test('a member reads a log ending in an abort marker to its end: an EOF notice at high, without the aborted records', async (ctx) => {
    const t1 = await topic('abort-end', 1);
    const t = await transport();
    const tp = { topic: t1, partition: 0 };
    const [kept] = await t.produce([{ topic: t1, partition: 0, key: 'k', value: 'kept' }]);
    await abortedTransaction(ctx, t, [{ topic: t1, partition: 0, key: 'x', value: 'aborted' }]);
    const wm = await settledEnd(t, tp, kept!.offset + 3); // the aborted record and its marker
    const { collector } = await consume(t1);
    const eof = await waitForEof(collector, tp, wm.high);
    expect(collector.batches[eof]!.position).toBe(wm.high);
    expect(collector.values(tp)).toEqual(['kept']);
    expectNoViolations(collector);
  });
}
