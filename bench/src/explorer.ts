/**
 * Explorer page: the Web UI's paged view of a schedules-topic partition calls
 * `ScheduleAdmin.records(topic, partition, { fromOffset | fromTimeMs, limit: 50 })`. On one
 * partition of 1,000,000 schedule envelopes (quick: 200,000; built with core's `schedule()`, their
 * CreateTime spread evenly over one day), for each adapter, the wall time of one page from the
 * call to its answer for: the first page, the last page, `--pages` random offsets (each followed by
 * its next page, `fromOffset: page.next`, as the UI's "next" button does) and `--pages` random
 * times (`fromTimeMs`, jump to time). Target: every page ≤ 200 ms, by seeking, not scanning.
 *
 * Where the time goes: the transport is wrapped to time each port call a page makes (partition
 * count, watermarks, offset for time, reader open and reads; reader closes, which the admin does
 * after returning the page, are listed apart). Baseline in the same run,
 * once per adapter: scanning the partition with a reader from its beginning up to its middle
 * offset (records read, not decoded), which is what a page would cost without seeking.
 *
 *   node … src/explorer.ts [--quick] [--records 1000000] [--pages 30]
 *   KSCHED_BENCH_ONLY=explorer pnpm bench:quick     # the same through run.ts (the rest from results/)
 *
 * The seeded topic `bench_explorer_v1_<records>` is kept and reused (retention off: its
 * timestamps are in the past); KSCHED_BENCH_EXPLORER_FRESH=1 seeds it again.
 */
import { createScheduleAdmin, DAY_MS, schedule, type PartitionReader, type RecordPage, type Transport } from '@ksched/core';
import {
  adapters,
  arg,
  brokers,
  highWatermark,
  kafka,
  log,
  quick,
  seedFast,
  sleep,
  summarize,
  transportFor,
  writeResult,
} from './lib/common.js';

const records = arg('records', quick ? 200_000 : 1_000_000);
const pages = arg('pages', 30);
const LIMIT = 50;
const TARGET_MS = 200;
const list = brokers();
const topic = `bench_explorer_v1_${records}`;
/** CreateTime of record i: evenly over this day (fixed, so the topic can be reused). */
const dayStart = Date.UTC(2026, 10, 1);
const createdAt = (i: number) => dayStart + Math.floor((i * DAY_MS) / records);

/** A small deterministic PRNG (mulberry32): the same pages in every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A realistic envelope: an order reminder due 1 h to 30 days after it was written, ~190 B payload, a user header. */
function envelope(i: number): { key: string; value: Buffer | null; headers: Record<string, string>; timestamp: number } {
  const created = createdAt(i);
  const r = schedule(
    {
      message: {
        topic: 'orders',
        key: `order-${i}`,
        payload: JSON.stringify({ order: i, remind: true, note: 'x'.repeat(150) }),
        headers: { 'trace-id': `trace-${i}` },
      },
      envelope: { topic, key: `order-${i}-reminder` },
      at: created + 3_600_000 * (1 + (i % 720)),
    },
    { clock: { now: () => created } },
  );
  return {
    key: r.key,
    value: r.value === null ? null : Buffer.from(r.value.buffer, r.value.byteOffset, r.value.byteLength),
    headers: r.headers as Record<string, string>,
    timestamp: created,
  };
}

async function ensureTopic(): Promise<void> {
  if (process.env.KSCHED_BENCH_EXPLORER_FRESH !== '1' && (await highWatermark(list, topic)) === records) {
    log(`reusing ${topic} (${records} records)`);
    return;
  }
  const admin = kafka(list).admin();
  await admin.connect();
  try {
    if ((await admin.listTopics()).includes(topic)) {
      await admin.deleteTopics({ topics: [topic] });
      while ((await admin.listTopics()).includes(topic)) await sleep(200);
    }
    for (let attempt = 0; ; attempt++) {
      try {
        // Timestamps a month old: no time-based retention, or the broker would delete them.
        await admin.createTopics({
          topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '-1' }] }],
          waitForLeaders: true,
        });
        break;
      } catch (error) {
        if (attempt > 30) throw error;
        await sleep(300);
      }
    }
  } finally {
    await admin.disconnect();
  }
  log(`seeding ${records} envelopes into ${topic}`);
  const t0 = performance.now();
  await seedFast(list, topic, records, envelope);
  log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

/**
 * Times every port call made through it: `take()` returns (and resets) the totals per call since
 * the last `take()`; reader closes (the admin closes readers after the page, in the background)
 * are listed apart, in `closes`.
 */
