/**
 * Child process of partitions.ts: one Scheduler owning every partition of the schedules topic, in
 * a process of its own so that its threads, sockets and memory are counted alone. Reports over
 * IPC: the time from `start()` to every partition `loaded`, what the process holds after the load
 * (and at its peak during it), then, while the parent's driver feeds and observes, the engine side
 * of the dispatch (flushes, event-loop delay), what the process holds while dispatching, and the
 * time `stop()` takes.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Scheduler, systemClock } from '@ksched/core';
import { processCpu, sleep, summarize, transportFor, type AdapterName } from './lib/common.js';
import { brokerPort, peakSampler, sample } from './lib/proc.js';

export interface MemberGo {
  brokers: string[];
  adapter: AdapterName;
  topic: string;
  groupId: string;
  transactional: boolean;
  fencing: 'partition' | 'group';
  partitions: number;
}

const send = (m: unknown) => new Promise<void>((r) => process.send!(m, () => r()));
const messages: { type: string }[] = [];
let wake: () => void = () => {};
process.on('message', (m) => {
  messages.push(m as { type: string });
  wake();
});
async function next(type: string): Promise<void> {
  for (;;) {
    const i = messages.findIndex((m) => m.type === type);
    if (i >= 0) {
      messages.splice(i, 1);
      return;
    }
    await new Promise<void>((r) => (wake = r));
  }
}
const cfg = await new Promise<MemberGo>((resolve) => process.once('message', (m) => resolve(m as MemberGo)));
const port = brokerPort(cfg.brokers);
const gc = (globalThis as { gc?: () => void }).gc;

gc?.();
const before = sample(port);
const scheduler = new Scheduler({
  transport: transportFor(cfg.adapter, cfg.brokers),
  clock: systemClock,
  options: { topics: [cfg.topic], groupId: cfg.groupId, transactional: cfg.transactional, transactionalFencing: cfg.fencing },
});
const loadedAt = new Map<number, number>();
const loadDurations: number[] = [];
let buffered = 0;
let errors = 0;
let allLoaded: () => void = () => {};
const everyLoaded = new Promise<void>((r) => (allLoaded = r));
const t0 = performance.now();
scheduler.on('loaded', (e) => {
  if (loadedAt.has(e.partition)) return;
  loadedAt.set(e.partition, performance.now() - t0);
  loadDurations.push(e.durationMs);
  buffered += e.buffered;
  if (loadedAt.size === cfg.partitions) allLoaded();
});
scheduler.on('error', (e) => {
  if (errors++ < 5) console.error(`[member ${cfg.adapter}] error on partition ${e.partition} (${e.phase}):`, e.error);
});
const flushMs: number[] = [];
const flushRecords: number[] = [];
scheduler.on('flush', (e) => {
  flushMs.push(e.durationMs);
  flushRecords.push(e.records);
});

const peak = peakSampler(port);
await scheduler.start();
const startReturnedMs = performance.now() - t0;
await Promise.race([
  everyLoaded,
  sleep(600_000).then(() => {
    throw new Error(`${loadedAt.size} of ${cfg.partitions} partitions loaded after 600 s`);
  }),
]);
const loadMs = performance.now() - t0;
const peakDuringLoad = peak.stop();
// Readers opened for the load close after it; let them go before counting what stays.
await sleep(2000);
gc?.();
const afterLoad = sample(port);
const byPartition = summarize([...loadedAt.values()]);
await send({
  type: 'loaded',
  startReturnedMs,
  loadMs,
  firstLoadedMs: byPartition.min,
  medianLoadedMs: byPartition.p50,
  loadDurationMs: summarize(loadDurations),
  buffered,
  errors,
  before,
  peakDuringLoad,
  afterLoad,
});

// Dispatch: the parent's driver feeds and observes; the member records its side.
await next('measure');
flushMs.length = 0;
flushRecords.length = 0;
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
loopDelay.enable();
const elu0 = performance.eventLoopUtilization();
const cpu = processCpu();
const peakDispatch = peakSampler(port, 200);
await next('stop');
const duringDispatch = peakDispatch.stop();
loopDelay.disable();
const load = { elu: performance.eventLoopUtilization(elu0).utilization, cpuCores: cpu() };
const s0 = performance.now();
await scheduler.stop();
const stopMs = performance.now() - s0;
await send({
  type: 'done',
  flush: { count: flushMs.length, durationMs: summarize(flushMs), records: summarize(flushRecords) },
  eventLoopDelayMs: { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 },
  load,
  peakDuringDispatch: duringDispatch,
  stopMs,
  errors,
});
process.exit(0);
