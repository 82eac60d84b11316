/**
 * Precision: schedules due at a steady rate (1,000/s) for D seconds are produced 2 s ahead of
 * their due time while a Scheduler (one partition) runs; a consumer of the target topic records
 * when each target is observed. lateness = observed − schedule_target_epoch_ms. early = targets
 * whose CreateTime (set by the producing client when the engine sent it) or observation precedes
 * the due time. Feeder and observer run in a child process (precision-driver.ts), so the
 * scheduler's event loop is its own.
 *
 * Reference-style 15 s tick, emulated from the same run: a scheduler that dispatches on a fixed
 * tick (every 15 s from when the partition loaded) dispatches each schedule at the first tick at
 * or after its due time; its lateness is that wait plus the pipeline delay this run measured for
 * the same schedule (produce + observe).
 *
 * Also recorded, to tell where the lateness comes from: the driver's own lag (feeder behind its
 * plan, observer behind CreateTime, its event-loop delay), the scheduler's event-loop delay and
 * its flushes (duration and records per produce call or transaction).
 *
 *   node … src/precision.ts [--quick] [--rate 1000] [--seconds 60] [--tick 15000] [--out precision]
 *
 * `--out` names the results file (results/<out>.json): run.ts's `precision5k` is
 * `--rate 5000 --out precision5k`, so results/precision.json stays the 1,000/s run.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Scheduler, systemClock } from '@ksched/core';
import {
  adapters,
  arg,
  argText,
  brokers,
  log,
  machineCpu,
  processCpu,
  quick,
  recreateTopics,
  summarize,
  transportFor,
  writeResult,
} from './lib/common.js';
import { driverSummary, runDriver, tail } from './lib/driver.js';

const rate = arg('rate', 1000);
const seconds = arg('seconds', quick ? 15 : 60);
const tickMs = arg('tick', 15_000);
const out = argText('out', 'precision');
const leadMs = 2000;
const total = rate * seconds;
const list = brokers();
const results: Record<string, unknown> = {};

for (const name of adapters) {
  const topic = `bench_prec_${name}`;
  const target = `${topic}_target`;
  await recreateTopics(list, [topic, `${topic}_states`, target]);

  const scheduler = new Scheduler({
    transport: transportFor(name, list),
    clock: systemClock,
    options: { topics: [topic], groupId: `bench-prec-${name}-${Date.now()}` },
  });
  let loadedAt = 0;
  const loaded = new Promise<void>((r) => scheduler.on('loaded', () => ((loadedAt = Date.now()), r())));
  const engineLate: number[] = [];
  scheduler.on('dispatched', (e) => engineLate.push(e.lateMs));
  const flushMs: number[] = [];
  const flushRecords: number[] = [];
  scheduler.on('flush', (e) => {
    flushMs.push(e.durationMs);
    flushRecords.push(e.records);
  });
  await scheduler.start();
  await loaded;

  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const elu0 = performance.eventLoopUtilization();
  const cpu = processCpu();
  const machine = machineCpu();
  const d = await runDriver({ brokers: list, topic, target, rate, total, leadMs });
  loopDelay.disable();
  const load = {
    schedulerElu: performance.eventLoopUtilization(elu0).utilization,
    schedulerCpuCores: cpu(),
    machineCpuBusy: machine(),
  };
  await scheduler.stop();

  // Tick emulation: the first tick (every tickMs from loaded) at or after each due time, plus the
  // pipeline delay measured for that same schedule.
  const tickLate = d.lateness.map((late, i) => {
    const due = d.dues[i]!;
    const tick = loadedAt + Math.ceil((due - loadedAt) / tickMs) * tickMs;
    return tick - due + Math.max(0, late);
  });
  const s = summarize(d.lateness);
  const t = summarize(tickLate);
  const c = summarize(d.createLag);
  const eng = summarize(engineLate);
  const loop = { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
  const driver = driverSummary(d);
  const flush = { count: flushMs.length, durationMs: summarize(flushMs), records: summarize(flushRecords) };
  const slowest = tail(d);
  // Per second of due time: p99 and max lateness, and p99 of CreateTime − due (a start-up
  // transient or a one-off stall shows here, a steady backlog as a rising series).
  const firstDue = d.dues.reduce((a, b) => Math.min(a, b), Number.POSITIVE_INFINITY); // no spread: 150,000 dues overflow the stack
  const bySecond: { p99: number; max: number; createP99: number }[] = [];
  {
    const late: number[][] = [];
    const created: number[][] = [];
    d.dues.forEach((due, i) => {
      const sec = Math.floor((due - firstDue) / 1000);
      (late[sec] ??= []).push(d.lateness[i]!);
      (created[sec] ??= []).push(d.createLag[i]!);
    });
    for (let sec = 0; sec < late.length; sec++) {
      const l = summarize(late[sec] ?? []);
      bySecond.push({ p99: l.p99, max: l.max, createP99: summarize(created[sec] ?? []).p99 });
    }
  }
  log(
    `${name}: observed ${d.observed}/${total}, lateness p50 ${s.p50} p99 ${s.p99} max ${s.max} ms, early ${d.early} ` +
      `(engine-reported p50 ${eng.p50} p99 ${eng.p99}; CreateTime−due p50 ${c.p50} p99 ${c.p99}; scheduler event-loop delay p99 ${loop.p99.toFixed(1)} ms; ` +
      `${flush.count} flushes of p50 ${flush.records.p50} records, p50 ${flush.durationMs.p50} p99 ${flush.durationMs.p99} ms); ` +
      `${tickMs / 1000} s tick: p50 ${t.p50} p99 ${t.p99} max ${t.max}`,
  );
  log(
    `${name}: driver: feeder lag p50 ${driver.feedLagMs.p50} p99 ${driver.feedLagMs.p99} max ${driver.feedLagMs.max} ms over ${driver.requests} requests, ` +
      `min ahead of due ${driver.minAheadMs} ms; observed−CreateTime p50 ${driver.observedMinusCreate.p50} p99 ${driver.observedMinusCreate.p99} ms; ` +
      `driver event-loop delay p99 ${driver.loopDelayP99Ms.toFixed(1)} ms, ${driver.cpuCores.toFixed(2)} cores`,
  );
  log(`${name}: lateness p99 by second of due time: ${bySecond.map((b) => b.p99).join(' ')}`);
  log(
    `${name}: slowest 1 %: lateness ${slowest.latenessMs} ms = CreateTime−due ${slowest.createMinusDueMs} + observed−CreateTime ${slowest.observedMinusCreateMs}; ` +
      `scheduler event-loop utilization ${load.schedulerElu.toFixed(2)}, ${load.schedulerCpuCores.toFixed(2)} cores; machine CPUs ${(load.machineCpuBusy * 100).toFixed(0)} % busy`,
  );
  results[name] = {
    scheduled: total,
    observed: d.observed,
    early: d.early,
    lateness: s,
    createTimeMinusDue: c,
    engineLateMs: eng,
    tick: { tickMs, ...t },
    schedulerEventLoopDelayMs: loop,
    driverEventLoopDelayP99Ms: d.driverLoopDelayP99Ms,
    flush,
    driver,
    slowest,
    load,
    bySecond,
  };
}
writeResult(out, { rate, seconds, leadMs, tickMs, adapters: results });
