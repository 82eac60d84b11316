/**
 * ksched chaos harness. `pnpm chaos` (full) / `pnpm chaos:quick`.
 *
 * Trial 1 (kill -9): a real `ksched run` is killed with SIGKILL in the middle of a burst of
 * 10,000 due schedules and restarted; an independent read_committed node-rdkafka consumer counts
 * per schedule id lost / duplicated / early dispatches. At-least-once and transactional modes.
 * Trial 2 (broker restart) and trial 3 (rebalance: kill -9 one of three members, add a fourth):
 * a steady stream of schedules falling due; see steady.ts. Trial 2 also measures the dispatch
 * pause after each restart (`broker_pause_ms`).
 * Trial 4 (bad input): 10,000 malformed records among 1,000 valid ones, a newer schema version on
 * one partition, dead-lettering on; checks the process stays up, valid ones on time, invalid ones
 * counted by reason (/metrics) and dead-lettered, RSS bounded, the newer-schema partition halted alone.
 * Trial 6 (zombie owner, zombie.ts): one of two members SIGSTOPped past its session, then SIGCONT.
 * Trial 7 (restart in place, restart.ts): kill -9 and restart with the same group instance id on
 * node-rdkafka (`restart_late_ms`).
 * The schedulers of trials 1-4 and 6 run on the adapter `CHAOS_ADAPTER` (kafkajs, default, or
 * rdkafka); trial 5 (security.ts) runs one per adapter, trial 7 always rdkafka.
 *
 * The last line printed is `chaos: lost=<n> dup_tx=<n> dup_alo=<n> early=<n> crashes=<n>
 * invalid_counted=<n> broker_pause_ms=<n> restart_late_ms=<n>` (the two figures: the worst over
 * the run's trials of that kind, -1 when none ran).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, hostname } from 'node:os';
import { join } from 'node:path';
import { Header, SCHEMA_VERSION, SourceType, schedule } from '@ksched/core';
import { Kafka, logLevel, CompressionTypes, type Producer, type Message } from 'kafkajs';
import { Checker } from './checker.js';
import { securityTrial } from './security.js';
import { RESTART_RATE, RESTART_RUN_MS, restartTrial } from './restart.js';
import { REBALANCE_RUN_MS, brokerParams, brokerTrial, rebalanceTrial, toKafkaMessage, type TrialContext } from './steady.js';
import {
  OUT_DIR,
  httpGet,
  kill9,
  killAll,
  log,
  metricSamples,
  rssMiB,
  sleep,
  startLocalBroker,
  startScheduler,
  stopLocalBroker,
  stopScheduler,
  waitReady,
  type SchedulerProc,
  type TrialRow,
} from './util.js';
import { ZOMBIE_AFTER_MS, ZOMBIE_RATE, ZOMBIE_SESSION_TIMEOUT_MS, zombieTrial } from './zombie.js';

const args = new Set(process.argv.slice(2));
const QUICK = args.has('--quick');
const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
const KILL_TRIALS = num('CHAOS_KILL_TRIALS', QUICK ? 2 : 20);
const BURST = num('CHAOS_BURST', 10_000);
const BURST_LEAD_MS = num('CHAOS_BURST_LEAD_MS', 4000); // first due time, after the produce finished
const BURST_SPREAD_MS = num('CHAOS_BURST_SPREAD_MS', 4000); // due times spread over this window
const PARTITIONS = num('CHAOS_PARTITIONS', 3);
const GRACE_MS = num('CHAOS_GRACE_MS', 60_000); // lost = not dispatched by due + grace (kill -9: session timeout is 30 s)
const BAD_RECORDS = num('CHAOS_BAD_RECORDS', 10_000);
const GOOD_RECORDS = num('CHAOS_GOOD_RECORDS', 1000);
const ON_TIME_MS = num('CHAOS_ON_TIME_MS', 2000); // bad-input trial: a valid schedule is "on time" within this lateness
const RSS_BOUND_MIB = num('CHAOS_RSS_BOUND_MIB', 512);
const GLOBAL_TIMEOUT_MS = num('CHAOS_TIMEOUT_MS', QUICK ? 9.5 * 60_000 : 90 * 60_000);
const BROKER_TRIALS = num('CHAOS_BROKER_TRIALS', 1); // trial 2 (steady.ts): full 3 min with 3 broker restarts per mode, quick 40 s with 1
const BROKER_MODES = QUICK ? (['alo'] as const) : (['alo', 'tx'] as const); // quick: at-least-once only
const BROKER = brokerParams(QUICK);
const REBALANCE_TRIALS = num('CHAOS_REBALANCE_TRIALS', QUICK ? 0 : 3); // trial 3: 3 members, kill -9 one + add one (steady.ts)
const ZOMBIE_TRIALS = num('CHAOS_ZOMBIE_TRIALS', 1); // trial 6: a member SIGSTOPped past its session, then SIGCONT (zombie.ts)
const RESTART_TRIALS = num('CHAOS_RESTART_TRIALS', 1); // trial 7: kill -9 + restart with the same group instance id, rdkafka (restart.ts)
const ADAPTER = process.env['CHAOS_ADAPTER'] ?? 'kafkajs'; // KSCHED_ADAPTER of the schedulers of trials 1-4 and 6
if (ADAPTER !== 'kafkajs' && ADAPTER !== 'rdkafka') throw new Error(`CHAOS_ADAPTER must be kafkajs or rdkafka, not ${ADAPTER}`);
// kill_alo,kill_tx,broker_alo,broker_tx,rebalance_alo,rebalance_tx,zombie_alo,zombie_tx,restart_alo,restart_tx,bad_input,security
/** `KSCHED_*` settings in the harness's environment reach every scheduler: a transactional run fenced by the group says so in its rows. */
const FENCING = process.env['KSCHED_TRANSACTIONAL_FENCING'] === 'group' ? ', fenced by the group' : '';
const SKIP = new Set((process.env['CHAOS_SKIP'] ?? '').split(',').filter(Boolean));

