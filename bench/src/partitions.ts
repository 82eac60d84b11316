/**
 * Many partitions: one Scheduler owning a 60-partition schedules topic, transactional (one
 * transactional producer per partition), on rdkafka also transactional with one producer for the
 * member fenced by the group (KIP-447, `transactionalFencing: 'group'`), and, as the baseline, the
 * same without transactions. Per
 * adapter and mode, in a child process of its own (partitions-member.ts) so that what it holds is
 * counted alone, on a fresh topic pre-seeded with 1,000 schedules per partition (quick: 200), due
 * 30 to 40 min ahead (inside the default 1 h window: each is read and buffered, none is due):
 *
 * - load: from `scheduler.start()` to the last partition's `loaded` event;
 * - the process after the load (readers closed, after a GC): RSS, heap used, established TCP
 *   connections to the broker port (its socket fds matched in /proc/self/net/tcp), OS threads
 *   (/proc/self/status); and the peak of each while loading;
 * - precision: 1,000 schedules due per second (quick: for 10 s, full: 30 s) spread over the 60
 *   partitions, each produced 2 s ahead by the precision driver (precision-driver.ts, a child
 *   process), which observes the target topic read-committed: lateness = observed − due, early =
 *   CreateTime or observation before due; with the driver's own lag, the member's flushes and
 *   event-loop delay; the peak threads / connections / RSS while dispatching; `stop()` time.
 *
 *   node … src/partitions.ts [--quick] [--partitions 60] [--per-partition 1000] [--rate 1000] [--seconds 30]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  adapters,
  arg,
  brokers,
  deleteTopics,
  log,
  machineCpu,
  payload,
  quick,
  recreateTopics,
  scheduleHeaders,
  seedFast,
  summarize,
  writeResult,
  type AdapterName,
} from './lib/common.js';
import { driverSummary, runDriver, tail } from './lib/driver.js';
import type { ProcSample } from './lib/proc.js';
import type { MemberGo } from './partitions-member.js';

const partitions = arg('partitions', 60);
const perPartition = arg('per-partition', quick ? 200 : 1000);
const rate = arg('rate', 1000);
const seconds = arg('seconds', quick ? 10 : 30);
const leadMs = 2000;
const total = rate * seconds;
const list = brokers();
const value = payload(200);

interface Loaded {
  startReturnedMs: number;
  loadMs: number;
  firstLoadedMs: number;
  medianLoadedMs: number;
  loadDurationMs: ReturnType<typeof summarize>;
  buffered: number;
  errors: number;
  before: ProcSample;
  peakDuringLoad: ProcSample;
  afterLoad: ProcSample;
}

const round = (s: ProcSample) => ({ ...s, rssMiB: Math.round(s.rssMiB), heapUsedMiB: Math.round(s.heapUsedMiB) });

/** `plain`: no transactions; `tx`: one transactional producer per partition; `txg`: one per member, fenced by the group (KIP-447). */
type Mode = 'plain' | 'tx' | 'txg';

