/**
 * Midnight: the engine used to reload every partition at UTC midnight (a full re-read during which
 * nothing was dispatched); it now keeps a moving window. This measure puts a Scheduler (default
 * options) on a clock shifted so that it starts at 23:59:30 UTC (an offset added to Date.now;
 * timers are real), on a fresh one-partition schedules topic holding F envelopes due on later
 * days (the filler: 1,000,000, quick 100,000), then 500 due in the last 15 s before midnight and
 * 2,000 due in the first 20 s after it. A plain kafkajs consumer of the target topic (in this
 * process, started before the scheduler) records when each target arrives.
 *
 * lateness = arrival (shifted clock) − schedule_target_epoch_ms, for the after-midnight group;
 * early = targets whose arrival or CreateTime (+ the offset) precedes their due time; missing =
 * after-midnight schedules not observed 15 s after the last one was due; duplicates = keys
 * observed twice. Target: p99 ≤ 20 ms, max ≤ 100 ms, early 0, missing 0.
 *
 *   node … src/midnight.ts [--quick] [--filler 1000000] [--start-before 30000]
 */
import { DAY_MS, Header, Scheduler, systemClock, type Clock } from '@ksched/core';
import {
  adapters,
  arg,
  brokers,
  deleteTopics,
  kafka,
  log,
  payload,
  quick,
  recreateTopics,
  scheduleHeaders,
  seedFast,
  sleep,
  summarize,
  transportFor,
  writeResult,
} from './lib/common.js';

const filler = arg('filler', quick ? 100_000 : 1_000_000);
const startBeforeMs = arg('start-before', 30_000);
const AFTER = 2000;
const AFTER_SPAN_MS = 20_000;
const BEFORE = 500;
const BEFORE_SPAN_MS = 15_000;
const GRACE_MS = 15_000;
const list = brokers();
const value = payload(200);
const results: Record<string, unknown> = {};

