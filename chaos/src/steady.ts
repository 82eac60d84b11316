/**
 * Trials 2 and 3 of the chaos harness: a steady stream of schedules falling due while the broker
 * is restarted (trial 2) or while the scheduler group loses a member to kill -9 and gains one
 * (trial 3). Called from run.ts, which owns the broker, the topics and the processes. The stream
 * and the helpers around it (set-up, drain, verdict row) serve trials 6 and 7 too (zombie.ts,
 * restart.ts).
 */
import { schedule } from '@ksched/core';
import { CompressionTypes, type Kafka, type Message } from 'kafkajs';
import { Checker } from './checker.js';
import {
  alive,
  errorLines,
  kill9,
  log,
  restartLocalBroker,
  sleep,
  stopScheduler,
  waitReady,
  type SchedulerProc,
  type TrialRow,
} from './util.js';

const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
/** Trial 2: length of the run, due schedules per second, broker restarts spread over the run. */
export interface BrokerTrialParams {
  readonly runMs: number;
  readonly rate: number;
  readonly restarts: number;
}
/** Trial 2's parameters: full mode 3 min with 3 restarts, quick mode 40 s with 1 (each overridable). */
export function brokerParams(quick: boolean): BrokerTrialParams {
  return {
    runMs: num('CHAOS_BROKER_RUN_MS', quick ? 40_000 : 180_000),
    rate: num('CHAOS_BROKER_RATE', 200),
    restarts: num('CHAOS_BROKER_RESTARTS', quick ? 1 : 3),
  };
}
/** Trial 2: the scheduler's KSCHED_SESSION_TIMEOUT_MS; unset: ksched's default (30 s). */
const BROKER_SESSION_TIMEOUT_MS = process.env['CHAOS_BROKER_SESSION_TIMEOUT_MS'];
/** Trial 3: length of the run, due schedules per second, partitions, members' session timeout. */
export const REBALANCE_RUN_MS = num('CHAOS_REBALANCE_RUN_MS', 60_000);
export const REBALANCE_RATE = num('CHAOS_REBALANCE_RATE', 200);
export const REBALANCE_PARTITIONS = num('CHAOS_REBALANCE_PARTITIONS', 6);
export const REBALANCE_SESSION_TIMEOUT_MS = num('CHAOS_REBALANCE_SESSION_TIMEOUT_MS', 10_000);
/** Trial 3: the fourth member joins this long after the kill (0: at the same moment). */
export const REBALANCE_JOIN_DELAY_MS = num('CHAOS_REBALANCE_JOIN_DELAY_MS', 0);
/** Both: a schedule is produced this long before it is due. */
export const STEADY_LEAD_MS = num('CHAOS_STEADY_LEAD_MS', 2000);
/** Both: a batch of schedules whose produce still fails after this long is given up (and reported). */
const GIVE_UP_MS = num('CHAOS_PRODUCE_GIVE_UP_MS', 120_000);

/** What run.ts provides to a trial. */
export interface TrialContext {
  readonly kafka: Kafka;
  readonly brokers: string;
  readonly runId: string;
  readonly graceMs: number;
  createTopics(topics: { topic: string; partitions: number; compact?: boolean }[]): Promise<void>;
  spawnSched(name: string, topic: string, group: string, transactional: boolean, extraEnv?: Record<string, string>): SchedulerProc;
}

export function toKafkaMessage(rec: ReturnType<typeof schedule>, partition: number): Message {
  const headers: Record<string, Buffer | string> = {};
  for (const [k, v] of Object.entries(rec.headers)) headers[k] = typeof v === 'string' ? v : Buffer.from(v);
  return { key: rec.key, value: rec.value === null ? null : Buffer.from(rec.value), headers, partition };
}

