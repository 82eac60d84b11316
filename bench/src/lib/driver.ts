/** Runs precision-driver.ts (the feeder and observer child process) and summarizes what it saw. */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { summarize } from './common.js';

export interface DriverGo {
  brokers: string[];
  topic: string;
  target: string;
  rate: number;
  total: number;
  leadMs: number;
  /** Partitions of the schedules topic to spread the schedules over (default 1: partition 0). */
  partitions?: number;
}

export interface DriverResult {
  observed: number;
  early: number;
  /** Per observed target: observed − due, ms. */
  lateness: number[];
  dues: number[];
  /** Per observed target: CreateTime − due, ms. */
  createLag: number[];
  driverLoopDelayP99Ms: number;
  /** Per produce request of the feeder: acknowledged − (first due − leadMs), ms. */
  feedLag: number[];
  /** Smallest (due − acknowledged) of any schedule fed, ms. */
  minAheadMs: number;
  requests: number;
  /** Cores the driver process used while feeding and observing. */
  cpuCores: number;
}

/** Forks the driver, sends it `go`, resolves with its result. */
export async function runDriver(go: DriverGo): Promise<DriverResult> {
  const driver = fork(fileURLToPath(new URL('../precision-driver.ts', import.meta.url)), [], {
    execArgv: ['--conditions=@ksched/source', '--import', 'tsx'],
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const done = new Promise<DriverResult>((resolve, reject) => {
    driver.once('message', (m) => resolve(m as DriverResult));
    driver.once('exit', (code) => reject(new Error(`precision driver exited with ${code}`)));
  });
  driver.send(go);
  return done;
}

/** The driver's own figures: was the feeder on time, how long the observer took after CreateTime. */
export function driverSummary(d: DriverResult) {
  const feed = summarize(d.feedLag);
  return {
    feedLagMs: { p50: feed.p50, p99: feed.p99, max: feed.max },
    minAheadMs: d.minAheadMs,
    requests: d.requests,
    /** observed − CreateTime of the target: broker + observer (fetch wait, decode), and in transactional mode the commit. */
    observedMinusCreate: summarize(d.lateness.map((late, i) => late - d.createLag[i]!)),
    loopDelayP99Ms: d.driverLoopDelayP99Ms,
    cpuCores: d.cpuCores,
  };
}

/**
 * Where the slowest 1 % of the targets lost their time: the mean of CreateTime − due (before the
 * engine's produce call: waiting for the timer, the event loop, or the flush in flight) and of
 * observed − CreateTime (the produce call or transaction, the broker, the observer).
 */
export function tail(d: DriverResult) {
  const idx = d.lateness.map((_, i) => i).sort((a, b) => d.lateness[b]! - d.lateness[a]!);
  const top = idx.slice(0, Math.max(1, Math.ceil(idx.length / 100)));
  const mean = (f: (i: number) => number) => Math.round(top.reduce((s, i) => s + f(i), 0) / top.length);
  return {
    n: top.length,
    latenessMs: mean((i) => d.lateness[i]!),
    createMinusDueMs: mean((i) => d.createLag[i]!),
    observedMinusCreateMs: mean((i) => d.lateness[i]! - d.createLag[i]!),
  };
}
