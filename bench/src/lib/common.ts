/** Shared helpers of the broker benchmarks: broker, topics, records, stats, results. */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import rdkafka from 'node-rdkafka';
import { createKafkaJsTransport } from '@ksched/kafka-adapter-kafkajs';
// The adapter's private kafkajs copy (its corrections: see the module). Not a public entry point:
// the bench reaches into the source for a like-for-like raw producer only.
import { kafkajs as adapterKafkaJs } from '../../../packages/kafka-adapter-kafkajs/src/internal/kafkajs.js';
import { createRdKafkaTransport } from '@ksched/kafka-adapter-rdkafka';
import { Header, SCHEMA_VERSION, SourceType, type Transport } from '@ksched/core';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const resultsDir = fileURLToPath(new URL('../../results/', import.meta.url));
export type AdapterName = 'kafkajs' | 'rdkafka';
export const adapters: AdapterName[] = (process.env.KSCHED_BENCH_ADAPTERS ?? 'kafkajs,rdkafka').split(',') as AdapterName[];

export const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
/** A text argument `--name value`, else `fallback`. */
export const argText = (name: string, fallback: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : fallback;
};
export const quick = process.argv.includes('--quick');

/** Brokers from KSCHED_BROKERS, else the local broker started with scripts/kafka/kafka.sh (honours KSCHED_KAFKA_PORT). */
export function brokers(): string[] {
  if (process.env.KSCHED_BROKERS) return process.env.KSCHED_BROKERS.split(',');
  const out = execFileSync(`${repoRoot}scripts/kafka/kafka.sh`, ['start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const last = out.trim().split('\n').pop()!.trim();
  process.env.KSCHED_BROKERS = last;
  return [last];
}

export function kafka(list: string[], client: KafkaJsClient = 'installed'): kafkajs.Kafka {
  const K = client === 'adapter-copy' ? adapterKafkaJs : kafkajs;
  return new K.Kafka({ brokers: list, clientId: 'ksched-bench', logLevel: K.logLevel.NOTHING });
}

/**
 * Which kafkajs a raw side uses: kafkajs as installed (what a user producing directly would run),
 * or the adapter's private copy, whose produce path allocates less (same bytes; see
 * packages/kafka-adapter-kafkajs/src/internal/encoding.ts): ksched's own cost, like for like.
 */
export type KafkaJsClient = 'installed' | 'adapter-copy';

/** The adapter's transport with default settings; KSCHED_BENCH_KAFKAJS_OPTS / KSCHED_BENCH_RDKAFKA_OPTS (JSON) add options for experiments. */
export function transportFor(name: AdapterName, list: string[], options: object = {}): Transport {
  const extra = {
    ...(JSON.parse(process.env[name === 'kafkajs' ? 'KSCHED_BENCH_KAFKAJS_OPTS' : 'KSCHED_BENCH_RDKAFKA_OPTS'] ?? '{}') as object),
    ...options,
  };
  return name === 'kafkajs'
    ? createKafkaJsTransport({ brokers: list, clientId: 'ksched-bench', logLevel: 'nothing', ...extra })
    : createRdKafkaTransport({ brokers: list, clientId: 'ksched-bench', logLevel: 'nothing', ...extra } as never);
}

/** (Re)creates topics with one partition each. */
export async function recreateTopics(list: string[], topics: string[], partitions = 1): Promise<void> {
  const admin = kafka(list).admin();
  await admin.connect();
  const existing = new Set(await admin.listTopics());
  const del = topics.filter((t) => existing.has(t));
  if (del.length > 0) {
    await admin.deleteTopics({ topics: del });
    for (let i = 0; i < 100; i++) {
      const now = new Set(await admin.listTopics());
      if (del.every((t) => !now.has(t))) break;
      await sleep(100);
    }
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions: partitions })), waitForLeaders: true });
      break;
    } catch (error) {
      if (attempt > 30) throw error;
      await sleep(300);
    }
  }
  await admin.disconnect();
}

