/**
 * Trial 5 of the chaos harness (security): for each adapter, a real `ksched run` configured
 * through the broker's SASL_SSL listener only (SCRAM-SHA-512, the broker certificate checked
 * against the CA file that scripts/kafka/kafka.sh made), a burst of schedules produced through
 * SASL_SSL too, checked by the independent checker (0 lost, 0 early); then the scheduler's whole
 * log and the bodies of /metrics and /readyz are searched for the password (0 leaks).
 *
 * The listener: `CHAOS_SASL_INFO` / `KSCHED_SASL_INFO` (JSON as `kafka.sh sasl-info` prints it), or
 * `kafka.sh sasl-info` of the local broker (the harness starts it with `KSCHED_KAFKA_SASL=1`). On an
 * external cluster without such info the trial is skipped with a log line; on the harness's own
 * broker a missing listener fails it.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { schedule } from '@ksched/core';
import { CompressionTypes, Kafka, logLevel, type Message } from 'kafkajs';
import { Checker } from './checker.js';
import { ROOT, httpGet, log, metricSamples, sleep, stopScheduler, waitReady, type SchedulerProc, type TrialRow } from './util.js';

const num = (name: string, dflt: number): number => Number(process.env[name] ?? dflt);
/** Schedules per adapter, how far ahead the first one is due, the window they are spread over. */
const COUNT = num('CHAOS_SECURITY_SCHEDULES', 200);
const LEAD_MS = num('CHAOS_SECURITY_LEAD_MS', 4000);
const SPREAD_MS = num('CHAOS_SECURITY_SPREAD_MS', 2000);
/** Lost = not dispatched within this long after its due time. */
const GRACE_MS = num('CHAOS_SECURITY_GRACE_MS', 15_000);
const PARTITIONS = 3;

/** One row of the harness's table. */
export type SecurityRow = TrialRow;

/** What the trial needs from run.ts. */
export interface SecurityContext {
  /** The PLAINTEXT bootstrap (topic creation and the checker). */
  readonly brokers: string;
  readonly runId: string;
  createTopics(topics: { topic: string; partitions: number; compact?: boolean }[]): Promise<void>;
  spawnSched(name: string, topic: string, group: string, transactional: boolean, extraEnv?: Record<string, string>): SchedulerProc;
}

interface SaslInfo {
  readonly brokers: string;
  readonly mechanism: 'scram-sha-512';
  readonly username: string;
  readonly passwordFile: string;
  readonly caFile: string;
}

/** The SASL_SSL listener, or why there is none (`skip`: an external cluster without SASL info). */
function saslInfo(brokers: string, harnessBroker: boolean): SaslInfo | { error: string } | 'skip' {
  const given = process.env['CHAOS_SASL_INFO'] ?? process.env['KSCHED_SASL_INFO'];
  if (given) return JSON.parse(given) as SaslInfo;
  const port = harnessBroker ? process.env['KSCHED_KAFKA_PORT'] : /^(?:127\.0\.0\.1|localhost):(\d+)$/.exec(brokers)?.[1];
  if (port === undefined) return 'skip';
  const env = { ...process.env, KSCHED_KAFKA_PORT: port };
  const script = join(ROOT, 'scripts/kafka/kafka.sh');
  if (!harnessBroker && spawnSync('bash', [script, 'status'], { env, stdio: 'ignore' }).status !== 0) return 'skip';
  const r = spawnSync('bash', [script, 'sasl-info'], { env, encoding: 'utf8' });
  if (r.status !== 0) return { error: `no SASL_SSL listener on the local broker (${r.stderr.trim()})` };
  return JSON.parse(r.stdout) as SaslInfo;
}

function row(adapter: string, fields: Partial<SecurityRow>): SecurityRow {
  return {
    trial: `security ${adapter}`,
    mode: 'alo',
    n: COUNT,
    lost: 0,
    dup: 0,
    early: 0,
    crashes: 0,
    invalid: '',
    notes: '',
    ok: false,
    ...fields,
  };
}

/** Trial 5 for both adapters: one table row each, and the failures to report. */
export async function securityTrial(ctx: SecurityContext, harnessBroker: boolean): Promise<{ rows: SecurityRow[]; failures: string[] }> {
  const info = saslInfo(ctx.brokers, harnessBroker);
  if (info === 'skip') {
    log('security trial skipped: KSCHED_BROKERS is an external cluster and CHAOS_SASL_INFO is not set');
    return { rows: [], failures: [] };
  }
  if ('error' in info) return { rows: [row('kafkajs+rdkafka', { notes: `ERROR ${info.error}` })], failures: [`security: ${info.error}`] };
  const password = readFileSync(info.passwordFile, 'utf8').trim();
  const rows: SecurityRow[] = [];
  const failures: string[] = [];
  for (const adapter of ['kafkajs', 'rdkafka'] as const) {
    log(`trial security ${adapter}: ${COUNT} schedules through SASL_SSL ${info.brokers} only`);
    let r: SecurityRow;
    try {
      r = await adapterRun(ctx, info, password, adapter);
    } catch (e) {
      r = row(adapter, { notes: `ERROR ${(e as Error).message}` });
      log(`  → ERROR ${(e as Error).stack}`);
    }
    log(`  → lost=${r.lost} dup=${r.dup} early=${r.early} crashes=${r.crashes} ${r.notes}`);
    rows.push(r);
    if (!r.ok) failures.push(`security ${adapter}: ${r.notes}`);
  }
  return { rows, failures };
}