/**
 * Produces `rate` schedules per second for `runMs`, each `leadMs` before its due time (due times
 * are fixed in advance: `t0 + leadMs + j / rate`). An idempotent producer retries a failed batch
 * (same sequence numbers, so a retried batch is never written twice) until it succeeds or
 * `GIVE_UP_MS` passes; schedules that could not be produced are left out of `expected` and counted
 * in `failed`. While the broker is down the stream stalls, and the backlog is produced late (some
 * after their due time) once it is back.
 */
export class SteadyProducer {
  /** Schedule id → due time, for every schedule produced. */
  readonly expected = new Map<string, number>();
  failed = 0;
  retries = 0;
  /** Schedules whose produce completed after their due time. */
  producedAfterDue = 0;
  /** Schedule id → when its produce completed. */
  readonly producedAt = new Map<string, number>();
  lastError = '';
  /** Schedules built: at most this many are produced. */
  readonly built: number;
  /** The stream's start: schedule j is produced at `t0 + j / rate` and due `leadMs` later. */
  readonly t0: number;
  readonly #msgs: Message[] = [];
  #n: number;
  /** The next schedule to produce. */
  #j = 0;

  constructor(
    private readonly kafka: Kafka,
    private readonly o: { topic: string; target: string; base: string; rate: number; runMs: number; partitions: number },
  ) {
    this.built = Math.floor((o.rate * o.runMs) / 1000);
    this.#n = this.built;
    // Every envelope is built up front: `schedule()` refuses due times more than 10 s in the past,
    // and after an outage the backlog is produced late.
    this.t0 = Date.now() + 1000 + Math.ceil(this.built / 10);
    for (let j = 0; j < this.built; j++) {
      const id = `${o.base}-${j}`;
      const rec = schedule({
        message: { topic: o.target, key: id, payload: `p${j}` },
        envelope: { topic: o.topic, key: id },
        at: this.dueOf(j),
      });
      this.#msgs.push(toKafkaMessage(rec, j % o.partitions));
    }
  }

  /** Schedules in the stream: all built, or fewer after {@link SteadyProducer.endBy}. */
  get n(): number {
    return this.#n;
  }

  /** Ends the stream early: no schedule due after `t` (epoch ms) is produced. */
  endBy(t: number): void {
    const last = Math.floor(((t - this.t0 - STEADY_LEAD_MS) * this.o.rate) / 1000);
    this.#n = Math.max(this.#j, Math.min(this.built, last + 1));
  }

  dueOf(j: number): number {
    return this.t0 + STEADY_LEAD_MS + Math.floor((j * 1000) / this.o.rate);
  }

  async run(): Promise<void> {
    const producer = this.kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: true,
      maxInFlightRequests: 1,
      retry: { retries: 30, initialRetryTime: 200, maxRetryTime: 1000 },
    });
    await producer.connect();
    try {
      while (this.#j < this.n) {
        let j = this.#j;
        const wait = this.dueOf(j) - STEADY_LEAD_MS - Date.now();
        if (wait > 0) {
          await sleep(Math.min(wait, 50));
          continue;
        }
        const now = Date.now();
        const msgs: Message[] = [];
        const batch: [string, number][] = [];
        for (; j < this.n && this.dueOf(j) - STEADY_LEAD_MS <= now && msgs.length < 1000; j++) {
          msgs.push(this.#msgs[j]!);
          batch.push([`${this.o.base}-${j}`, this.dueOf(j)]);
        }
        this.#j = j;
        const giveUp = Date.now() + GIVE_UP_MS;
        let sent = false;
        for (;;) {
          try {
            await producer.send({ topic: this.o.topic, messages: msgs, acks: -1, compression: CompressionTypes.None });
            sent = true;
            break;
          } catch (e) {
            this.retries++;
            this.lastError = (e as Error).message;
            if (Date.now() > giveUp) break;
            await sleep(500);
          }
        }
        const done = Date.now();
        for (const [id, due] of batch) {
          if (!sent) {
            this.failed++;
            continue;
          }
          this.expected.set(id, due);
          this.producedAt.set(id, done);
          if (done > due) this.producedAfterDue++;
        }
        if (!sent) log(`  produce of ${batch.length} schedules given up after ${GIVE_UP_MS / 1000}s: ${this.lastError}`);
      }
    } finally {
      await producer.disconnect().catch(() => {});
    }
  }
}