const RUN_ID = `${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}_${randomBytes(2).toString('hex')}`;
const RUN_DIR = join(OUT_DIR, RUN_ID);

type Row = TrialRow;
const rows: Row[] = [];
const failures: string[] = [];

let brokers = process.env['KSCHED_BROKERS'] ?? '';
let startedBroker = false;
let kafka: Kafka;
let producer: Producer;
const procs: SchedulerProc[] = [];

async function createTopics(topics: { topic: string; partitions: number; compact?: boolean }[]): Promise<void> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    try {
      await admin.createTopics({
        waitForLeaders: true,
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: 1,
          configEntries: t.compact ? [{ name: 'cleanup.policy', value: 'compact' }] : [],
        })),
      });
    } catch (error) {
      // kafkajs's waitForLeaders can fail with UNKNOWN_TOPIC_OR_PARTITION on a just-started broker
      // although the topics were created: wait until their metadata answers instead.
      log(`createTopics: ${(error as Error).message}; waiting for the topics' metadata`);
      const deadline = Date.now() + 30_000;
      for (;;) {
        try {
          await admin.fetchTopicMetadata({ topics: topics.map((t) => t.topic) });
          break;
        } catch (again) {
          if (Date.now() > deadline) throw again;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
}

async function sendAll(topic: string, messages: Message[], chunk = 1000): Promise<void> {
  for (let i = 0; i < messages.length; i += chunk) {
    await producer.send({ topic, messages: messages.slice(i, i + chunk), acks: -1, compression: CompressionTypes.None });
  }
}

function spawnSched(
  name: string,
  topic: string,
  group: string,
  transactional: boolean,
  dlq?: string,
  extraEnv?: Record<string, string>,
): SchedulerProc {
  const p = startScheduler(name, RUN_DIR, {
    brokers,
    topics: topic,
    groupId: group,
    transactional,
    ...(dlq ? { deadLetterTopic: dlq } : {}),
    extraEnv: { KSCHED_ADAPTER: ADAPTER, ...extraEnv }, // the security trial sets its own
  });
  procs.push(p);
  return p;
}

// ---------------------------------------------------------------------------------------------
// Trial 1: kill -9 during a burst
// ---------------------------------------------------------------------------------------------
async function killTrial(mode: 'alo' | 'tx', i: number): Promise<Row> {
  const tx = mode === 'tx';
  const base = `chaos_${RUN_ID}_kill_${mode}_${i}`;
  const topic = base;
  const target = `${base}_target`;
  const group = `${base}_g`;
  await createTopics([
    { topic, partitions: PARTITIONS, compact: true },
    { topic: `${topic}_states`, partitions: PARTITIONS, compact: true },
    { topic: target, partitions: PARTITIONS },
  ]);
  let crashes = 0;
  const notes: string[] = [];
  const a = spawnSched(`${mode}${i}-a`, topic, group, tx);
  if (!(await waitReady(a, 90_000))) throw new Error(`scheduler ${a.name} not ready in 90 s (log ${a.logFile})`);
  const checker = new Checker(brokers, [target], `chaos-check-${base}`);
  await checker.start();

  // Build and produce the burst, then compute due times relative to the end of the produce.
  const expected = new Map<string, number>();
  const produceStart = Date.now();
  const dueBase = produceStart + BURST_LEAD_MS + 1500; // the produce of 10k takes ~1-2 s on 2 cores
  const msgs: Message[] = [];
  for (let j = 0; j < BURST; j++) {
    const due = dueBase + Math.floor((j * BURST_SPREAD_MS) / BURST);
    const id = `${base}-${j}`;
    const rec = schedule({
      message: { topic: target, key: id, payload: `p${j}` },
      envelope: { topic, key: id },
      at: due,
    });
    expected.set(id, due);
    msgs.push(toKafkaMessage(rec, j % PARTITIONS));
  }
  await sendAll(topic, msgs);
  const produced = Date.now();
  if (produced > dueBase) notes.push(`produce ended ${produced - dueBase}ms after first due`);

  // Kill mid-burst.
  const killAt = dueBase + BURST_SPREAD_MS / 2;
  await sleep(Math.max(0, killAt - Date.now()));
  const before = checker.seen.size;
  if (a.crashed) crashes++;
  kill9(a);
  await a.exited;
  notes.push(`killed with ${before}/${BURST} seen`);
  const b = spawnSched(`${mode}${i}-b`, topic, group, tx);
  const lastDue = dueBase + BURST_SPREAD_MS;
  const complete = await checker.waitFor(() => checker.seen.size >= BURST, lastDue + GRACE_MS);
  // Let the restarted scheduler finish its reload, then settle so late duplicates are counted too.
  await waitReady(b, 20_000);
  await sleep(3000);
  await checker.stop();
  if (b.crashed) crashes++;
  const code = await stopScheduler(b);
  if (code !== 0) notes.push(`${b.name} graceful stop exit ${code}`);
  const v = checker.verdict(expected, GRACE_MS);
  if (!complete) notes.push(`incomplete after grace: ${checker.seen.size}/${BURST}`);
  if (v.unexpected) notes.push(`${v.unexpected} unexpected records`);
  if (v.lostIds.length) notes.push(`lost e.g. ${v.lostIds.slice(0, 3).join(',')}`);
  if (v.earlyIds.length) notes.push(`early e.g. ${v.earlyIds.slice(0, 3).join(',')}`);
  notes.push(`max lateness ${(v.maxLatenessMs / 1000).toFixed(1)}s`);
  const ok = v.lost === 0 && v.early === 0 && crashes === 0 && (!tx || v.dup === 0);
  return {
    trial: `kill-9 #${i}`,
    mode,
    n: BURST,
    lost: v.lost,
    dup: v.dup,
    early: v.early,
    crashes,
    invalid: '',
    notes: notes.join('; '),
    ok,
  };
}

// ---------------------------------------------------------------------------------------------
// Trial 4: bad input
// ---------------------------------------------------------------------------------------------
type Bad = { reason: string; msg: Message };

function badRecords(target: string, base: string, n: number, dueAt: () => number): Bad[] {
  const good = (id: string): Record<string, Buffer | string> => {
    const due = dueAt();
    return {
      [Header.schemaVersion]: SCHEMA_VERSION,
      [Header.sourceType]: SourceType.schedule,
      [Header.targetEpoch]: String(Math.ceil(due / 1000)),
      [Header.targetEpochMs]: String(due),
      [Header.targetTopic]: target,
      [Header.targetKey]: id,
    };
  };
  const without = (h: Record<string, Buffer | string>, name: string) => {
    const c = { ...h };
    delete c[name];
    return c;
  };
  const kinds: ((id: string) => Bad)[] = [
    (id) => ({ reason: 'missing_source_type', msg: { key: id, value: 'x', headers: without(good(id), Header.sourceType) } }),
    (id) => ({ reason: 'missing_source_type', msg: { key: id, value: 'x', headers: {} } }), // no headers at all
    (id) => ({
      // random bytes everywhere: key, value, unknown header names
      reason: 'missing_source_type',
      msg: {
        key: Buffer.concat([Buffer.from(id), randomBytes(16)]),
        value: randomBytes(64),
        headers: { [randomBytes(6).toString('hex')]: randomBytes(32) },
      },
    }),
    (id) => ({ reason: 'missing_schema_version', msg: { key: id, value: 'x', headers: without(good(id), Header.schemaVersion) } }),
    (id) => ({ reason: 'bad_schema_version', msg: { key: id, value: 'x', headers: { ...good(id), [Header.schemaVersion]: 'v1-beta' } } }),
    (id) => ({
      reason: 'bad_schema_version',
      msg: { key: id, value: 'x', headers: { ...good(id), [Header.schemaVersion]: randomBytes(12) } },
    }),
    (id) => ({ reason: 'null_key', msg: { key: null, value: 'x', headers: good(id) } }),
    (id) => ({ reason: 'missing_epoch', msg: { key: id, value: 'x', headers: without(good(id), Header.targetEpoch) } }),
    (id) => ({
      reason: 'bad_epoch',
      msg: { key: id, value: 'x', headers: { ...without(good(id), Header.targetEpochMs), [Header.targetEpoch]: 'soon' } },
    }),
    (id) => ({
      reason: 'bad_epoch',
      msg: { key: id, value: 'x', headers: { ...without(good(id), Header.targetEpochMs), [Header.targetEpoch]: '1.7e9' } },
    }),
    (id) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(BigInt(Math.floor(Date.now() / 1000)));
      return {
        reason: 'bad_epoch',
        msg: { key: id, value: 'x', headers: { ...without(good(id), Header.targetEpochMs), [Header.targetEpoch]: b } },
      };
    },
    (id) => ({ reason: 'bad_epoch', msg: { key: id, value: 'x', headers: { ...good(id), [Header.targetEpoch]: '99999999999999999999' } } }),
    (id) => ({ reason: 'bad_epoch_ms', msg: { key: id, value: 'x', headers: { ...good(id), [Header.targetEpochMs]: '12.5' } } }),
    (id) => {
      const h = good(id);
      return {
        reason: 'epoch_mismatch',
        msg: { key: id, value: 'x', headers: { ...h, [Header.targetEpochMs]: String(Number(h[Header.targetEpochMs]) + 5000) } },
      };
    },
    (id) => ({ reason: 'missing_target_topic', msg: { key: id, value: 'x', headers: without(good(id), Header.targetTopic) } }),
    (id) => ({ reason: 'bad_target_topic', msg: { key: id, value: 'x', headers: { ...good(id), [Header.targetTopic]: 'not a topic!' } } }),
    (id) => ({ reason: 'bad_target_partition', msg: { key: id, value: 'x', headers: { ...good(id), [Header.targetPartition]: '-1' } } }),
    (id) => ({ reason: 'bad_target_partition', msg: { key: id, value: 'x', headers: { ...good(id), [Header.targetPartition]: 'three' } } }),
    // A ksched header twice with different values (kafkajs writes an array value as repeated headers).
    (id) => ({
      reason: 'duplicate_header',
      msg: { key: id, value: 'x', headers: { ...good(id), [Header.sourceType]: [SourceType.schedule, SourceType.cancel] } },
    }),
  ];
  const out: Bad[] = [];
  for (let j = 0; j < n; j++) {
    const id = `${base}-bad-${j}`;
    if (j % 500 === 499) {
      // huge headers: 256 KiB garbage schema version + 256 KiB extra header
      out.push({
        reason: 'bad_schema_version',
        msg: {
          key: id,
          value: 'x',
          headers: { ...good(id), [Header.schemaVersion]: 'x'.repeat(256 * 1024), huge: randomBytes(256 * 1024) },
        },
      });
    } else {
      out.push(kinds[j % kinds.length]!(id));
    }
  }
  return out;
}

/** What the bad-input trial produced: the valid schedules (id → due) and the invalid ones by reason. */
interface BadInputPlan {
  readonly expected: Map<string, number>;
  readonly expectedReasons: Map<string, number>;
  readonly newerId: string;
  readonly heldId: string;
}

/** Produces invalid records mixed with valid schedules on partitions 0..2, and a newer-schema record on 3. */
async function produceBadInput(topic: string, target: string, base: string, t0: number, spread: number): Promise<BadInputPlan> {
  let k = 0;
  const dueAt = () => t0 + Math.floor(((k++ % 1000) * spread) / 1000);
  const bad = badRecords(target, base, BAD_RECORDS, dueAt);
  const expectedReasons = new Map<string, number>();
  for (const b of bad) expectedReasons.set(b.reason, (expectedReasons.get(b.reason) ?? 0) + 1);
  const expected = new Map<string, number>();
  const perPartition: Message[][] = [[], [], []];
  const ratio = Math.max(1, Math.floor(BAD_RECORDS / GOOD_RECORDS));
  let g = 0;
  for (let j = 0; j < bad.length; j++) {
    const part = j % 3;
    perPartition[part]!.push({ ...bad[j]!.msg, partition: part });
    if (j % ratio === 0 && g < GOOD_RECORDS) {
      const id = `${base}-ok-${g}`;
      const due = t0 + Math.floor((g * spread) / GOOD_RECORDS);
      expected.set(id, due);
      perPartition[part]!.push(
        toKafkaMessage(schedule({ message: { topic: target, key: id, payload: `ok${g}` }, envelope: { topic, key: id }, at: due }), part),
      );
      g++;
    }
  }
  // Partition 3: a record of a newer schema version (then one valid schedule after it, which must wait).
  const newerId = `${base}-newer`;
  const newerRec = schedule({ message: { topic: target, key: newerId, payload: 'newer' }, envelope: { topic, key: newerId }, at: t0 });
  const newerMsg = toKafkaMessage(newerRec, 3);
  (newerMsg.headers as Record<string, string | Buffer>)[Header.schemaVersion] = '2.0.0';
  const heldId = `${base}-held-after-newer`;
  const held = toKafkaMessage(
    schedule({ message: { topic: target, key: heldId, payload: 'held' }, envelope: { topic, key: heldId }, at: t0 }),
    3,
  );
  await producer.send({ topic, messages: [newerMsg, held], acks: -1 });
  for (let part = 0; part < 3; part++) {
    // big records one by one (request size), the rest in chunks
    const list = perPartition[part]!;
    const small = list.filter((m) => !(m.headers && 'huge' in m.headers));
    const big = list.filter((m) => m.headers && 'huge' in m.headers);
    await sendAll(topic, small, 500);
    for (const m of big) await producer.send({ topic, messages: [m], acks: -1 });
  }
  return { expected, expectedReasons, newerId, heldId };
}

/** What the scheduler reports after the bad-input trial: its metrics, /readyz and its halt log line. */
async function observeBadInput(p: SchedulerProc, topic: string) {
  const metrics = (await httpGet(p.port, '/metrics'))?.body ?? '';
  const readyz = (await httpGet(p.port, '/readyz'))?.body ?? '';
  const byReason = new Map<string, number>();
  for (const s of metricSamples(metrics, 'ksched_invalid_records_total')) {
    if (!s.labels['topic'] || s.labels['topic'] === topic)
      byReason.set(s.labels['reason'] ?? '?', (byReason.get(s.labels['reason'] ?? '?') ?? 0) + s.value);
  }
  const invalidCounted = [...byReason.values()].reduce((a, b) => a + b, 0);
  const deadLettered = metricSamples(metrics, 'ksched_dead_lettered_total').reduce((a, s) => a + s.value, 0);
  const halted = metricSamples(metrics, 'ksched_partition_halted')
    .filter((s) => s.value === 1)
    .map((s) => Number(s.labels['partition']));
  const logText = readFileSync(p.logFile, 'utf8');
  const haltLog = logText.split('\n').find((l) => /halt/i.test(l) && /"level":(50|40)/.test(l));

  return { byReason, invalidCounted, deadLettered, halted, readyz, haltLog };
}

/** The bad-input trial's pass/fail checks, each named with what was seen. */
function badInputChecks(o: {
  readonly v: ReturnType<Checker['verdict']>;
  readonly alive: boolean;
  readonly expectedReasons: Map<string, number>;
  readonly byReason: Map<string, number>;
  readonly invalidCounted: number;
  readonly deadLettered: number;
  readonly dlqTotal: number;
  readonly rss0: number;
  readonly rssMax: number;
  readonly halted: number[];
  readonly haltLog: string | undefined;
  readonly readyz: string;
  readonly heldDispatched: boolean;
  readonly code: number | null;
}): { checks: [string, boolean][]; reasonDiffs: string[] } {
  const { v, alive, expectedReasons, byReason, invalidCounted, deadLettered, rss0, rssMax, halted, haltLog, readyz, heldDispatched, code } =
    o;
  const reasonDiffs: string[] = [];
  for (const r of new Set([...expectedReasons.keys(), ...byReason.keys()])) {
    const e = expectedReasons.get(r) ?? 0;
    const c = byReason.get(r) ?? 0;
    if (e !== c) reasonDiffs.push(`${r}: expected ${e}, counted ${c}`);
  }
  const checks: [string, boolean][] = [
    ['process stayed up', alive],
    [`every valid schedule dispatched (lost ${v.lost})`, v.lost === 0],
    [`on time ≤${ON_TIME_MS}ms (late ${v.late}, max ${v.maxLatenessMs}ms)`, v.late === 0],
    [`no early (${v.early})`, v.early === 0],
    [`no duplicates (${v.dup})`, v.dup === 0],
    [`invalid counted by reason = expected (${invalidCounted}/${BAD_RECORDS})`, reasonDiffs.length === 0],
    [
      `dead-lettered: metric ${deadLettered}, on DLQ topic ${o.dlqTotal}, expected ${BAD_RECORDS}`,
      deadLettered === BAD_RECORDS && o.dlqTotal === BAD_RECORDS,
    ],
    [`RSS bounded: ${rss0.toFixed(0)} → max ${rssMax.toFixed(0)} MiB (bound ${RSS_BOUND_MIB})`, rssMax < RSS_BOUND_MIB],
    [`only partition 3 halted (halted: [${halted.join(',')}])`, halted.length === 1 && halted[0] === 3],
    ['halt logged at warn/error', haltLog !== undefined],
    [
      '/readyz reports partition 3 halted',
      /"partition":3[^}]*"halted":true/.test(readyz) || /"halted":true[^}]*"partition":3/.test(readyz),
    ],
    ['records after the newer-schema record held (not dispatched)', !heldDispatched],
    [`graceful stop exit 0 (got ${code})`, code === 0],
  ];
  return { checks, reasonDiffs };
}

