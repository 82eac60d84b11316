/**
 * Trial 6 of the chaos harness: a zombie owner. Two schedulers share a group on a fresh schedules
 * topic with a steady stream of due schedules (steady.ts) and a short session timeout. One member
 * that owns partitions is frozen with SIGSTOP for longer than its session, so the coordinator
 * expires it and the other member takes its partitions over; then it gets SIGCONT and wakes up
 * still believing it owns them (its timers fire before it hears of the rebalance). In
 * transactional mode its dispatches must be fenced (the new owner initialised the partitions'
 * transactional ids): 0 duplicates. In at-least-once mode whatever it dispatches again is counted
 * as duplicates and reported, not failed. Called from run.ts.
 */
import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { Checker } from './checker.js';
import { STEADY_LEAD_MS, SteadyProducer, drain, finishRow, ready, secs, setUp, type TrialContext } from './steady.js';
import { alive, httpGet, log, pause, resume, sleep, type SchedulerProc, type TrialRow } from './util.js';

const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
/** Due schedules per second, partitions of the schedules topic. */
export const ZOMBIE_RATE = num('CHAOS_ZOMBIE_RATE', 200);
export const ZOMBIE_PARTITIONS = num('CHAOS_ZOMBIE_PARTITIONS', 4);
/** The members' KSCHED_SESSION_TIMEOUT_MS (6 s: the broker's smallest by default). */
export const ZOMBIE_SESSION_TIMEOUT_MS = num('CHAOS_ZOMBIE_SESSION_TIMEOUT_MS', 6000);
/** The SIGSTOP comes this long after the first schedule is due. */
const STOP_AT_MS = num('CHAOS_ZOMBIE_STOP_AT_MS', 7500);
/** The stream goes on this long after the SIGCONT (however long the takeover took), and the zombie's log is collected meanwhile. */
export const ZOMBIE_AFTER_MS = num('CHAOS_ZOMBIE_AFTER_MS', 10_000);
/** The member is stopped for this many session timeouts (then, if need be, until the other holds every partition). */
const STOP_SESSIONS = num('CHAOS_ZOMBIE_STOP_SESSIONS', 2.5);
/** At most this much longer stopped, waiting for the other member to hold and load every partition. */
const TAKEOVER_WAIT_MS = num('CHAOS_ZOMBIE_TAKEOVER_WAIT_MS', 30_000);

interface Owned {
  readonly loaded: number[];
  readonly all: number[];
}

/** The partitions a member reports on /readyz (all, and those loaded), or undefined when it does not answer. */
async function owned(p: SchedulerProc, topic: string): Promise<Owned | undefined> {
  const r = await httpGet(p.port, '/readyz');
  if (!r) return undefined;
  try {
    const body = JSON.parse(r.body) as { partitions?: { topic: string; partition: number; state: string }[] };
    const mine = (body.partitions ?? []).filter((s) => s.topic === topic);
    return {
      all: mine.map((s) => s.partition).sort((a, b) => a - b),
      loaded: mine
        .filter((s) => s.state === 'loaded')
        .map((s) => s.partition)
        .sort((a, b) => a - b),
    };
  } catch {
    return undefined;
  }
}