export const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

/** Waits for every expected id (or the grace), for the members to be ready, then settles. */
export async function drain(
  checker: Checker,
  expected: Map<string, number>,
  lastDue: number,
  graceMs: number,
  members: SchedulerProc[],
): Promise<boolean> {
  const complete = await checker.waitFor(
    () => checker.seen.size >= expected.size && [...expected.keys()].every((id) => checker.seen.has(id)),
    lastDue + graceMs,
  );
  for (const p of members) await waitReady(p, 30_000);
  await sleep(3000); // late duplicates
  return complete;
}

/** Verdict, notes and the graceful stop of the surviving members; fills the row. */
export async function finishRow(
  label: string,
  mode: 'alo' | 'tx',
  checker: Checker,
  sp: SteadyProducer,
  graceMs: number,
  complete: boolean,
  members: SchedulerProc[],
  notes: string[],
): Promise<TrialRow> {
  let crashes = 0;
  for (const p of members) {
    if (p.crashed || !alive(p)) {
      crashes++;
      notes.push(`${p.name} NOT alive at the end`);
    }
  }
  await checker.stop();
  for (const p of members) {
    const errors = errorLines(p).length;
    if (errors) notes.push(`${p.name} logged ${errors} errors`);
    const code = await stopScheduler(p);
    if (code !== 0) notes.push(`${p.name} graceful stop exit ${code}`);
  }
  const v = checker.verdict(sp.expected, graceMs);
  if (!complete) notes.push(`incomplete after grace: ${checker.seen.size}/${sp.expected.size}`);
  if (sp.failed) notes.push(`PRODUCE FAILED for ${sp.failed} schedules (not counted as lost): ${sp.lastError}`);
  if (v.unexpected) notes.push(`${v.unexpected} unexpected records`);
  if (v.lostIds.length) notes.push(`lost e.g. ${v.lostIds.slice(0, 3).join(',')}`);
  if (v.earlyIds.length) notes.push(`early e.g. ${v.earlyIds.slice(0, 3).join(',')}`);
  if (v.dupIds.length) notes.push(`dup e.g. ${v.dupIds.slice(0, 3).join(',')}`);
  if (checker.crashes.length) notes.push(`checker consumer errors ${checker.crashes.length}× (${checker.crashes[0]})`);
  if (v.lost) notes.push(`${v.missing} of the lost never dispatched`);
  // Lateness counted from when the schedule was both due and produced (the harness's own produce
  // is late after an outage), and the longest time without any dispatch.
  const ready = new Map([...sp.expected].map(([id, due]) => [id, Math.max(due, sp.producedAt.get(id) ?? due)]));
  const vr = checker.verdict(ready, Infinity);
  const pause = checker.longestPause();
  notes.push(
    `lateness p99 ${secs(v.p99LatenessMs)} max ${secs(v.maxLatenessMs)} (after due and produced: p99 ${secs(vr.p99LatenessMs)} max ${secs(vr.maxLatenessMs)})`,
    `longest dispatch pause ${secs(pause.ms)} from ${new Date(pause.from).toISOString().slice(11, 19)}`,
  );
  log(`  checker: ${checker.total} records counted, ${checker.reread} re-read at an offset already counted (ignored)`);
  const ok = v.lost === 0 && v.early === 0 && crashes === 0 && (mode === 'alo' || v.dup === 0);
  return { trial: label, mode, n: sp.n, lost: v.lost, dup: v.dup, early: v.early, crashes, invalid: '', notes: notes.join('; '), ok };
}

/** The trial's schedules topic (compacted), its states topic and its target topic, all with `partitions`. */
export async function setUp(
  ctx: TrialContext,
  base: string,
  partitions: number,
): Promise<{ topic: string; target: string; group: string }> {
  const topic = base;
  const target = `${base}_target`;
  await ctx.createTopics([
    { topic, partitions, compact: true },
    { topic: `${topic}_states`, partitions, compact: true },
    { topic: target, partitions },
  ]);
  return { topic, target, group: `${base}_g` };
}

