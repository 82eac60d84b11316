/**
 * Engine scenarios about loading a partition.
 *
 * @module
 */
import { inflateSync } from 'node:zlib';
import { expect } from 'vitest';
import { utcDateString, DAY_MS } from '@ksched/core';
import type { ScenarioContext } from '../context.js';
import { counts, realDateNow, sleep, text } from '../support.js';

/** Loading: the first states report of an empty partition, a restart after the head was removed, background reads racing live records. */
export function describeLoading({ scenario, name, harness: h }: ScenarioContext): void {
  scenario('an empty schedules partition publishes one `loaded` states report (zlib, schema 1.0.0, daily {today: 0})', {}, async (s) => {
    const before = realDateNow();
    // No idle ticks within the test: the load's forced report is the only one.
    const sched = await s.start({ intervalMs: 60_000, statesReportIntervalMs: 60_000 });
    const after = realDateNow();
    await sleep(1500);
    await s.caughtUp(s.states);
    const raw = s.reader.of(s.states);
    expect(raw.map((r) => [text(r.key), r.partition])).toEqual([['loaded_state', 0]]);
    const [record] = raw;
    expect(text(record!.headers['zlib'])).toBe('true');
    // RFC 1950: a zlib header (CMF 0x78), then a deflate stream that inflates to the JSON report.
    expect(record!.value![0]).toBe(0x78);
    const json = JSON.parse(inflateSync(record!.value!).toString('utf8')) as Record<string, unknown>;
    expect(Object.keys(json)).toEqual(['schema_version', 'dispatched_at', 'state', 'offsets', 'daily', 'started_at', 'reloads']);
    expect(json).toMatchObject({
      schema_version: '1.0.0',
      state: 'loaded',
      daily: { [utcDateString(after)]: 0 },
      offsets: { low: -1, high: -1 },
      reloads: 1,
    });
    expect(json['dispatched_at']).toBeGreaterThanOrEqual(before / 1000);
    expect(json['dispatched_at']).toBeLessThanOrEqual(after / 1000);
    expect(sched.loaded).toEqual([expect.objectContaining({ by: 'end_offset', buffered: 0, reloads: 1 })]);
    expect(sched.dispatched).toEqual([]);
    // Shutdown forces a `stopped` report.
    await sched.stop();
    await s.waitUntil(() => s.reader.of(s.states).length >= 2, 'the stopped report');
    expect(s.reports().map((r) => [text(r.record.key), r.report.state])).toEqual([
      ['loaded_state', 'loaded'],
      ['stopped_state', 'stopped'],
    ]);
    expect(sched.errors).toEqual([]);
  });

  scenario(
    'after the head of the partition was removed, a restart reloads from low > 0 and dispatches only what is left',
    { headRemoval: true },
    async (s, ctx) => {
      const hk = await h();
      const removal = hk.deleteRecords ? 'deleteRecords' : hk.compact ? 'compact' : undefined;
      if (removal === undefined) return ctx.skip(`the ${name} harness has neither deleteRecords() nor compact()`);
      const early = Array.from({ length: 3 }, (_, i) => s.built({ key: `early-${i}`, at: realDateNow() + 1500 }));
      const metas = await s.produce(early);
      const groupId = s.unique('group');
      const a = await s.start({ groupId });
      await s.waitUntil(() => a.dispatched.length >= 3, 'the early dispatches');
      await a.stop();
      // Remove the schedules, keep their tombstones (compaction would keep the tombstones too).
      const tp = { topic: s.schedules, partition: 0 };
      const low = metas[metas.length - 1]!.offset + 1;
      if (removal === 'deleteRecords') await hk.deleteRecords!(tp, low);
      else await hk.compact!(s.schedules);
      const late = Array.from({ length: 2 }, (_, i) => s.built({ key: `late-${i}`, at: realDateNow() + 1500 }));
      await s.produce(late);
      const b = await s.start({ groupId });
      expect(b.loaded).toEqual([expect.objectContaining({ buffered: 2 })]);
      await s.waitUntil(() => b.dispatched.length >= 2, 'the late dispatches');
      await sleep(1000);
      await s.caughtUp(s.target);
      expect(b.dispatched.map((e) => e.key).sort()).toEqual(['late-0', 'late-1']);
      const delivered = s.targets().map((r) => text(r.key));
      expect([...counts(delivered)].filter(([, n]) => n > 1)).toEqual([]);
      expect(delivered).toHaveLength(5);
      // B's report: its load's first offset is past the removed head.
      await s.waitUntil(
        () => s.reports(0).some((r) => r.report.reloads === 1 && (r.report.offsets?.low ?? -1) >= low),
        'a report of the reload from low',
      );
      expect([...a.errors, ...b.errors]).toEqual([]);
    },
  );

  scenario(
    'background reads racing live updates and cancels of the same keys: the latest version of each key is dispatched once, cancelled and superseded ones never',
    {},
    async (s) => {
      // A 10 s horizon: a background read every ~5 s, each reading the 3,000 filler records.
      const filler = Array.from({ length: 3000 }, (_, i) => s.built({ key: `later-${i}`, at: realDateNow() + 3 * DAY_MS + i }));
      for (let i = 0; i < filler.length; i += 500) await s.produce(filler.slice(i, i + 500));
      const start = realDateNow();
      const sched = await s.start({ bufferHorizonMs: 10_000 });
      // Every version is due after the mutation phase ends, most of them beyond the window at
      // the time they are written: they reach the buffer through the live path or a read.
      const dueFrom = start + 14_000;
      const latest = new Map<string, string | null>();
      let version = 0;
      let seed = 7;
      const random = (): number => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
      while (realDateNow() < start + 11_000) {
        const key = `k-${Math.floor(random() * 25)}`;
        if (latest.get(key) && random() < 0.25) {
          await s.produce([s.cancel(key)]);
          latest.set(key, null);
        } else {
          const payload = `${key}-v${++version}`;
          await s.produce([s.built({ key, payload, at: dueFrom + Math.floor(random() * 6000) })]);
          latest.set(key, payload);
        }
        await sleep(40 + Math.floor(random() * 80));
      }
      const expected = [...latest.values()].filter((p): p is string => p !== null).sort();
      await s.waitUntil(
        () => sched.dispatched.length >= expected.length && realDateNow() > dueFrom + 6500,
        () => `${expected.length} dispatches (got ${sched.dispatched.length})`,
      );
      await sleep(1000);
      await s.caughtUp(s.target);
      const payloads = s.targets().map((r) => text(r.value));
      expect([...payloads].sort()).toEqual(expected);
      expect(sched.refills.filter((r) => r.phase === 'completed').length).toBeGreaterThanOrEqual(2);
      expect(sched.refills.filter((r) => r.phase === 'failed')).toEqual([]);
      expect(sched.reloads.map((r) => r.reason)).toEqual(['assigned']);
      for (const e of sched.dispatched) expect(e.dispatchedAtMs, e.key).toBeGreaterThanOrEqual(e.dueMs);
      expect(sched.errors).toEqual([]);
    },
  );
}