function timedTransport(transport: Transport): { transport: Transport; take(): Record<string, number>; closes: number[] } {
  let spans: Record<string, number> = {};
  const closes: number[] = [];
  const timed = <T>(name: string, work: Promise<T>): Promise<T> => {
    const t0 = performance.now();
    return work.finally(() => (spans[name] = (spans[name] ?? 0) + performance.now() - t0));
  };
  const proxy = new Proxy(transport, {
    get(target, prop) {
      if (prop === 'openReader') {
        return async (tp: Parameters<Transport['openReader']>[0], options: Parameters<Transport['openReader']>[1]) => {
          const reader = await timed('open', target.openReader(tp, options));
          const wrapped: PartitionReader = {
            topic: reader.topic,
            partition: reader.partition,
            read: () => timed('read', reader.read()),
            close: () => {
              const t0 = performance.now();
              return reader.close().finally(() => closes.push(performance.now() - t0));
            },
          };
          return wrapped;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      if (typeof value !== 'function') return value;
      if (prop === 'fetchWatermarks' || prop === 'partitionCount' || prop === 'offsetForTime') {
        return (...args: unknown[]) => timed(prop, (value as (...a: unknown[]) => Promise<unknown>).apply(target, args));
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return {
    transport: proxy,
    closes,
    take: () => {
      const out = spans;
      spans = {};
      return out;
    },
  };
}

interface Page {
  kind: 'first' | 'last' | 'offset' | 'next' | 'time';
  ms: number;
  from: number;
  records: number;
  spans: Record<string, number>;
}

const round = (n: number) => Math.round(n * 10) / 10;

await ensureTopic();
const results: Record<string, unknown> = {};
for (const name of adapters) {
  const random = rng(14);
  const base = transportFor(name, list);
  await base.connect();
  const { transport, take, closes } = timedTransport(base);
  const admin = createScheduleAdmin({ transport, schedulesTopics: [topic] });
  const { low, high } = await base.fetchWatermarks({ topic, partition: 0 });
  if (high - low !== records) throw new Error(`${topic} holds ${high - low} records, expected ${records}`);

  const done: Page[] = [];
  const page = async (kind: Page['kind'], options: { fromOffset?: number; fromTimeMs?: number }): Promise<RecordPage> => {
    take();
    const t0 = performance.now();
    const p = await admin.records(topic, 0, { ...options, limit: LIMIT });
    const ms = performance.now() - t0;
    const spans = take();
    if (p.records.length === 0) throw new Error(`${name}: empty page for ${JSON.stringify(options)}`);
    if (p.records.some((r) => r.type !== 'schedule')) throw new Error(`${name}: a record of the page is not a schedule`);
    if (p.records.length < LIMIT && p.next !== undefined) throw new Error(`${name}: short page (${p.records.length}) before the end`);
    done.push({ kind, ms, from: p.from, records: p.records.length, spans });
    return p;
  };

  await page('first', {});
  await page('last', { fromOffset: high - LIMIT });
  for (let i = 0; i < pages; i++) {
    const p = await page('offset', { fromOffset: low + Math.floor(random() * (high - low - 2 * LIMIT)) });
    await page('next', { fromOffset: p.next! });
  }
  for (let i = 0; i < pages; i++) {
    const at = dayStart + Math.floor(random() * DAY_MS * 0.999);
    const p = await page('time', { fromTimeMs: at });
    if (p.records[0]!.createdAtMs < at) throw new Error(`${name}: the page for time ${at} starts at ${p.records[0]!.createdAtMs}`);
  }

  // Baseline: scanning from the beginning up to the middle offset, without decoding.
  const middle = low + Math.floor((high - low) / 2);
  const t0 = performance.now();
  const reader = await base.openReader({ topic, partition: 0 }, { fromOffset: low });
  let scanned = 0;
  let position = low;
  while (position < middle) {
    const batch = await reader.read();
    scanned += batch.records.length;
    position = batch.position;
  }
  await reader.close();
  const scanMs = performance.now() - t0;

  await admin.close();
  await base.close();

  const all = summarize(done.map((p) => p.ms));
  const byKind = Object.fromEntries(
    (['first', 'last', 'offset', 'next', 'time'] as const).map((k) => [k, summarize(done.filter((p) => p.kind === k).map((p) => p.ms))]),
  );
  // Mean time per port call of a page (where page time goes).
  const spanNames = [...new Set(done.flatMap((p) => Object.keys(p.spans)))];
  const spans = Object.fromEntries(spanNames.map((s) => [s, round(done.reduce((sum, p) => sum + (p.spans[s] ?? 0), 0) / done.length)]));
  const slowest = done.reduce((a, b) => (b.ms > a.ms ? b : a));
  log(
    `${name}: ${done.length} pages of ${LIMIT}: p50 ${round(all.p50)} p99 ${round(all.p99)} max ${round(all.max)} ms ` +
      `(first ${round(byKind.first!.max)}, last ${round(byKind.last!.max)}, offset max ${round(byKind.offset!.max)}, ` +
      `next max ${round(byKind.next!.max)}, time max ${round(byKind.time!.max)}); mean per page by port call ${JSON.stringify(spans)}; ` +
      `slowest: ${slowest.kind} from ${slowest.from} ${JSON.stringify(Object.fromEntries(Object.entries(slowest.spans).map(([k, v]) => [k, round(v)])))}; ` +
      `readers opened ${closes.length} (closed after their page, in the background: p50 ${round(summarize(closes).p50)} max ${round(summarize(closes).max)} ms); ` +
      `scan to the middle (${scanned} records): ${Math.round(scanMs)} ms = ${round(scanMs / all.p50)}× the median page`,
  );
  results[name] = {
    pageMs: { p50: round(all.p50), p99: round(all.p99), max: round(all.max), min: round(all.min), n: all.n },
    byKind: Object.fromEntries(Object.entries(byKind).map(([k, s]) => [k, { p50: round(s.p50), max: round(s.max), n: s.n }])),
    meanSpansMs: spans,
    slowest: { kind: slowest.kind, from: slowest.from, ms: round(slowest.ms), spans: slowest.spans },
    readerCloseMs: summarize(closes),
    readersOpened: closes.length,
    scan: { toOffset: middle, records: scanned, ms: Math.round(scanMs) },
    scanVsMedianPage: round(scanMs / all.p50),
    scanVsMaxPage: round(scanMs / all.max),
    pages: done.map((p) => ({ kind: p.kind, from: p.from, ms: round(p.ms) })),
  };
}
const worst = Math.max(...Object.values(results).map((r) => (r as { pageMs: { max: number } }).pageMs.max));
writeResult('explorer', { records, limit: LIMIT, pagesPerKind: pages, targetMs: TARGET_MS, maxPageMs: worst, adapters: results });