/** The log a process wrote from byte `from` on. */
function logSince(p: SchedulerProc, from: number): string {
  const fd = openSync(p.logFile, 'r');
  try {
    const size = statSync(p.logFile).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    readSync(fd, buf, 0, buf.length, from);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * What a member logged (ksched's own lines, not the Kafka client's): each distinct message once,
 * with its level, count and first time; in order of first appearance.
 */
function summarizeLog(text: string): string[] {
  const seen = new Map<string, { level: number; count: number; first: string }>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let rec: { level?: number; msg?: string; time?: number | string; component?: string };
    try {
      rec = JSON.parse(line) as typeof rec;
    } catch {
      continue;
    }
    if (rec.component === 'kafkajs' || rec.component === 'rdkafka' || !rec.msg) continue;
    const e = seen.get(rec.msg);
    if (e) e.count++;
    else seen.set(rec.msg, { level: rec.level ?? 0, count: 1, first: new Date(Number(rec.time ?? 0)).toISOString().slice(11, 23) });
  }
  const name = (l: number) => ({ 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' })[l] ?? String(l);
  return [...seen].map(([msg, e]) => `${e.first} ${name(e.level)} ${e.count > 1 ? `${e.count}× ` : ''}${msg}`);
}

export async function zombieTrial(ctx: TrialContext, mode: 'alo' | 'tx', i: number, runDir: string): Promise<TrialRow> {
  const base = `chaos_${ctx.runId}_zombie_${mode}_${i}`;
  const partitions = ZOMBIE_PARTITIONS;
  const { topic, target, group } = await setUp(ctx, base, partitions);
  const env = { KSCHED_SESSION_TIMEOUT_MS: String(ZOMBIE_SESSION_TIMEOUT_MS) };
  const members = [1, 2].map((n) => ctx.spawnSched(`zombie-${mode}${i}-m${n}`, topic, group, mode === 'tx', env));
  await ready(members);
  const checker = new Checker(ctx.brokers, [target], `chaos-check-${base}`);
  await checker.start();
  const stopMs = Math.round(STOP_SESSIONS * ZOMBIE_SESSION_TIMEOUT_MS);
  // Envelopes for the longest stream: up to the SIGSTOP, stopped, the longest takeover wait (and
  // its /readyz polls), then ZOMBIE_AFTER_MS; the stream is cut ZOMBIE_AFTER_MS after the SIGCONT.
  const runMs = STOP_AT_MS + stopMs + TAKEOVER_WAIT_MS + ZOMBIE_AFTER_MS + 5000;
  const sp = new SteadyProducer(ctx.kafka, { topic, target, base, rate: ZOMBIE_RATE, runMs, partitions });
  const notes: string[] = [];
  log(
    `  schedules at ${ZOMBIE_RATE}/s on ${partitions} partitions until ${secs(ZOMBIE_AFTER_MS)} after the SIGCONT, 2 members, session ${secs(ZOMBIE_SESSION_TIMEOUT_MS)}`,
  );
  let wake = '';
  const disrupt = async (): Promise<void> => {
    try {
      await zombify();
    } catch (error) {
      sp.endBy(Date.now()); // do not leave the stream running for its longest length
      throw error;
    }
  };
  const zombify = async (): Promise<void> => {
    await sleep(Math.max(0, sp.t0 + STEADY_LEAD_MS + STOP_AT_MS - Date.now()));
    // The victim: a member holding loaded partitions (with 2 members and 4 partitions, both do).
    const held = await Promise.all(members.map((p) => owned(p, topic)));
    const k = Math.max(
      0,
      held.findIndex((o) => (o?.loaded.length ?? 0) > 0),
    );
    const zombie = members[k]!;
    const survivor = members[1 - k]!;
    const its = held[k]?.loaded ?? [];
    const seen = checker.seen.size;
    const logFrom = statSync(zombie.logFile).size;
    pause(zombie);
    const stoppedAt = Date.now();
    log(`  SIGSTOP ${zombie.name} (pid ${zombie.child.pid}, partitions [${its.join(',')}]; ${seen} dispatched so far) for ${secs(stopMs)}`);
    await sleep(stopMs);
    // A zombie only if the other member took its partitions: wait (bounded) until it holds and loaded all.
    const deadline = Date.now() + TAKEOVER_WAIT_MS;
    let took: Owned | undefined;
    for (;;) {
      took = await owned(survivor, topic);
      if ((took?.loaded.length ?? 0) === partitions || Date.now() > deadline) break;
      await sleep(250);
    }
    const tookAll = took?.loaded.length === partitions;
    const stoppedFor = Date.now() - stoppedAt;
    const sigcontLogAt = statSync(zombie.logFile).size;
    const during = logSince(zombie, logFrom);
    resume(zombie);
    sp.endBy(Date.now() + ZOMBIE_AFTER_MS);
    log(
      `  SIGCONT ${zombie.name} after ${secs(stoppedFor)}; ${survivor.name} ${tookAll ? 'held' : 'did NOT hold'} every partition (loaded [${took?.loaded.join(',') ?? '?'}])`,
    );
    notes.push(
      `SIGSTOP ${zombie.name} with partitions [${its.join(',')}] and ${seen} dispatched, SIGCONT after ${secs(stoppedFor)}`,
      tookAll
        ? `${survivor.name} held all ${partitions} partitions before SIGCONT`
        : `TAKEOVER NOT SEEN: ${survivor.name} loaded [${took?.loaded.join(',') ?? '?'}]`,
    );
    await sleep(ZOMBIE_AFTER_MS);
    const after = logSince(zombie, sigcontLogAt);
    writeFileSync(`${runDir}/${zombie.name}.after-sigcont.log`, after);
    const lines = summarizeLog(after);
    if (during.trim()) log(`  ${zombie.name} logged ${during.split('\n').length - 1} lines while stopped (buffered before the stop)`);
    log(`  ${zombie.name} after SIGCONT (first ${secs(ZOMBIE_AFTER_MS)}, ksched's own lines):`);
    for (const l of lines.slice(0, 25)) log(`    ${l}`);
    wake = lines
      .filter((l) => / (warn|error|fatal) /.test(l))
      .slice(0, 4)
      .map((l) => l.slice(13, 200))
      .join(' | ');
    if (!alive(zombie))
      notes.push(`${zombie.name} exited after SIGCONT (code ${zombie.child.exitCode}, signal ${zombie.child.signalCode})`);
  };
  await Promise.all([sp.run(), disrupt()]);
  if (wake) notes.push(`zombie on waking: ${wake}`);
  const complete = await drain(checker, sp.expected, sp.dueOf(sp.n - 1), ctx.graceMs, members);
  return finishRow(`zombie owner #${i}`, mode, checker, sp, ctx.graceMs, complete, members, notes);
}
