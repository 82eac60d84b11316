/**
 * Rebalance: a schedules topic of 6 partitions, 200 schedules due per second spread over them
 * (each produced 2 s before its due time), one Scheduler (member A, this process) running; a
 * second member (B, a child process that also feeds: rebalance-member.ts) joins the group.
 *
 * - pause: on the partitions A keeps, for consecutive schedules of a partition (in due order),
 *   (gap between their dispatches) − (gap between their due times); the longest over the pairs due
 *   from 1 s before the join to 2 s after the rebalance ended. Baseline: the same measure outside
 *   that window (before the join, and after the window until B stops): the machine's own jitter.
 * - re-read: A's `reload` events after the join: `assigned` = a partition read again from its
 *   beginning; `resumed` = a partition parked at revocation and resumed from its position.
 * - rebalance: from B's `start()` to the last `loaded` event of either member after it (the group's
 *   own rebalance, to compare the pause with).
 * - missing / duplicates: keys dispatched by neither member / by both or twice.
 *
 * Runs: kafkajs (eager: every partition is revoked), rdkafka eager (default assignors) and rdkafka
 * `partitionAssignmentStrategy: 'cooperative-sticky'`. Targets: cooperative ≤ 50 ms pause and no
 * re-read; eager: no re-read and a pause no longer than the group's rebalance.
 *
 *   node … src/rebalance.ts [--quick] [--rate 200] [--seconds 45] [--join-at 15]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Scheduler, systemClock } from '@ksched/core';
import {
  adapters,
  arg,
  brokers,
  deleteTopics,
  log,
  quick,
  recreateTopics,
  sleep,
  summarize,
  transportFor,
  writeResult,
} from './lib/common.js';

const PARTITIONS = 6;
const rate = arg('rate', 200);
const seconds = arg('seconds', quick ? 30 : 60);
const joinAtMs = arg('join-at', quick ? 10 : 20) * 1000;
const leadMs = 2000;
const total = rate * seconds;
const list = brokers();

const runs = [
  { adapter: 'kafkajs' as const, strategy: 'eager', transportOptions: {} },
  { adapter: 'rdkafka' as const, strategy: 'eager', transportOptions: {} },
  { adapter: 'rdkafka' as const, strategy: 'cooperative-sticky', transportOptions: { partitionAssignmentStrategy: 'cooperative-sticky' } },
].filter((r) => adapters.includes(r.adapter));

interface Dispatch {
  key: string;
  partition: number;
  dueMs: number;
  atMs: number;
}
interface Done {
  joinStartMs: number;
  joinReturnedMs: number;
  stopAtMs: number;
  loaded: { partition: number; atMs: number; durationMs: number }[];
  reloads: { partition: number; reason: string; atMs: number }[];
  dispatched: Dispatch[];
}

/** Longest (Δdispatch − Δdue) between consecutive schedules of each partition, over pairs whose later due time is in [fromMs, toMs). */
function longestPause(
  events: Dispatch[],
  partitions: number[],
  fromMs: number,
  toMs: number,
): { ms: number; partition?: number; dueMs?: number } {
  let best: { ms: number; partition?: number; dueMs?: number } = { ms: 0 };
  for (const p of partitions) {
    const list = events.filter((e) => e.partition === p).sort((a, b) => a.dueMs - b.dueMs);
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      if (b.dueMs < fromMs || b.dueMs >= toMs) continue;
      const gap = b.atMs - a.atMs - (b.dueMs - a.dueMs);
      if (gap > best.ms) best = { ms: gap, partition: p, dueMs: b.dueMs };
    }
  }
  return best;
}