async function badInputTrial(): Promise<Row> {
  const base = `chaos_${RUN_ID}_bad`;
  const topic = base;
  const target = `${base}_target`;
  const dlq = `${base}_dlq`;
  const parts = 4; // partitions 0..2: valid + malformed; partition 3: one newer-schema record
  await createTopics([
    // Not compacted: a compacted topic rejects null-key records at the broker
    // (INVALID_RECORD), so null keys can only reach a scheduler through a delete-policy topic.
    { topic, partitions: parts, compact: false },
    { topic: `${topic}_states`, partitions: parts, compact: true },
    { topic: target, partitions: 3 },
    { topic: dlq, partitions: 1 },
  ]);
  const notes: string[] = [];
  const p = spawnSched('bad', topic, `${base}_g`, false, dlq);
  if (!(await waitReady(p, 90_000))) throw new Error(`scheduler ${p.name} not ready in 90 s (log ${p.logFile})`);
  const rss0 = rssMiB(p.child.pid) ?? 0;
  let rssMax = rss0;
  const sampler = setInterval(() => {
    rssMax = Math.max(rssMax, rssMiB(p.child.pid) ?? 0);
  }, 250);
  const checker = new Checker(brokers, [target], `chaos-check-${base}`);
  const dlqChecker = new Checker(brokers, [dlq], `chaos-dlq-${base}`);
  await Promise.all([checker.start(), dlqChecker.start()]);

  const t0 = Date.now() + 8000;
  const spread = 8000;
  const plan = await produceBadInput(topic, target, base, t0, spread);
  const producedAt = Date.now();
  if (producedAt > t0) notes.push(`produce ended ${producedAt - t0}ms after first due`);
  const lastDue = t0 + spread;
  await checker.waitFor(() => [...plan.expected.keys()].every((id) => checker.seen.has(id)), lastDue + 15_000);
  await dlqChecker.waitFor(() => dlqChecker.total >= BAD_RECORDS, Date.now() + 10_000);
  await sleep(2500); // let the metrics catch up
  clearInterval(sampler);
  rssMax = Math.max(rssMax, rssMiB(p.child.pid) ?? 0);

  const seen = await observeBadInput(p, topic);
  const { byReason, invalidCounted, deadLettered, halted, readyz, haltLog } = seen;
  const alive = p.child.exitCode === null && p.child.signalCode === null;
  const v = checker.verdict(plan.expected, 15_000, ON_TIME_MS);
  const heldDispatched = checker.seen.has(plan.heldId) || checker.seen.has(plan.newerId);
  await Promise.all([checker.stop(), dlqChecker.stop()]);
  const code = await stopScheduler(p);

  const { checks, reasonDiffs } = badInputChecks({
    ...seen,
    v,
    alive,
    expectedReasons: plan.expectedReasons,
    dlqTotal: dlqChecker.total,
    rss0,
    rssMax,
    heldDispatched,
    code,
  });
  for (const [name, ok] of checks) log(`bad-input: ${ok ? 'PASS' : 'FAIL'} ${name}`);
  for (const d of reasonDiffs) log(`bad-input: reason mismatch ${d}`);
  log(`bad-input: invalid by reason (metrics): ${[...byReason].map(([r, c]) => `${r}=${c}`).join(' ')}`);
  if (haltLog) log(`bad-input: halt log: ${haltLog.slice(0, 400)}`);
  log(`bad-input: /readyz: ${readyz.slice(0, 600)}`);
  const failed = checks.filter(([, ok]) => !ok).map(([n]) => n);
  for (const f of failed) notes.push(`FAIL ${f}`);
  notes.push(
    `rss ${rss0.toFixed(0)}→${rssMax.toFixed(0)}MiB`,
    `max lateness ${v.maxLatenessMs}ms`,
    `dlq ${dlqChecker.total}`,
    `halted [${halted.join(',')}]`,
  );
  writeFileSync(
    join(RUN_DIR, 'bad-input.json'),
    JSON.stringify(
      {
        expectedReasons: Object.fromEntries(plan.expectedReasons),
        byReason: Object.fromEntries(byReason),
        deadLettered,
        dlq: dlqChecker.total,
        rss0,
        rssMax,
        halted,
        readyz,
        haltLog,
        verdict: v,
        checks,
      },
      null,
      2,
    ),
  );
  return {
    trial: 'bad input',
    mode: 'alo+dlq',
    n: GOOD_RECORDS,
    lost: v.lost,
    dup: v.dup,
    early: v.early,
    crashes: alive ? 0 : 1,
    invalid: invalidCounted,
    notes: notes.join('; '),
    ok: failed.length === 0,
  };
}

