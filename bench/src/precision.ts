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
 *   node … src/precision.ts [--quick] [--rate 1000] [--seconds 60] [--tick 15000]
 */
import { fork } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Scheduler, systemClock } from '@ksched/core';
import { adapters, arg, brokers, log, quick, recreateTopics, summarize, transportFor, writeResult } from './lib/common.js';

const rate = arg('rate', 1000);
const seconds = arg('seconds', quick ? 15 : 60);
const tickMs = arg('tick', 15_000);
const leadMs = 2000;
const total = rate * seconds;
const list = brokers();
const results: Record<string, unknown> = {};

interface DriverResult {
  observed: number;
  early: number;
  lateness: number[];
  dues: number[];
  createLag: number[];
  driverLoopDelayP99Ms: number;
}

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
  await scheduler.start();
  await loaded;

  const loopDelay = monitorEventLoopDelay({ resolution: 5 });
  loopDelay.enable();
  const driver = fork(fileURLToPath(new URL('./precision-driver.ts', import.meta.url)), [], {
    execArgv: ['--conditions=@ksched/source', '--import', 'tsx'],
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const done = new Promise<DriverResult>((resolve, reject) => {
    driver.once('message', (m) => resolve(m as DriverResult));
    driver.once('exit', (code) => reject(new Error(`precision driver exited with ${code}`)));
  });
  driver.send({ brokers: list, topic, target, rate, total, leadMs });
  const d = await done;
  loopDelay.disable();
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
  log(
    `${name}: observed ${d.observed}/${total}, lateness p50 ${s.p50} p99 ${s.p99} max ${s.max} ms, early ${d.early} ` +
      `(engine-reported p50 ${eng.p50} p99 ${eng.p99}; CreateTime−due p50 ${c.p50} p99 ${c.p99}; scheduler event-loop delay p99 ${loop.p99.toFixed(1)} ms); ` +
      `${tickMs / 1000} s tick: p50 ${t.p50} p99 ${t.p99} max ${t.max}`,
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
  };
}
writeResult('precision', { rate, seconds, leadMs, tickMs, adapters: results });
