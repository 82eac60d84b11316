/**
 * Reload: a partition holding N envelopes (200-byte payloads; 80 % due on future days, 20 % later
 * today) is loaded by a Scheduler (time from start() to its 'loaded' event) and read to its end by
 * a raw consumer of the same client (time from connect to the end offset). ratio = raw / ksched.
 *
 *   node … src/reload.ts [--quick] [--records 1000000]
 */
import { Scheduler, systemClock, DAY_MS } from '@ksched/core';
import {
  adapters,
  arg,
  brokers,
  highWatermark,
  log,
  payload,
  quick,
  recreateTopics,
  scheduleHeaders,
  seed,
  transportFor,
  writeResult,
} from './lib/common.js';
import { rawReadToEnd } from './lib/raw.js';

const records = arg('records', quick ? 200_000 : 1_000_000);
const list = brokers();
const topic = `bench_reload_${records}`;
const value = payload(200);

const now = Date.now();
const dayStart = Math.floor(now / DAY_MS) * DAY_MS;
const todayDue = dayStart + DAY_MS - 60_000; // the last minute of today: buffered, not dispatched during the run
if (todayDue - now < 30 * 60_000) log('warning: less than 30 min left in the UTC day; today-schedules may roll over during the run');

if ((await highWatermark(list, topic)) !== records) {
  log(`seeding ${records} envelopes into ${topic}`);
  await recreateTopics(list, [topic, `${topic}_states`]);
  const t0 = performance.now();
  await seed(list, topic, records, (i) => ({
    key: `reload-${i}`,
    value,
    headers: scheduleHeaders(i % 5 === 0 ? todayDue : dayStart + DAY_MS * (1 + (i % 30)) + (i % 86_400) * 1000, 'bench_reload_target'),
  }));
  log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else log(`reusing ${topic} (${records} records)`);

const rounds = arg('rounds', quick ? 2 : 3);
const results: Record<string, unknown> = {};
for (const name of adapters) {
  // Alternating raw and ksched, best of `rounds` each (the machine is shared; the minimum is the least disturbed run).
  const raws: number[] = [];
  const kscheds: { ms: number; durationMs: number; buffered: number; by: string }[] = [];
  for (let round = 0; round < rounds; round++) {
    const raw = await rawReadToEnd(name, list, topic, records);
    if (raw.records < records) throw new Error(`raw read ${raw.records} < ${records}`);
    raws.push(raw.ms);
    log(`${name} raw read to end: ${raw.ms.toFixed(0)} ms (${raw.records} records)`);

    const scheduler = new Scheduler({
      transport: transportFor(name, list),
      clock: systemClock,
      options: { topics: [topic], groupId: `bench-reload-${name}-${Date.now()}` },
    });
    const t0 = performance.now();
    const loaded = new Promise<{ ms: number; durationMs: number; buffered: number; by: string }>((resolve) =>
      scheduler.on('loaded', (e) => resolve({ ms: performance.now() - t0, durationMs: e.durationMs, buffered: e.buffered, by: e.by })),
    );
    await scheduler.start();
    const k = await loaded;
    await scheduler.stop();
    if (k.buffered !== records / 5) throw new Error(`buffered ${k.buffered}, expected ${records / 5}`);
    kscheds.push(k);
    log(`${name} ksched loaded: ${k.ms.toFixed(0)} ms (load phase ${k.durationMs} ms, buffered ${k.buffered}, by ${k.by})`);
  }
  const rawMs = Math.min(...raws);
  const best = kscheds.reduce((a, b) => (b.ms < a.ms ? b : a));
  results[name] = {
    rawMs,
    kschedMs: best.ms,
    loadPhaseMs: best.durationMs,
    buffered: best.buffered,
    by: best.by,
    ratio: rawMs / best.ms,
    rawRunsMs: raws,
    kschedRunsMs: kscheds.map((k) => k.ms),
  };
}
writeResult('reload', { records, payloadBytes: 200, todayShare: 0.2, rounds, adapters: results });