async function runMode(adapter: AdapterName, mode: Mode): Promise<Record<string, unknown>> {
  const transactional = mode !== 'plain';
  const topic = `bench_parts_${adapter}_${mode}`;
  const target = `${topic}_target`;
  await recreateTopics(list, [topic, `${topic}_states`], partitions);
  await recreateTopics(list, [target]);
  const dueFrom = Date.now() + 30 * 60_000;
  const seeded = partitions * perPartition;
  await seedFast(list, topic, seeded, (i) => ({
    key: `seed-${i}`,
    value,
    headers: scheduleHeaders(dueFrom + Math.floor((i * 600_000) / seeded), target),
    partition: i % partitions,
  }));

  const member = fork(fileURLToPath(new URL('./partitions-member.ts', import.meta.url)), [], {
    execArgv: ['--expose-gc', '--conditions=@ksched/source', '--import', 'tsx'],
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const inbox: { type: string }[] = [];
  let wake: () => void = () => {};
  let exited: number | null | undefined;
  member.on('message', (m) => {
    inbox.push(m as { type: string });
    wake();
  });
  member.on('exit', (code) => {
    exited = code;
    wake();
  });
  const next = async <T>(type: string): Promise<T> => {
    for (;;) {
      const i = inbox.findIndex((m) => m.type === type);
      if (i >= 0) return inbox.splice(i, 1)[0] as T;
      if (exited !== undefined) throw new Error(`partitions member (${adapter} ${mode}) exited with ${exited} before '${type}'`);
      await new Promise<void>((r) => (wake = r));
    }
  };
  const go: MemberGo = {
    brokers: list,
    adapter,
    topic,
    groupId: `bench-parts-${adapter}-${mode}-${Date.now()}`,
    transactional,
    fencing: mode === 'txg' ? 'group' : 'partition',
    partitions,
  };
  member.send(go);
  const loaded = await next<Loaded>('loaded');
  const a = loaded.afterLoad;
  log(
    `${adapter} ${mode}: ${partitions} partitions (${seeded} schedules) loaded ${Math.round(loaded.loadMs)} ms after start() ` +
      `(start() returned after ${Math.round(loaded.startReturnedMs)} ms, first loaded ${Math.round(loaded.firstLoadedMs)} ms, ${loaded.buffered} buffered, ${loaded.errors} errors); ` +
      `after load: RSS ${a.rssMiB.toFixed(0)} MiB, heap ${a.heapUsedMiB.toFixed(0)} MiB, ${a.connections} connections, ${a.threads} threads ` +
      `(peak while loading: ${loaded.peakDuringLoad.connections} connections, ${loaded.peakDuringLoad.threads} threads, RSS ${loaded.peakDuringLoad.rssMiB.toFixed(0)} MiB; ` +
      `before: ${loaded.before.connections} connections, ${loaded.before.threads} threads, RSS ${loaded.before.rssMiB.toFixed(0)} MiB)`,
  );

  member.send({ type: 'measure' });
  const machine = machineCpu();
  const d = await runDriver({ brokers: list, topic, target, rate, total, leadMs, partitions });
  const machineCpuBusy = machine();
  member.send({ type: 'stop' });
  const done = await next<{
    flush: { count: number; durationMs: ReturnType<typeof summarize>; records: ReturnType<typeof summarize> };
    eventLoopDelayMs: { p50: number; p99: number; max: number };
    load: { elu: number; cpuCores: number };
    peakDuringDispatch: ProcSample;
    stopMs: number;
    errors: number;
  }>('done');
  await new Promise<void>((r) => (exited !== undefined ? r() : member.once('exit', () => r())));
  const s = summarize(d.lateness);
  const driver = driverSummary(d);
  const slowest = tail(d);
  log(
    `${adapter} ${mode}: ${rate}/s over ${partitions} partitions for ${seconds} s: observed ${d.observed}/${total}, lateness p50 ${s.p50} p99 ${s.p99} max ${s.max} ms, early ${d.early}; ` +
      `${done.flush.count} flushes of p50 ${done.flush.records.p50} records, p50 ${done.flush.durationMs.p50} p99 ${done.flush.durationMs.p99} ms; ` +
      `member event-loop delay p99 ${done.eventLoopDelayMs.p99.toFixed(1)} ms, ELU ${done.load.elu.toFixed(2)}, ${done.load.cpuCores.toFixed(2)} cores; machine CPUs ${(machineCpuBusy * 100).toFixed(0)} % busy; ` +
      `slowest 1 %: ${slowest.latenessMs} ms = CreateTime−due ${slowest.createMinusDueMs} + observed−CreateTime ${slowest.observedMinusCreateMs}; ` +
      `driver: feeder lag p99 ${driver.feedLagMs.p99} ms, min ahead ${driver.minAheadMs} ms, event-loop delay p99 ${driver.loopDelayP99Ms.toFixed(1)} ms; ` +
      `while dispatching: ${done.peakDuringDispatch.connections} connections, ${done.peakDuringDispatch.threads} threads, RSS ${done.peakDuringDispatch.rssMiB.toFixed(0)} MiB; stop() ${Math.round(done.stopMs)} ms`,
  );
  await deleteTopics(list, [topic, `${topic}_states`, target]);
  return {
    adapter,
    transactional,
    fencing: mode === 'txg' ? 'group' : 'partition',
    seeded,
    loadMs: loaded.loadMs,
    startReturnedMs: loaded.startReturnedMs,
    firstLoadedMs: loaded.firstLoadedMs,
    medianLoadedMs: loaded.medianLoadedMs,
    loadDurationMs: loaded.loadDurationMs,
    buffered: loaded.buffered,
    before: round(loaded.before),
    peakDuringLoad: round(loaded.peakDuringLoad),
    afterLoad: round(loaded.afterLoad),
    peakDuringDispatch: round(done.peakDuringDispatch),
    stopMs: done.stopMs,
    errors: done.errors,
    precision: {
      scheduled: total,
      observed: d.observed,
      early: d.early,
      lateness: s,
      createTimeMinusDue: summarize(d.createLag),
      slowest,
      driver,
      flush: done.flush,
      eventLoopDelayMs: done.eventLoopDelayMs,
      load: { ...done.load, machineCpuBusy },
    },
  };
}

const runs: Record<string, unknown> = {};
for (const adapter of adapters) {
  const t0 = performance.now();
  // The baseline first: the transactional run's producers are the new thing; each mode has its own topic.
  // Fencing by the group needs an adapter whose client sends group metadata with a transactional offset commit (node-rdkafka).
  const modes = (adapter === 'rdkafka' ? ['plain', 'tx', 'txg'] : ['plain', 'tx']).filter(
    (m) => !process.env['KSCHED_BENCH_PARTITION_MODES'] || process.env['KSCHED_BENCH_PARTITION_MODES'].split(',').includes(m),
  ) as Mode[];
  for (const mode of modes) runs[`${adapter}_${mode}`] = await runMode(adapter, mode);
  log(`${adapter}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
writeResult('partitions', { partitions, perPartition, rate, seconds, leadMs, runs });
