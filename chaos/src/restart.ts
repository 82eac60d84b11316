/**
 * Trial 7 of the chaos harness: restart in place. One scheduler on node-rdkafka with static group
 * membership (`KSCHED_GROUP_INSTANCE_ID`) takes a steady stream of due schedules (steady.ts); in
 * the middle it is killed with SIGKILL and started again at once with the same group instance id,
 * so the coordinator hands it its partitions back without waiting for the dead member's session
 * (30 s, ksched's default, left as is). `restart_late_ms`: the worst lateness (first dispatch −
 * due) of the schedules due after the kill. Always on rdkafka, whatever `CHAOS_ADAPTER` says: the
 * kafkajs adapter has no static membership and refuses the setting. Called from run.ts.
 */
import { Checker } from './checker.js';
import { STEADY_LEAD_MS, SteadyProducer, drain, finishRow, ready, secs, setUp, type TrialContext } from './steady.js';
import { kill9, log, sleep, waitReady, type SchedulerProc, type TrialRow } from './util.js';

const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
/** Length of the stream and due schedules per second; the kill comes at half of it. */
export const RESTART_RUN_MS = num('CHAOS_RESTART_RUN_MS', 24_000);
export const RESTART_RATE = num('CHAOS_RESTART_RATE', 200);

export async function restartTrial(ctx: TrialContext, mode: 'alo' | 'tx', i: number, partitions: number): Promise<TrialRow> {
  const base = `chaos_${ctx.runId}_restart_${mode}_${i}`;
  const { topic, target, group } = await setUp(ctx, base, partitions);
  const env = { KSCHED_ADAPTER: 'rdkafka', KSCHED_GROUP_INSTANCE_ID: `chaos-${ctx.runId}-restart-${mode}-${i}` };
  const a = ctx.spawnSched(`restart-${mode}${i}-a`, topic, group, mode === 'tx', env);
  await ready([a]);
  const checker = new Checker(ctx.brokers, [target], `chaos-check-${base}`);
  await checker.start();
  const sp = new SteadyProducer(ctx.kafka, { topic, target, base, rate: RESTART_RATE, runMs: RESTART_RUN_MS, partitions });
  const notes: string[] = [];
  log(`  ${sp.n} schedules at ${RESTART_RATE}/s over ${secs(RESTART_RUN_MS)}; kill -9 at half, restart with the same group instance id`);
  let killAt = Infinity;
  let b: SchedulerProc | undefined;
  const disrupt = async (): Promise<void> => {
    await sleep(Math.max(0, sp.t0 + STEADY_LEAD_MS + RESTART_RUN_MS / 2 - Date.now()));
    const seen = checker.seen.size;
    killAt = Date.now();
    kill9(a);
    await a.exited;
    b = ctx.spawnSched(`restart-${mode}${i}-b`, topic, group, mode === 'tx', env);
    log(`  killed ${a.name} (${seen} dispatched so far), started ${b.name} with the same group instance id`);
    const isReady = await waitReady(b, 60_000);
    notes.push(
      `kill -9 with ${seen}/${sp.n} dispatched, restarted at once: ${isReady ? `ready ${secs(Date.now() - killAt)} after the kill` : 'NOT ready within 60 s'}`,
    );
  };
  await Promise.all([sp.run(), disrupt()]);
  if (!b) throw new Error('the restarted scheduler was not started');
  const members = [b];
  const complete = await drain(checker, sp.expected, sp.dueOf(sp.n - 1), ctx.graceMs, members);
  // Lateness of the schedules due after the kill, first dispatch against due (the stream is produced ahead of time).
  const after = new Map([...sp.expected].filter(([, due]) => due >= killAt));
  const v = checker.verdict(after, Infinity);
  const restartLateMs = v.maxLatenessMs;
  notes.push(`restart_late ${secs(restartLateMs)} (p99 ${secs(v.p99LatenessMs)}) over the ${after.size} schedules due after the kill`);
  log(`  restart_late_ms=${restartLateMs} (${after.size} schedules due after the kill)`);
  const row = await finishRow(`restart in place #${i}`, mode, checker, sp, ctx.graceMs, complete, members, notes);
  return { ...row, restartLateMs };
}
