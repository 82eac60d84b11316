/**
 * Dispatch burst: N schedules due in the same second are loaded by a Scheduler; time from its
 * 'loaded' event until the N-th 'dispatched' event (every target and tombstone acknowledged),
 * versus the raw producer of the same client sending the same 2N records (same topics, sizes and
 * headers) in sequential batches of flushBatchSize (1000) records. With and without transactions.
 * ratio = best raw / best ksched over `rounds` alternating runs.
 *
 * A third side, the floor, is the raw producer again while a raw consumer of the same client, on
 * the same thread, reads the tombstones back as they are written: ksched reads its own tombstones
 * too (they are records of its partition), so raw / floor is the ratio a scheduler that did
 * nothing else would reach, and floor / ksched is ksched against it. Like ksched's, the floor's
 * time ends with its last produce, whatever its consumer has still to read.
 *
 * kafkajs only, a fourth side: the raw producer on the adapter's private kafkajs copy, whose
 * produce path allocates less than kafkajs as installed (same bytes on the wire). `ratio` is
 * against kafkajs as installed (what a user producing directly runs); copy / ksched is ksched's
 * own cost, like for like.
 *
 * Each round also records each side's event-loop utilization (ksched's side is bound by its
 * JavaScript thread), garbage-collection pauses (minor + major) and ksched's longest produce call;
 * KSCHED_BENCH_PROFILE=<dir> writes a CPU profile of each side of each round (ksched's from
 * 'loaded' to the last 'dispatched'), or an allocation profile with KSCHED_BENCH_HEAP_PROFILE=1
 * (KSCHED_BENCH_HEAP_PROFILE=survivors: only what outlived the young generation).
 *
 *   node … src/dispatch.ts [--quick] [--schedules 100000] [--rounds 3] [--modes plain,tx]
 */
import perfHooks from 'node:perf_hooks';
import { Header, Scheduler, SCHEMA_VERSION, SourceType, systemClock } from '@ksched/core';
import {
  adapters,
  arg,
  brokers,
  log,
  payload,
  quick,
  recreateTopics,
  scheduleHeaders,
  seed,
  sleep,
  transportFor,
  writeResult,
} from './lib/common.js';
import { rawProduce, type RawRecord } from './lib/raw.js';

interface KschedRun {
  ms: number;
  flushMs: number;
  flushes: number;
  maxFlushMs: number;
  /** Event-loop utilization from 'loaded' to the last 'dispatched'. */
  elu: number;
  /** Garbage-collection pauses from 'loaded' to the last 'dispatched'. */
  gc: { minorMs: number; majorMs: number };
}

const pct = (u: number) => `${Math.round(u * 100)} %`;

/** Garbage-collection pauses on this thread since the last `take()`, ms: minor (scavenges) and major (mark-compact). */
const gc = (() => {
  const { PerformanceObserver, constants } = perfHooks;
  let minor = 0;
  let major = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as unknown as { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MINOR) minor += entry.duration;
      else major += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
  return {
    take(): { minorMs: number; majorMs: number } {
      const out = { minorMs: Math.round(minor), majorMs: Math.round(major) };
      minor = 0;
      major = 0;
      return out;
    },
  };
})();
/**
 * KSCHED_BENCH_GC_MARKS=1: write `gc-mark <side> start|end` lines to stdout around each side's
 * timed part, so that the lines of `node --trace-gc-nvp` (also on stdout) can be summed per side
 * (promoted and surviving bytes: what a side's garbage collection costs come from).
 */
const gcMark = process.env.KSCHED_BENCH_GC_MARKS === '1' ? (label: string) => process.stdout.write(`gc-mark ${label}\n`) : () => {};

/** KSCHED_BENCH_PROFILE=<dir>: write a CPU profile of each side of each round there (ksched: from 'loaded' to the last 'dispatched'). */
const profileDir = process.env.KSCHED_BENCH_PROFILE;

/** Starts the CPU profiler; the function returned stops it and writes the profile. */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector/promises');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const heapProfile = process.env.KSCHED_BENCH_HEAP_PROFILE;
  if (heapProfile === '1' || heapProfile === 'survivors') {
    await session.post('HeapProfiler.enable');
    // '1': every allocation sampled, the ones garbage-collected since included: where the garbage
    // comes from. 'survivors': those a scavenge collected left out, so what is left is what
    // survived the young generation (promoted to the old one, or still live): where the copying
    // and the major collections come from.
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: heapProfile === '1',
    } as never);
    return async (file) => {
      const { profile } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(file.replace('.cpuprofile', '.heapprofile'), JSON.stringify(profile));
      session.disconnect();
    };
  }
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return async (file) => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

const schedules = arg('schedules', quick ? 20_000 : 100_000);
const list = brokers();
const value = payload(200);
const rounds = arg('rounds', quick ? 2 : 3);
const results: Record<string, unknown> = {};
/** `--modes plain,tx`: which runs (default both). */
const modes = (process.argv.includes('--modes') ? process.argv[process.argv.indexOf('--modes') + 1]! : 'plain,tx')
  .split(',')
  .map((m) => m === 'tx');