async function adapterRun(ctx: SecurityContext, info: SaslInfo, password: string, adapter: 'kafkajs' | 'rdkafka'): Promise<SecurityRow> {
  const base = `chaos_${ctx.runId}_security_${adapter}`;
  const target = `${base}_target`;
  await ctx.createTopics([
    { topic: base, partitions: PARTITIONS, compact: true },
    { topic: `${base}_states`, partitions: PARTITIONS, compact: true },
    { topic: target, partitions: PARTITIONS },
  ]);
  const ca = readFileSync(info.caFile, 'utf8');
  const p = ctx.spawnSched(`security-${adapter}`, base, `${base}_g`, false, {
    KSCHED_BROKERS: info.brokers, // replaces the PLAINTEXT bootstrap: SASL_SSL only
    KSCHED_ADAPTER: adapter,
    KSCHED_SSL_CA_FILE: info.caFile,
    KSCHED_SASL_MECHANISM: info.mechanism,
    KSCHED_SASL_USERNAME: info.username,
    KSCHED_SASL_PASSWORD: password,
    KSCHED_CLIENT_LOG_LEVEL: 'info',
  });
  const notes: string[] = [];
  let crashes = 0;
  const checker = new Checker(ctx.brokers, [target], `chaos-check-${base}`);
  const kafka = new Kafka({
    clientId: 'chaos-security-producer',
    brokers: [info.brokers],
    ssl: { ca },
    sasl: { mechanism: info.mechanism, username: info.username, password },
    logLevel: logLevel.NOTHING,
  });
  const producer = kafka.producer({ allowAutoTopicCreation: false });
  try {
    if (!(await waitReady(p, 90_000))) throw new Error(`scheduler ${p.name} not ready in 90 s (log ${p.logFile})`);
    await Promise.all([checker.start(), producer.connect()]);

    const expected = new Map<string, number>();
    const dueBase = Date.now() + LEAD_MS;
    const messages: Message[] = [];
    for (let j = 0; j < COUNT; j++) {
      const id = `${base}-${j}`;
      const due = dueBase + Math.floor((j * SPREAD_MS) / COUNT);
      const rec = schedule({ message: { topic: target, key: id, payload: `p${j}` }, envelope: { topic: base, key: id }, at: due });
      const headers: Record<string, Buffer | string> = {};
      for (const [k, v] of Object.entries(rec.headers)) headers[k] = typeof v === 'string' ? v : Buffer.from(v);
      messages.push({ key: rec.key, value: rec.value === null ? null : Buffer.from(rec.value), headers, partition: j % PARTITIONS });
      expected.set(id, due);
    }
    await producer.send({ topic: base, messages, acks: -1, compression: CompressionTypes.None });
    if (Date.now() > dueBase) notes.push(`produce ended ${Date.now() - dueBase}ms after the first due time`);

    const complete = await checker.waitFor(() => checker.seen.size >= COUNT, dueBase + SPREAD_MS + GRACE_MS);
    await sleep(1500); // late duplicates
    const [metrics, readyz] = [await httpGet(p.port, '/metrics'), await httpGet(p.port, '/readyz')];
    await checker.stop();
    if (p.crashed) crashes++;
    const code = await stopScheduler(p);
    const v = checker.verdict(expected, GRACE_MS);

    const logText = readFileSync(p.logFile, 'utf8');
    const searched = [logText, metrics?.body ?? '', readyz?.body ?? ''];
    const leaks = searched.reduce((n, text) => n + text.split(password).length - 1, 0);
    const starting = logText.split('\n').find((l) => l.includes('"msg":"ksched scheduler starting"')) ?? '';
    const saslOnly = starting.includes(`"brokers":["${info.brokers}"]`) && starting.includes(`"adapter":"${adapter}"`);
    const dispatched = metricSamples(metrics?.body ?? '', 'ksched_dispatched_total').reduce((n, s) => n + s.value, 0);

    if (!complete) notes.push(`incomplete after grace: ${checker.seen.size}/${COUNT}`);
    if (v.lostIds.length) notes.push(`lost e.g. ${v.lostIds.slice(0, 3).join(',')}`);
    if (v.earlyIds.length) notes.push(`early e.g. ${v.earlyIds.slice(0, 3).join(',')}`);
    if (!saslOnly) notes.push('FAIL the startup log does not show the SASL_SSL bootstrap alone');
    if (metrics?.status !== 200 || readyz?.status !== 200) notes.push(`FAIL /metrics ${metrics?.status} /readyz ${readyz?.status}`);
    if (code !== 0) notes.push(`FAIL graceful stop exit ${code}`);
    notes.push(
      `password leaks ${leaks} (log ${(logText.length / 1024).toFixed(0)} KiB, /metrics, /readyz)`,
      `metric dispatched ${dispatched}`,
      `max lateness ${v.maxLatenessMs}ms`,
    );
    const ok =
      v.lost === 0 &&
      v.early === 0 &&
      crashes === 0 &&
      leaks === 0 &&
      saslOnly &&
      metrics?.status === 200 &&
      readyz?.status === 200 &&
      code === 0;
    return row(adapter, { lost: v.lost, dup: v.dup, early: v.early, crashes, notes: notes.join('; '), ok });
  } finally {
    await producer.disconnect().catch(() => {});
    await checker.stop();
    if (p.child.exitCode === null && p.child.signalCode === null) await stopScheduler(p, 5000);
  }
}