export async function highWatermark(list: string[], topic: string): Promise<number | undefined> {
  const admin = kafka(list).admin();
  await admin.connect();
  try {
    if (!(await admin.listTopics()).includes(topic)) return undefined;
    const offsets = await admin.fetchTopicOffsets(topic);
    return offsets.reduce((s, o) => s + Number(o.high), 0);
  } finally {
    await admin.disconnect();
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const payload = (size: number) => Buffer.alloc(size, 0x61);

/** Headers of a v1.0.0 schedule envelope due at `dueMs`, to `targetTopic`. */
export function scheduleHeaders(dueMs: number, targetTopic: string): Record<string, string> {
  return {
    [Header.schemaVersion]: SCHEMA_VERSION,
    [Header.sourceType]: SourceType.schedule,
    [Header.targetEpoch]: String(Math.floor(dueMs / 1000)),
    [Header.targetEpochMs]: String(dueMs),
    [Header.targetTopic]: targetTopic,
  };
}

/** Seeds `count` records produced by `make(i)` with a kafkajs producer, `chunk` per request, a few requests in flight. */
export async function seed(
  list: string[],
  topic: string,
  count: number,
  make: (i: number) => { key: string; value: Buffer | null; headers: Record<string, string> },
  chunk = 2000,
): Promise<void> {
  const producer = kafka(list).producer({ allowAutoTopicCreation: false, maxInFlightRequests: 5 });
  await producer.connect();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < count; i += chunk) {
    const messages = [];
    for (let j = i; j < Math.min(count, i + chunk); j++) messages.push({ ...make(j), partition: 0 });
    inflight.push(producer.send({ topic, messages, acks: 1, compression: kafkajs.CompressionTypes.None }));
    if (inflight.length >= 4) await inflight.shift();
  }
  await Promise.all(inflight);
  await producer.disconnect();
}

/**
 * Seeds `count` records into partition `partition` of `topic` (or the record's own `partition`)
 * with a node-rdkafka producer: large batches (librdkafka fills ~1 MB requests), no compression
 * (kafkajs cannot read lz4/zstd), acks = 1, a flush at the end; several times faster than
 * {@link seed}. Checks the high watermark grew by `count`. A record's `timestamp` (Unix ms)
 * becomes its CreateTime (the client's clock without one).
 */
export async function seedFast(
  list: string[],
  topic: string,
  count: number,
  make: (i: number) => { key: string; value: Buffer | null; headers: Record<string, string>; timestamp?: number; partition?: number },
  partition = 0,
): Promise<void> {
  const producer = new rdkafka.Producer({
    'metadata.broker.list': list.join(','),
    'linger.ms': 50,
    'batch.num.messages': 100_000,
    'batch.size': 1_000_000,
    'queue.buffering.max.messages': 2_000_000,
    'queue.buffering.max.kbytes': 2_000_000,
    'compression.codec': 'none',
    acks: 1,
    dr_cb: true,
  } as never);
  await new Promise<void>((resolve, reject) => producer.connect({}, (err) => (err ? reject(err) : resolve())));
  let failed: unknown;
  producer.on('delivery-report', (err) => {
    if (err && !failed) failed = err;
  });
  producer.setPollInterval(50);
  const watermark = async (): Promise<number> => {
    for (let attempt = 0; ; attempt++) {
      try {
        return (await highWatermark(list, topic)) ?? 0;
      } catch (error) {
        // A topic just created may not have its leader in the admin's metadata yet.
        if (attempt > 30) throw error;
        await sleep(300);
      }
    }
  };
  const before = await watermark();
  for (let i = 0; i < count; i++) {
    const r = make(i);
    const headers = Object.entries(r.headers).map(([k, v]) => ({ [k]: v }));
    for (;;) {
      try {
        producer.produce(topic, r.partition ?? partition, r.value, r.key, r.timestamp, undefined, headers);
        break;
      } catch {
        // Local queue full: let librdkafka send some.
        await sleep(20);
      }
    }
    if (failed) throw failed;
  }
  await new Promise<void>((resolve, reject) => producer.flush(120_000, (err) => (err ? reject(err) : resolve())));
  await new Promise<void>((resolve) => producer.disconnect(() => resolve()));
  if (failed) throw failed;
  const after = await watermark();
  if (after - before < count) throw new Error(`seeded ${after - before} of ${count} records into ${topic}`);
}

/** Deletes topics (best effort: frees the broker's disk after a run). */
export async function deleteTopics(list: string[], topics: string[]): Promise<void> {
  const admin = kafka(list).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics });
  } catch {
    // best effort
  } finally {
    await admin.disconnect();
  }
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(values: number[]): { n: number; p50: number; p99: number; max: number; min: number } {
  const s = Float64Array.from(values).sort();
  const arr = Array.from(s);
  return { n: arr.length, p50: percentile(arr, 50), p99: percentile(arr, 99), max: arr[arr.length - 1] ?? NaN, min: arr[0] ?? NaN };
}

export function writeResult(name: string, data: unknown): void {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(`${resultsDir}${name}.json`, JSON.stringify(data, null, 2));
}

/** Takes the start; the function returned gives the busy share of all the machine's CPUs since then (os.cpus() times). */
export function machineCpu(): () => number {
  const take = () =>
    os.cpus().reduce(
      (a, c) => ({
        idle: a.idle + c.times.idle,
        total: a.total + c.times.user + c.times.nice + c.times.sys + c.times.idle + c.times.irq,
      }),
      { idle: 0, total: 0 },
    );
  const t0 = take();
  return () => {
    const t1 = take();
    return t1.total > t0.total ? 1 - (t1.idle - t0.idle) / (t1.total - t0.total) : NaN;
  };
}

/** Cores this process used (user + system, all its threads) since the call, per second of wall time. */
export function processCpu(): () => number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  return () => {
    const c = process.cpuUsage(c0);
    return (c.user + c.system) / 1000 / (performance.now() - t0);
  };
}

export const log = (...a: unknown[]) => console.error(`[${new Date().toISOString().slice(11, 23)}]`, ...a);

export const nowNs = () => process.hrtime.bigint();
export const msSince = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;