const results: Record<string, unknown> = {};
for (const run of runs) {
  const id = `${run.adapter}_${run.strategy === 'eager' ? 'eager' : 'cooperative'}`;
  const topic = `bench_rebalance_${id}_${Date.now()}`;
  const target = `${topic}_target`;
  const groupId = `bench-rebalance-${topic}`;
  await recreateTopics(list, [topic, `${topic}_states`], PARTITIONS);
  await recreateTopics(list, [target]);

  const a = new Scheduler({
    transport: transportFor(run.adapter, list, run.transportOptions),
    clock: systemClock,
    options: { topics: [topic], groupId },
  });
  const dispatched: Dispatch[] = [];
  const loaded: { partition: number; atMs: number; durationMs: number }[] = [];
  const reloads: { partition: number; reason: string; atMs: number }[] = [];
  a.on('dispatched', (e) => dispatched.push({ key: e.key, partition: e.partition, dueMs: e.dueMs, atMs: e.dispatchedAtMs }));
  a.on('loaded', (e) => loaded.push({ partition: e.partition, atMs: Date.now(), durationMs: e.durationMs }));
  a.on('reload', (e) => reloads.push({ partition: e.partition, reason: e.reason, atMs: Date.now() }));
  await a.start();
  for (let i = 0; i < 600 && !(a.isReady() && a.partitions().length === PARTITIONS); i++) await sleep(100);
  if (a.partitions().length !== PARTITIONS) throw new Error(`member A holds ${a.partitions().length} partitions, expected ${PARTITIONS}`);
  log(`${id}: member A holds ${PARTITIONS} partitions; feeding ${rate}/s for ${seconds} s, member B joins after ${joinAtMs / 1000} s`);

  const child = fork(fileURLToPath(new URL('./rebalance-member.ts', import.meta.url)), [], {
    execArgv: ['--conditions=@ksched/source', '--import', 'tsx'],
    stdio: ['ignore', 2, 2, 'ipc'],
  });
  const messages: { type: string }[] = [];
  let wake: () => void = () => {};
  child.on('message', (m) => {
    messages.push(m as { type: string });
    wake();
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`rebalance member exited with ${code}`))));
  const next = async (type: string) => {
    for (;;) {
      const i = messages.findIndex((m) => m.type === type);
      if (i >= 0) return messages.splice(i, 1)[0]!;
      await Promise.race([new Promise<void>((r) => (wake = r)), exited]);
    }
  };
  child.send({
    brokers: list,
    topic,
    target,
    groupId,
    adapter: run.adapter,
    transportOptions: run.transportOptions,
    partitions: PARTITIONS,
    rate,
    total,
    leadMs,
    joinAtMs,
  });
  const fed = (await next('fed')) as unknown as { startMs: number; lastDueMs: number };
  const kept = a
    .partitions()
    .filter((p) => p.state === 'loaded')
    .map((p) => p.partition)
    .sort((x, y) => x - y);
  child.send({ type: 'stop' });
  const b = (await next('done')) as unknown as Done;
  const aEnd = Date.now();
  await sleep(500);
  await a.stop();
  await deleteTopics(list, [topic, `${topic}_states`, target]);

  const join = b.joinStartMs;
  const aBefore = dispatched.filter((e) => e.atMs < b.stopAtMs);

  const lateAfter = summarize(aBefore.filter((e) => kept.includes(e.partition) && e.dueMs >= join).map((e) => e.atMs - e.dueMs));
  const lateBefore = summarize(aBefore.filter((e) => e.dueMs < join - 1000).map((e) => e.atMs - e.dueMs));
  // Up to B's stop (which starts another rebalance: A gets B's partitions back, resumed when within rebalanceRetainMs).
  const reloadsAfter = reloads.filter((r) => r.atMs >= join && r.atMs < b.stopAtMs);
  const reRead = reloadsAfter.filter((r) => r.reason === 'assigned').length;
  const resumed = reloadsAfter.filter((r) => r.reason === 'resumed').length;
  const lastLoaded = Math.max(
    ...loaded.filter((l) => l.atMs >= join && l.atMs < b.stopAtMs).map((l) => l.atMs),
    ...b.loaded.map((l) => l.atMs),
  );
  const rebalanceMs = lastLoaded - join;
  // The rebalance's window: from 1 s before the join to 2 s after the last partition loaded; the
  // baseline is the same measure outside it (the machine's own jitter: it is shared).
  const windowEnd = lastLoaded + 2000;
  const pause = longestPause(aBefore, kept, join - 1000, windowEnd);
  const pauseAfterWindow = longestPause(aBefore, kept, windowEnd, b.stopAtMs);
  const pauseBefore = longestPause(aBefore, kept, fed.startMs + 1000, join - 1000);
  const baseline = pauseAfterWindow.ms > pauseBefore.ms ? pauseAfterWindow : pauseBefore;
  const count = new Map<string, number>();
  for (const e of [...dispatched, ...b.dispatched]) count.set(e.key, (count.get(e.key) ?? 0) + 1);
  let missing = 0;
  for (let i = 0; i < total; i++) if (!count.has(`reb-${i}`)) missing++;
  const duplicates = [...count.values()].filter((n) => n > 1).length;
  const bPartitions = [...new Set(b.loaded.map((l) => l.partition))].sort((x, y) => x - y);
  log(
    `${id}: A keeps ${JSON.stringify(kept)}, B took ${JSON.stringify(bPartitions)}; longest pause on kept partitions ${pause.ms} ms ` +
      `(partition ${pause.partition}, due ${pause.dueMs !== undefined ? pause.dueMs - join : '-'} ms after the join; baseline outside the rebalance ${baseline.ms} ms); ` +
      `A lateness after the join p99 ${lateAfter.p99} max ${lateAfter.max} (before: p99 ${lateBefore.p99} max ${lateBefore.max}); ` +
      `re-read from the beginning ${reRead}, resumed ${resumed}; rebalance ${rebalanceMs} ms (B start() returned after ${b.joinReturnedMs - join} ms); ` +
      `dispatched A ${aBefore.length} + B ${b.dispatched.length} of ${total}, missing ${missing}, duplicates ${duplicates}`,
  );
  results[id] = {
    adapter: run.adapter,
    strategy: run.strategy,
    kept,
    bPartitions,
    pauseMs: pause.ms,
    pauseAt: pause,
    baselinePauseMs: baseline.ms,
    lateAfterJoin: lateAfter,
    lateBeforeJoin: lateBefore,
    reReadPartitions: reRead,
    resumedPartitions: resumed,
    reloadsAfterJoin: reloadsAfter.map((r) => ({ ...r, atMs: r.atMs - join })),
    loadedAfterJoin: [
      ...loaded.filter((l) => l.atMs >= join).map((l) => ({ member: 'A', ...l, atMs: l.atMs - join })),
      ...b.loaded.map((l) => ({ member: 'B', ...l, atMs: l.atMs - join })),
    ],
    rebalanceMs,
    joinReturnedMs: b.joinReturnedMs - join,
    dispatchedA: aBefore.length,
    dispatchedAAfterStop: dispatched.length - aBefore.length,
    dispatchedB: b.dispatched.length,
    missing,
    duplicates,
    measuredUntilMs: aEnd - join,
    bStoppedAtMs: b.stopAtMs - join,
  };
}
writeResult('rebalance', { partitions: PARTITIONS, rate, seconds, joinAtMs, leadMs, runs: results });
