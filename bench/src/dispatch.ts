/**
 * Dispatch burst: N schedules due in the same second are loaded by a Scheduler; time from its
 * 'loaded' event until the N-th 'dispatched' event (every target and tombstone acknowledged),
 * versus the raw producer of the same client sending the same 2N records (same topics, sizes and
 * headers) in sequential batches of flushBatchSize (1000) records. With and without transactions.
 * ratio = best raw / best ksched over `rounds` alternating runs.
 *
 *   node … src/dispatch.ts [--quick] [--schedules 100000]
 */
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

const schedules = arg('schedules', quick ? 20_000 : 100_000);
const list = brokers();
const value = payload(200);
const rounds = arg('rounds', quick ? 2 : 3);
const results: Record<string, unknown> = {};

for (const name of adapters) {
  for (const transactional of [false, true]) {
    const mode = transactional ? 'tx' : 'plain';
    const topic = `bench_burst_${name}_${mode}`;
    const target = `${topic}_target`;
    const rawTopic = `${topic}_raw`;
    const rawTarget = `${topic}_raw_target`;
    const rawRuns: number[] = [];
    const kRuns: { ms: number; flushMs: number; flushes: number }[] = [];
    for (let round = 0; round < rounds; round++) {
      await recreateTopics(list, [topic, `${topic}_states`, target, rawTopic, rawTarget]);
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
      // Alternate the order between modes so neither side always runs first.
      const runRaw = async () => rawProduce(name, list, raw, 1000, transactional);
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
        const done = new Promise<number>((resolve) => {
          scheduler.on('loaded', () => (loadedAt = performance.now()));
          scheduler.on('flush', (e) => {
            flushMs += e.durationMs;
            flushes++;
          });
          scheduler.on('dispatched', (e) => {
            maxLate = Math.max(maxLate, e.lateMs);
            if (++count === schedules) resolve(performance.now());
          });
        });
        await scheduler.start();
        const end = await done;
        await scheduler.stop();
        return { ms: end - loadedAt, flushMs, flushes };
      };
      let rawMs: number;
      let k: { ms: number; flushMs: number; flushes: number };
      if ((round + (transactional ? 1 : 0)) % 2 === 1) {
        k = await runKsched();
        await sleep(500);
        rawMs = await runRaw();
      } else {
        rawMs = await runRaw();
        await sleep(500);
        k = await runKsched();
      }
      rawRuns.push(rawMs);
      kRuns.push(k);
      log(`${name} ${mode} round ${round + 1}: raw ${rawMs.toFixed(0)} ms, ksched ${k.ms.toFixed(0)} ms`);
    }
    const rawMs = Math.min(...rawRuns);
    const k = kRuns.reduce((x, y) => (y.ms < x.ms ? y : x));
    log(
      `${name} ${mode}: raw ${rawMs.toFixed(0)} ms, ksched ${k.ms.toFixed(0)} ms (${k.flushes} flushes, ${k.flushMs} ms in produce), ratio ${(rawMs / k.ms).toFixed(2)}`,
    );
    results[`${name}_${mode}`] = {
      adapter: name,
      transactional,
      rawMs,
      kschedMs: k.ms,
      kschedProduceMs: k.flushMs,
      flushes: k.flushes,
      ratio: rawMs / k.ms,
      rawRunsMs: rawRuns,
      kschedRunsMs: kRuns.map((r) => r.ms),
    };
  }
}
writeResult('dispatch', { schedules, payloadBytes: 200, flushBatchSize: 1000, rounds, runs: results });