for (const name of adapters) {
  for (const transactional of modes) {
    const mode = transactional ? 'tx' : 'plain';
    const topic = `bench_burst_${name}_${mode}`;
    const target = `${topic}_target`;
    const rawTopic = `${topic}_raw`;
    const rawTarget = `${topic}_raw_target`;
    // The floor's topics: names as long as the raw ones, so its records are the same size.
    const floorTopic = `${topic}_flr`;
    const floorTarget = `${topic}_flr_target`;
    const floorRuns: number[] = [];
    const copyRuns: number[] = [];
    /** Tombstones the floor's consumer had read when its produce loop ended. */
    const floorRead: number[] = [];
    const rawRuns: number[] = [];
    const rawElu: number[] = [];
    const rawGc: { minorMs: number; majorMs: number }[] = [];
    const kRuns: KschedRun[] = [];
    for (let round = 0; round < rounds; round++) {
      await recreateTopics(list, [topic, `${topic}_states`, target, rawTopic, rawTarget, floorTopic, floorTarget]);
      const dueMs = Math.floor(Date.now() / 1000) * 1000; // all in the same second (now: due at load)
      const headers = scheduleHeaders(dueMs, target);
      await seed(list, topic, schedules, (i) => ({ key: `burst-${i}`, value, headers }));

      // Raw: the same 2N records (target with the envelope's headers + source headers; tombstone with null value).
      const raw: RawRecord[] = [];
      const rawHeaders = scheduleHeaders(dueMs, rawTarget);
      for (let i = 0; i < schedules; i++) {
        const key = `burst-${i}`;
        const src = {
          [Header.sourceTopic]: rawTopic,
          [Header.sourcePartition]: '0',
          [Header.sourceOffset]: String(i),
          [Header.sourceKey]: key,
        };
        raw.push({ topic: rawTarget, key: null, value, headers: { ...rawHeaders, ...src } });
        raw.push({
          topic: rawTopic,
          key,
          value: null,
          headers: {
            ...rawHeaders,
            [Header.schemaVersion]: SCHEMA_VERSION,
            [Header.sourceType]: SourceType.tombstone,
            [Header.sourceOffset]: String(i),
          },
        });
      }
      // The floor: the same records, while a consumer of the same client reads the tombstones back.
      const floor: RawRecord[] = raw.map((r) => ({ ...r, topic: r.topic === rawTarget ? floorTarget : floorTopic }));
      // Alternate the order between modes so neither side always runs first.
      const runRaw = async () => {
        const profiling = profileDir !== undefined ? await startProfile() : undefined;
        const elu0 = performance.eventLoopUtilization();
        gc.take();
        gcMark('raw start');
        const { ms } = await rawProduce(name, list, raw, 1000, transactional);
        gcMark('raw end');
        rawElu.push(performance.eventLoopUtilization(elu0).utilization);
        await sleep(0); // the observer reports the last pauses asynchronously
        rawGc.push(gc.take());
        if (profiling) await profiling(`${profileDir}/raw-${name}-${mode}-${round}.cpuprofile`);
        return ms;
      };
      const runKsched = async () => {
        const scheduler = new Scheduler({
          transport: transportFor(name, list),
          clock: systemClock,
          options: { topics: [topic], groupId: `bench-burst-${name}-${mode}-${Date.now()}`, transactional, flushBatchSize: 1000 },
        });
        let loadedAt = 0;
        let count = 0;
        let flushMs = 0;
        let flushes = 0;
        let maxLate = 0;
        let maxFlushMs = 0;
        const done = new Promise<number>((resolve) => {
          scheduler.on('loaded', () => {
            loadedAt = performance.now();
            elu0 = performance.eventLoopUtilization();
            gc.take();
            gcMark('ksched start');
          });
          scheduler.on('error', (e) => log(`ksched error (${e.phase}): ${String(e.error)}`));
          scheduler.on('flush', (e) => {
            maxFlushMs = Math.max(maxFlushMs, e.durationMs);
            flushMs += e.durationMs;
            flushes++;
          });
          scheduler.on('dispatched', (e) => {
            maxLate = Math.max(maxLate, e.lateMs);
            if (++count === schedules) {
              gcMark('ksched end');
              resolve(performance.now());
            }
          });
        });
        let profiling: Promise<(file: string) => Promise<void>> | undefined;
        let elu0 = performance.eventLoopUtilization();
        if (profileDir !== undefined) scheduler.on('loaded', () => (profiling ??= startProfile()));
        await scheduler.start();
        const end = await done;
        const elu = performance.eventLoopUtilization(elu0).utilization;
        await sleep(0);
        const gcMs = gc.take();
        if (profiling) await (await profiling)(`${profileDir}/ksched-${name}-${mode}-${round}.cpuprofile`);
        await scheduler.stop();
        return { ms: end - loadedAt, flushMs, flushes, maxFlushMs, elu, gc: gcMs };
      };
      // Like for like (kafkajs only): the same raw producer on the adapter's kafkajs copy, whose
      // produce path allocates less than kafkajs as installed (same bytes). raw / ksched is the
      // ratio users get against producing with kafkajs themselves; copy / ksched is ksched's own cost.
      const runCopy = async () => {
        if (name !== 'kafkajs') return undefined;
        const { ms } = await rawProduce(name, list, raw, 1000, transactional, undefined, 'adapter-copy');
        return ms;
      };
      const runFloor = async () => {
        const { ms, readBack } = await rawProduce(name, list, floor, 1000, transactional, floorTopic);
        floorRead.push(readBack ?? 0);
        return ms;
      };
      let rawMs: number;
      let floorMs: number;
      let copyMs: number | undefined;
      let k: KschedRun;
      if ((round + (transactional ? 1 : 0)) % 2 === 1) {
        k = await runKsched();
        await sleep(500);
        rawMs = await runRaw();
        await sleep(500);
        floorMs = await runFloor();
        await sleep(500);
        copyMs = await runCopy();
      } else {
        copyMs = await runCopy();
        await sleep(500);
        rawMs = await runRaw();
        await sleep(500);
        floorMs = await runFloor();
        await sleep(500);
        k = await runKsched();
      }
      rawRuns.push(rawMs);
      floorRuns.push(floorMs);
      if (copyMs !== undefined) copyRuns.push(copyMs);
      kRuns.push(k);
      log(
        `${name} ${mode} round ${round + 1}: raw ${rawMs.toFixed(0)} ms (event loop ${pct(rawElu.at(-1)!)} busy, gc ${rawGc.at(-1)!.minorMs} + ${rawGc.at(-1)!.majorMs} ms), ` +
          `raw with read-back ${floorMs.toFixed(0)} ms (${floorRead.at(-1)} tombstones read by then), ` +
          (copyMs !== undefined ? `raw on the adapter's kafkajs ${copyMs.toFixed(0)} ms, ` : '') +
          `ksched ${k.ms.toFixed(0)} ms (${pct(k.elu)} busy, gc ${k.gc.minorMs} + ${k.gc.majorMs} ms, longest produce call ${k.maxFlushMs} ms)`,
      );
    }
    const rawMs = Math.min(...rawRuns);
    const floorMs = Math.min(...floorRuns);
    const copyMs = copyRuns.length > 0 ? Math.min(...copyRuns) : undefined;
    const k = kRuns.reduce((x, y) => (y.ms < x.ms ? y : x));
    log(
      `${name} ${mode}: raw ${rawMs.toFixed(0)} ms, raw with read-back ${floorMs.toFixed(0)} ms, ksched ${k.ms.toFixed(0)} ms (${k.flushes} flushes, ${k.flushMs} ms in produce), ` +
        `ratio ${(rawMs / k.ms).toFixed(2)} (read-back ceiling ${(rawMs / floorMs).toFixed(2)}, ksched against it ${(floorMs / k.ms).toFixed(2)}` +
        (copyMs !== undefined
          ? `; like for like, raw on the adapter's kafkajs ${copyMs.toFixed(0)} ms: ${(copyMs / k.ms).toFixed(2)})`
          : ')'),
    );
    results[`${name}_${mode}`] = {
      adapter: name,
      transactional,
      rawMs,
      kschedMs: k.ms,
      kschedProduceMs: k.flushMs,
      flushes: k.flushes,
      ratio: rawMs / k.ms,
      /** The raw producer with a raw consumer reading the tombstones back, ms (best round). */
      floorMs,
      /** raw / floor: the ratio a scheduler that does nothing but read its tombstones back would reach. */
      readBackCeiling: rawMs / floorMs,
      /** floor / ksched: the ratio against that floor. */
      floorRatio: floorMs / k.ms,
      floorRunsMs: floorRuns,
      /** kafkajs: the raw producer on the adapter's kafkajs copy, ms (best round), and copy / ksched: ksched's own cost, like for like. */
      ...(copyMs !== undefined ? { adapterCopyRawMs: copyMs, likeForLikeRatio: copyMs / k.ms, adapterCopyRawRunsMs: copyRuns } : {}),
      floorReadAtEnd: floorRead,
      rawRunsMs: rawRuns,
      kschedRunsMs: kRuns.map((r) => r.ms),
      rawEventLoopUtilization: rawElu,
      kschedEventLoopUtilization: kRuns.map((r) => r.elu),
      kschedLongestCallMs: kRuns.map((r) => r.maxFlushMs),
      rawGcMs: rawGc,
      kschedGcMs: kRuns.map((r) => r.gc),
    };
  }
}
writeResult('dispatch', { schedules, payloadBytes: 200, flushBatchSize: 1000, rounds, runs: results });