// ---------------------------------------------------------------------------------------------

function printTable(): string {
  const head = ['trial', 'mode', 'n', 'lost', 'dup', 'early', 'crashes', 'invalid', 'ok', 'notes'];
  const data = rows.map((r) => [
    r.trial,
    r.mode,
    String(r.n),
    String(r.lost),
    String(r.dup),
    String(r.early),
    String(r.crashes),
    String(r.invalid),
    r.ok ? 'yes' : 'NO',
    r.notes,
  ]);
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...data.map((d) => `| ${d.join(' | ')} |`)];
  return lines.join('\n');
}

/** The adapter the trial's schedulers ran on, in the trial's name (rows of both adapters can then share a table). */
const withAdapter = (r: Row, adapter: string = ADAPTER): Row => ({ ...r, trial: `${r.trial} (${adapter}${FENCING})` });

/** Runs `count` trials of one kind in one mode, recording a row each (a harness error is a failed row). */
async function trials(
  label: string,
  run: (mode: 'alo' | 'tx', i: number) => Promise<Row>,
  mode: 'alo' | 'tx',
  count: number,
  adapter: string = ADAPTER,
): Promise<void> {
  for (let i = 1; i <= count; i++) {
    log(`trial ${label} ${mode} #${i}/${count}`);
    try {
      const r = withAdapter(await run(mode, i), adapter);
      rows.push(r);
      log(`  → lost=${r.lost} dup=${r.dup} early=${r.early} crashes=${r.crashes} ${r.notes}`);
      if (!r.ok) failures.push(`${label} ${mode} #${i}: ${r.notes}`);
    } catch (e) {
      failures.push(`${label} ${mode} #${i}: harness error ${(e as Error).message}`);
      rows.push({
        trial: `${label} #${i} (${adapter})`,
        mode,
        n: BURST,
        lost: 0,
        dup: 0,
        early: 0,
        crashes: 0,
        invalid: '',
        notes: `ERROR ${(e as Error).message}`,
        ok: false,
      });
      log(`  → ERROR ${(e as Error).stack}`);
      killAll();
    }
  }
}