/** Waits for every member's /readyz (90 s each). */
export async function ready(members: SchedulerProc[]): Promise<void> {
  for (const p of members) {
    if (!(await waitReady(p, 90_000))) throw new Error(`scheduler ${p.name} not ready in 90 s (log ${p.logFile})`);
  }
}

// ---------------------------------------------------------------------------------------------
// Trial 2: broker restarts during a steady run
// ---------------------------------------------------------------------------------------------
export async function brokerTrial(
  ctx: TrialContext,
  mode: 'alo' | 'tx',
  i: number,
  partitions: number,
  params: BrokerTrialParams,
): Promise<TrialRow> {
  const { runMs, rate, restarts: count } = params;
  const base = `chaos_${ctx.runId}_broker_${mode}_${i}`;
  const { topic, target, group } = await setUp(ctx, base, partitions);
  const env = BROKER_SESSION_TIMEOUT_MS ? { KSCHED_SESSION_TIMEOUT_MS: BROKER_SESSION_TIMEOUT_MS } : undefined;
  const a = ctx.spawnSched(`broker-${mode}${i}`, topic, group, mode === 'tx', env);
  await ready([a]);
  const checker = new Checker(ctx.brokers, [target], `chaos-check-${base}`);
  await checker.start();
  const sp = new SteadyProducer(ctx.kafka, { topic, target, base, rate, runMs, partitions });
  const notes: string[] = [];
  const t0 = sp.t0;
  log(`  ${sp.n} schedules at ${rate}/s over ${secs(runMs)}, ${count} broker restart${count === 1 ? '' : 's'}`);
  const restarts: string[] = [];
  /** When each `kafka.sh start` returned: the broker answers again. */
  const backAt: number[] = [];
  /** How long after that the broker's coordinators served the scheduler's group (and a transaction in tx mode). */
  const coordinatorsMs: number[] = [];
  const restarter = async (): Promise<void> => {
    for (let k = 1; k <= count; k++) {
      await sleep(Math.max(0, t0 + (runMs * k) / (count + 1) - Date.now()));
      const seen = checker.seen.size;
      log(`  broker restart ${k}/${count} (${seen} dispatched so far)`);
      const r = await restartLocalBroker();
      const back = Date.now();
      backAt.push(back);
      coordinatorsMs.push((await coordinatorsReady(ctx.kafka, group, mode === 'tx' ? `${base}-probe` : undefined)) - back);
      restarts.push(`${secs(r.stopMs + r.startMs)}`);
      log(`  broker back after ${secs(r.stopMs)} stop + ${secs(r.startMs)} start`);
    }
  };
  await Promise.all([sp.run(), restarter()]);
  notes.push(`${restarts.length} restarts (${restarts.join(', ')})`);
  if (sp.retries || sp.producedAfterDue) notes.push(`${sp.retries} produce retries, ${sp.producedAfterDue} produced after due`);
  const complete = await drain(checker, sp.expected, sp.dueOf(sp.n - 1), ctx.graceMs, [a]);
  // The dispatch pause after each restart: from the broker answering again to the first dispatch
  // after that moment, by the dispatched record's CreateTime (stamped by the scheduler's producer).
  // The stream always has schedules due, so the first one is when dispatching resumed.
  const end = Date.now();
  const pauses = backAt.map((t) => (checker.firstAt(t) ?? end) - t);
  const none = backAt.filter((t) => checker.firstAt(t) === undefined).length;
  notes.push(
    `dispatch pause after the broker was back ${pauses.map(secs).join(', ')}${none ? ` (${none} with no dispatch after it)` : ''}`,
  );
  notes.push(`the broker's coordinators served again ${coordinatorsMs.map(secs).join(', ')} after it was back`);
  log(`  dispatch resumed ${pauses.map(secs).join(', ')} after the broker was back (coordinators: ${coordinatorsMs.map(secs).join(', ')})`);
  const row = await finishRow(`broker restart x${count} #${i}`, mode, checker, sp, ctx.graceMs, complete, [a], notes);
  return { ...row, brokerPausesMs: pauses };
}