for (const name of adapters) {
  const topic = `bench_midnight_${name}_${Date.now()}`;
  const target = `${topic}_target`;
  await recreateTopics(list, [topic, `${topic}_states`, target]);
  // Any UTC midnight will do: the scheduler's clock is shifted to reach it 30 s after its start.
  const midnight = Math.ceil(Date.now() / DAY_MS) * DAY_MS + DAY_MS;
  const afterDue = (i: number) => midnight + Math.floor((i * AFTER_SPAN_MS) / AFTER);
  const beforeDue = (i: number) => midnight - BEFORE_SPAN_MS + Math.floor((i * BEFORE_SPAN_MS) / BEFORE);

  let t0 = performance.now();
  await seedFast(list, topic, filler + BEFORE + AFTER, (i) => {
    if (i < filler)
      return {
        key: `fill-${i}`,
        value,
        headers: scheduleHeaders(midnight + DAY_MS * (1 + (i % 30)) + (i % 86_400) * 1000, target),
      };
    const j = i - filler;
    return j < BEFORE
      ? { key: `before-${j}`, value, headers: scheduleHeaders(beforeDue(j), target) }
      : { key: `after-${j - BEFORE}`, value, headers: scheduleHeaders(afterDue(j - BEFORE), target) };
  });
  const seedMs = performance.now() - t0;
  log(`${name}: seeded ${filler} + ${BEFORE} + ${AFTER} envelopes into ${topic} in ${(seedMs / 1000).toFixed(1)} s`);

  let offset = 0;
  const clock: Clock = { now: () => Date.now() + offset, setTimeout: systemClock.setTimeout, clearTimeout: systemClock.clearTimeout };

  // Observer of the targets.
  const seen = new Map<string, number>();
  const lateness = { before: [] as number[], after: [] as number[] };
  let early = 0;
  let earlyAfter = 0;
  let allSeen: () => void = () => {};
  const allDone = new Promise<void>((r) => (allSeen = r));
  const observer = kafka(list).consumer({ groupId: `bench-midnight-observer-${topic}`, maxWaitTimeInMs: 100 });
  await observer.connect();
  await observer.subscribe({ topic: target, fromBeginning: true });
  const joined = new Promise<void>((r) => observer.on(observer.events.GROUP_JOIN, () => r()));
  void observer.run({
    autoCommit: false,
    eachBatch: async ({ batch }) => {
      const at = clock.now();
      for (const m of batch.messages) {
        const key = m.headers?.[Header.sourceKey]?.toString() ?? '';
        const due = Number(m.headers?.[Header.targetEpochMs]?.toString());
        seen.set(key, (seen.get(key) ?? 0) + 1);
        const isEarly = at < due || Number(m.timestamp) + offset < due;
        if (isEarly) early++;
        if (key.startsWith('after-')) {
          lateness.after.push(at - due);
          if (isEarly) earlyAfter++;
        } else lateness.before.push(at - due);
      }
      if (seen.size >= BEFORE + AFTER) allSeen();
    },
  });
  await joined;

  const scheduler = new Scheduler({
    transport: transportFor(name, list),
    clock,
    options: { topics: [topic], groupId: `bench-midnight-${topic}` },
  });
  const engineLate: number[] = [];
  scheduler.on('dispatched', (e) => {
    if (e.key.startsWith('after-')) engineLate.push(e.lateMs);
  });
  const reloads: { reason: string; atMs: number }[] = [];
  scheduler.on('reload', (e) => reloads.push({ reason: e.reason, atMs: clock.now() - midnight }));
  const refills: { phase: string; atMs: number; durationMs?: number }[] = [];
  scheduler.on('refill', (e) =>
    refills.push({ phase: e.phase, atMs: clock.now() - midnight, ...(e.durationMs !== undefined ? { durationMs: e.durationMs } : {}) }),
  );
  let loadedAtMs = NaN;
  let loadDurationMs = NaN;
  let buffered = NaN;
  scheduler.on('loaded', (e) => {
    if (Number.isNaN(loadedAtMs)) {
      loadedAtMs = clock.now() - midnight;
      loadDurationMs = e.durationMs;
      buffered = e.buffered;
    }
  });

  offset = midnight - startBeforeMs - Date.now();
  t0 = performance.now();
  await scheduler.start();
  const lastDue = afterDue(AFTER - 1);
  await Promise.race([allDone, sleep(lastDue + GRACE_MS - clock.now())]);
  await sleep(1000); // a late duplicate would show up here
  await scheduler.stop();
  await observer.disconnect();
  await deleteTopics(list, [topic, `${topic}_states`, target]);

  const missingAfter = Array.from({ length: AFTER }, (_, i) => `after-${i}`).filter((k) => !seen.has(k)).length;
  const missingBefore = Array.from({ length: BEFORE }, (_, i) => `before-${i}`).filter((k) => !seen.has(k)).length;
  const duplicates = [...seen.values()].filter((n) => n > 1).length;
  const a = summarize(lateness.after);
  const b = summarize(lateness.before);
  const e = summarize(engineLate);
  log(
    `${name}: loaded at midnight${loadedAtMs >= 0 ? '+' : ''}${(loadedAtMs / 1000).toFixed(1)} s (load ${loadDurationMs} ms, buffered ${buffered}); ` +
      `after midnight: observed ${lateness.after.length}/${AFTER}, lateness p50 ${a.p50} p99 ${a.p99} max ${a.max} ms, early ${earlyAfter}, missing ${missingAfter} ` +
      `(engine-reported p99 ${e.p99} max ${e.max}); before midnight: p50 ${b.p50} p99 ${b.p99} max ${b.max}, missing ${missingBefore}; ` +
      `early (all) ${early}, duplicates ${duplicates}; reloads ${JSON.stringify(reloads)}; refills ${refills.length}`,
  );
  results[name] = {
    topic,
    seedMs,
    loadedAtMsFromMidnight: loadedAtMs,
    loadDurationMs,
    buffered,
    after: { scheduled: AFTER, observed: lateness.after.length, missing: missingAfter, early: earlyAfter, lateness: a, engineLateMs: e },
    before: { scheduled: BEFORE, observed: lateness.before.length, missing: missingBefore, lateness: b },
    early,
    duplicates,
    reloads,
    refills,
  };
}
writeResult('midnight', {
  filler,
  before: BEFORE,
  beforeSpanMs: BEFORE_SPAN_MS,
  after: AFTER,
  afterSpanMs: AFTER_SPAN_MS,
  startBeforeMs,
  adapters: results,
});