async function main(): Promise<void> {
  mkdirSync(RUN_DIR, { recursive: true });
  log(`run ${RUN_ID} (${QUICK ? 'quick' : 'full'}, schedulers on ${ADAPTER}), logs in ${RUN_DIR}`);
  if (!brokers) {
    process.env['KSCHED_KAFKA_PORT'] ??= '19692';
    process.env['KSCHED_KAFKA_SASL'] ??= '1'; // the SASL_SSL listener of trial 5 (security.ts)
    log(`KSCHED_BROKERS unset: starting the local broker on port ${process.env['KSCHED_KAFKA_PORT']}`);
    brokers = startLocalBroker();
    startedBroker = true;
  }
  kafka = new Kafka({ clientId: 'chaos-producer', brokers: brokers.split(','), logLevel: logLevel.NOTHING });
  producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 5 });
  await producer.connect();

  for (const mode of ['alo', 'tx'] as const) {
    if (!SKIP.has(`kill_${mode}`)) await trials('kill-9', killTrial, mode, KILL_TRIALS);
  }
  const ctx: TrialContext = {
    kafka,
    brokers,
    runId: RUN_ID,
    graceMs: GRACE_MS,
    createTopics,
    spawnSched: (name, topic, group, tx, extraEnv) => spawnSched(name, topic, group, tx, undefined, extraEnv),
  };
  if (BROKER_TRIALS > 0) {
    if (!startedBroker) {
      log('broker restart trials skipped: they need the harness-managed local broker (KSCHED_BROKERS unset)');
    } else {
      log(`broker restart trials: ${BROKER.runMs / 1000}s at ${BROKER.rate}/s, ${BROKER.restarts} restarts each`);
      for (const mode of BROKER_MODES) {
        if (!SKIP.has(`broker_${mode}`))
          await trials('broker restart', (m, i) => brokerTrial(ctx, m, i, PARTITIONS, BROKER), mode, BROKER_TRIALS);
      }
      // The shared producer's connections died with the broker: reconnect it for the trials after.
      await producer.disconnect().catch(() => {});
      await producer.connect();
    }
  }
  if (REBALANCE_TRIALS > 0) log(`rebalance trials: ${REBALANCE_RUN_MS / 1000}s each`);
  for (const mode of ['alo', 'tx'] as const) {
    if (!SKIP.has(`rebalance_${mode}`)) await trials('rebalance kill+join', (m, i) => rebalanceTrial(ctx, m, i), mode, REBALANCE_TRIALS);
  }
  if (ZOMBIE_TRIALS > 0) {
    log(`zombie trials: ${ZOMBIE_RATE}/s until ${ZOMBIE_AFTER_MS / 1000}s after the SIGCONT, session ${ZOMBIE_SESSION_TIMEOUT_MS / 1000}s`);
  }
  for (const mode of ['alo', 'tx'] as const) {
    if (!SKIP.has(`zombie_${mode}`)) await trials('zombie owner', (m, i) => zombieTrial(ctx, m, i, RUN_DIR), mode, ZOMBIE_TRIALS);
  }
  if (RESTART_TRIALS > 0) log(`restart-in-place trials (rdkafka, static membership): ${RESTART_RUN_MS / 1000}s at ${RESTART_RATE}/s each`);
  for (const mode of ['alo', 'tx'] as const) {
    if (!SKIP.has(`restart_${mode}`))
      await trials('restart in place', (m, i) => restartTrial(ctx, m, i, PARTITIONS), mode, RESTART_TRIALS, 'rdkafka');
  }
  if (!SKIP.has('bad_input')) {
    log('trial bad input');
    try {
      const r = withAdapter(await badInputTrial());
      rows.push(r);
      if (!r.ok) failures.push(`bad input: ${r.notes}`);
    } catch (e) {
      failures.push(`bad input: harness error ${(e as Error).message}`);
      rows.push({
        trial: `bad input (${ADAPTER})`,
        mode: 'alo+dlq',
        n: GOOD_RECORDS,
        lost: 0,
        dup: 0,
        early: 0,
        crashes: 0,
        invalid: 0,
        notes: `ERROR ${(e as Error).message}`,
        ok: false,
      });
      log(`  → ERROR ${(e as Error).stack}`);
    }
  }
  if (!SKIP.has('security')) {
    const r = await securityTrial(ctx, startedBroker); // trial 5: SASL_SSL only, no password leak
    rows.push(...r.rows);
    failures.push(...r.failures);
  }
}