/**
 * When the restarted broker's coordinators serve again: the group coordinator describes `group`
 * (it answers "loading" until it has read the group's state back), and with `transactionalId` the
 * transaction coordinator initialises a producer id and aborts an empty transaction. Polled every
 * 100 ms. This is the floor of any scheduler's pause after a broker restart: neither a rejoin nor
 * a transactional producer's init can complete earlier.
 */
async function coordinatorsReady(kafka: Kafka, group: string, transactionalId: string | undefined): Promise<number> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const admin = kafka.admin({ retry: { retries: 0 } });
    const producer =
      transactionalId === undefined
        ? undefined
        : kafka.producer({ transactionalId, idempotent: true, maxInFlightRequests: 1, retry: { retries: 1, maxRetryTime: 100 } });
    try {
      await admin.connect();
      await admin.describeGroups([group]); // throws while the coordinator loads
      if (producer) {
        await producer.connect();
        await (await producer.transaction()).abort();
      }
      return Date.now();
    } catch {
      if (Date.now() > deadline) return Date.now();
      await sleep(100);
    } finally {
      await admin.disconnect().catch(() => {});
      await producer?.disconnect().catch(() => {});
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Trial 3: three members, one killed with SIGKILL and one added while schedules fall due
// ---------------------------------------------------------------------------------------------
export async function rebalanceTrial(ctx: TrialContext, mode: 'alo' | 'tx', i: number): Promise<TrialRow> {
  const base = `chaos_${ctx.runId}_rebalance_${mode}_${i}`;
  const partitions = REBALANCE_PARTITIONS;
  const { topic, target, group } = await setUp(ctx, base, partitions);
  const env = { KSCHED_SESSION_TIMEOUT_MS: String(REBALANCE_SESSION_TIMEOUT_MS) };
  const spawn = (n: number) => ctx.spawnSched(`rebalance-${mode}${i}-m${n}`, topic, group, mode === 'tx', env);
  const members = [spawn(1), spawn(2), spawn(3)];
  await ready(members);
  const checker = new Checker(ctx.brokers, [target], `chaos-check-${base}`);
  await checker.start();
  const sp = new SteadyProducer(ctx.kafka, { topic, target, base, rate: REBALANCE_RATE, runMs: REBALANCE_RUN_MS, partitions });
  const notes: string[] = [];
  const t0 = sp.t0;
  log(`  ${sp.n} schedules at ${REBALANCE_RATE}/s over ${secs(REBALANCE_RUN_MS)} on ${partitions} partitions, 3 members`);
  const disrupt = async (): Promise<void> => {
    await sleep(Math.max(0, t0 + STEADY_LEAD_MS + REBALANCE_RUN_MS / 2 - Date.now()));
    const victim = members[1]!;
    const seen = checker.seen.size;
    kill9(victim);
    await victim.exited;
    members.splice(1, 1);
    log(`  killed ${victim.name} (${seen} dispatched so far)`);
    await sleep(REBALANCE_JOIN_DELAY_MS);
    members.push(spawn(4));
    notes.push(
      `kill -9 1 of 3 with ${seen}/${sp.n} dispatched + 1 joined ${REBALANCE_JOIN_DELAY_MS ? `${secs(REBALANCE_JOIN_DELAY_MS)} later` : 'at once'}`,
    );
  };
  await Promise.all([sp.run(), disrupt()]);
  const complete = await drain(checker, sp.expected, sp.dueOf(sp.n - 1), ctx.graceMs, members);
  return finishRow(`rebalance kill+join #${i}`, mode, checker, sp, ctx.graceMs, complete, members, notes);
}
