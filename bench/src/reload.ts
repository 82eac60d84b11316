/**
 * Reload: a partition holding N envelopes (200-byte payloads) is loaded by a Scheduler (time from
 * start() to its 'loaded' event) and read to its end by a raw consumer of the same client (time
 * from connect to the end offset). ratio = raw / ksched.
 *
 * Like with like: the engine now holds only the schedules due before its window's end (default
 * `now + 1 h`), where it used to hold today's. To keep the measure's work what it was (decode every
 * record, buffer 20 % of them), 20 % of the envelopes are due at one fixed far-future instant
 * (2100-01-01) and 80 % on the 30 days after it, and the measured Scheduler's `bufferHorizonMs`
 * reaches just past that instant: it buffers exactly the 20 %. (Fixed due times also let the seeded
 * topic be reused from run to run.) Also measured, same rounds:
 *
 * - `ratioDefaultHorizon`: a Scheduler with default options (1 h window: buffers none of them);
 * - `refillRatio`: that Scheduler's first background read of the same partition (its clock is then
 *   moved forward by half the horizon so that the read starts): raw time / the `refill` event's
 *   `durationMs` (from the start of the read, through a reader outside the group, to its merge).
 *
 *   node … src/reload.ts [--quick] [--records 1000000]
 */
import { Scheduler, systemClock, DAY_MS, type Clock } from '@ksched/core';
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
const topic = `bench_reload_v2_${records}`;
const value = payload(200);

/** The 20 % buffered: all due at this instant; the 80 % on the 30 days after it. */
const heldDue = Date.UTC(2100, 0, 1);
/** A window reaching just past `heldDue` (the like-with-like run). */
const horizonFor = () => heldDue - Date.now() + 60_000;
const HORIZON_DEFAULT_MS = 3_600_000;

if ((await highWatermark(list, topic)) !== records) {
  log(`seeding ${records} envelopes into ${topic}`);
  await recreateTopics(list, [topic, `${topic}_states`]);
  const t0 = performance.now();
  await seed(list, topic, records, (i) => ({
    key: `reload-${i}`,
    value,
    headers: scheduleHeaders(i % 5 === 0 ? heldDue : heldDue + DAY_MS * (1 + (i % 30)) + (i % 86_400) * 1000, 'bench_reload_target'),
  }));
  log(`seeded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
} else log(`reusing ${topic} (${records} records)`);

const rounds = arg('rounds', quick ? 2 : 3);
const results: Record<string, unknown> = {};
for (const name of adapters) {
  // Alternating raw and ksched, best of `rounds` each (the machine is shared; the minimum is the least disturbed run).
  const raws: number[] = [];
  const kscheds: { ms: number; durationMs: number; buffered: number; by: string }[] = [];
  const defaults: { ms: number; buffered: number }[] = [];
  const refills: { durationMs: number; records: number; added: number }[] = [];
  for (let round = 0; round < rounds; round++) {
    const raw = await rawReadToEnd(name, list, topic, records);
    if (raw.records < records) throw new Error(`raw read ${raw.records} < ${records}`);
    raws.push(raw.ms);
    log(`${name} raw read to end: ${raw.ms.toFixed(0)} ms (${raw.records} records)`);

    // Like with like: the window reaches the 20 % due at `heldDue`.
    const scheduler = new Scheduler({
      transport: transportFor(name, list),
      clock: systemClock,
      options: { topics: [topic], groupId: `bench-reload-${name}-${Date.now()}`, bufferHorizonMs: horizonFor() },
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

    // Default options (1 h window), then its first background read: the clock moves half a horizon on.
    let offset = 0;
    const clock: Clock = { now: () => Date.now() + offset, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };
    const plain = new Scheduler({
      transport: transportFor(name, list),
      clock,
      options: { topics: [topic], groupId: `bench-reload-default-${name}-${Date.now()}`, intervalMs: 1000 },
    });
    const t1 = performance.now();
    const plainLoaded = new Promise<{ ms: number; buffered: number }>((resolve) =>
      plain.on('loaded', (e) => resolve({ ms: performance.now() - t1, buffered: e.buffered })),
    );
    const refilled = new Promise<{ durationMs: number; records: number; added: number }>((resolve, reject) =>
      plain.on('refill', (e) => {
        if (e.phase === 'completed') resolve({ durationMs: e.durationMs ?? NaN, records: e.records ?? NaN, added: e.added ?? NaN });
        if (e.phase === 'failed') reject(new Error('background read failed'));
      }),
    );
    await plain.start();
    const d = await plainLoaded;
    if (d.buffered !== 0) throw new Error(`default window buffered ${d.buffered}, expected 0`);
    defaults.push(d);
    offset = HORIZON_DEFAULT_MS / 2 + 1000;
    const r = await refilled;
    await plain.stop();
    if (r.records < records) throw new Error(`background read saw ${r.records} < ${records} records`);
    refills.push(r);
    log(
      `${name} ksched default window loaded: ${d.ms.toFixed(0)} ms (buffered ${d.buffered}); background read: ${r.durationMs} ms (${r.records} records, added ${r.added})`,
    );
  }
  const rawMs = Math.min(...raws);
  const best = kscheds.reduce((a, b) => (b.ms < a.ms ? b : a));
  const bestDefault = Math.min(...defaults.map((d) => d.ms));
  const bestRefill = Math.min(...refills.map((r) => r.durationMs));
  results[name] = {
    rawMs,
    kschedMs: best.ms,
    loadPhaseMs: best.durationMs,
    buffered: best.buffered,
    by: best.by,
    ratio: rawMs / best.ms,
    defaultHorizonMs: bestDefault,
    ratioDefaultHorizon: rawMs / bestDefault,
    refillMs: bestRefill,
    refillRatio: rawMs / bestRefill,
    rawRunsMs: raws,
    kschedRunsMs: kscheds.map((k) => k.ms),
    defaultHorizonRunsMs: defaults.map((d) => d.ms),
    refillRunsMs: refills.map((r) => r.durationMs),
  };
}
writeResult('reload', { records, payloadBytes: 200, heldShare: 0.2, heldDueMs: heldDue, rounds, adapters: results });