/** The largest of `values` (rounded), or -1 when there is none (no such trial ran). */
const worst = (values: number[]): number => (values.length ? Math.round(Math.max(...values)) : -1);

function summary(): string {
  const sum = (f: (r: Row) => number, pred: (r: Row) => boolean = () => true) => rows.filter(pred).reduce((a, r) => a + f(r), 0);
  return (
    `chaos: lost=${sum((r) => r.lost)} dup_tx=${sum(
      (r) => r.dup,
      (r) => r.mode === 'tx',
    )} dup_alo=${sum(
      (r) => r.dup,
      (r) => r.mode === 'alo',
    )}` +
    ` early=${sum((r) => r.early)} crashes=${sum((r) => r.crashes)} invalid_counted=${sum((r) => (typeof r.invalid === 'number' ? r.invalid : 0))}` +
    ` broker_pause_ms=${worst(rows.flatMap((r) => r.brokerPausesMs ?? []))} restart_late_ms=${worst(rows.flatMap((r) => (r.restartLateMs === undefined ? [] : [r.restartLateMs])))}`
  );
}

let finished = false;
async function finish(code: number): Promise<never> {
  if (finished) process.exit(code);
  finished = true;
  killAll();
  await producer?.disconnect().catch(() => {});
  if (startedBroker) {
    log('stopping the local broker');
    stopLocalBroker();
  }
  const table = printTable();
  const header = `date ${new Date().toISOString()} · host ${hostname()} · ${cpus().length}× ${cpus()[0]?.model ?? '?'} · node ${process.version} · ${QUICK ? 'quick' : 'full'} · schedulers on ${ADAPTER} · run ${RUN_ID}`;
  writeFileSync(join(RUN_DIR, 'table.md'), `${header}\n\n${table}\n\n${failures.map((f) => `- ${f}`).join('\n')}\n\n${summary()}\n`);
  console.log(header);
  console.log(table);
  if (failures.length) {
    console.log(`\nfailures (${failures.length}):`);
    for (const f of failures) console.log(`- ${f}`);
  }
  console.log(summary());
  process.exit(code);
}

const timer = setTimeout(() => {
  failures.push(`global timeout after ${GLOBAL_TIMEOUT_MS / 1000}s`);
  log('GLOBAL TIMEOUT');
  void finish(3);
}, GLOBAL_TIMEOUT_MS);
timer.unref();
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => void finish(130));
process.on('exit', () => killAll());

main().then(
  () => finish(failures.length ? 1 : 0),
  (e: unknown) => {
    failures.push(`harness error: ${(e as Error).stack ?? e}`);
    return finish(2);
  },
);
