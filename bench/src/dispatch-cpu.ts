/**
 * Dispatch CPU (no broker): microseconds a PartitionEngine spends per dispatched schedule, from
 * the buffer to the two records handed to the transport (take the due entries, rebuild each
 * schedule's target record and tombstone, hand them over, drop the entries, emit the events).
 * The engine is fed directly through a stub Transport whose produce resolves at once, with a
 * manual clock: `n` schedules (kafkajs-shaped records: byte headers) are loaded, all due, then the
 * clock is moved past their due time and the dispatch timer fired; the time until every schedule
 * is dispatched is divided by `n`. Best of `rounds`, each on a fresh engine.
 *
 *   pnpm --filter @ksched/bench bench:dispatch-cpu [--schedules 200000] [--rounds 5]
 */
import { writeFileSync } from 'node:fs';
import {
  Header,
  PartitionEngine,
  SCHEMA_VERSION,
  SchedulerEvents,
  SourceType,
  noopLogger,
  parseSchedulerOptions,
  type Clock,
  type ConsumedRecord,
  type ProduceRecord,
  type Transport,
} from '@ksched/core';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('schedules', 200_000);
const rounds = arg('rounds', 5);
const topic = 'bench_dispatch_cpu';
const dayStart = 1_767_225_600_000;
const value = Buffer.from('v'.repeat(200));

function record(i: number): ConsumedRecord {
  const dueMs = dayStart + 1000 + (i % 1000);
  const headers: Record<string, Buffer> = {
    [Header.schemaVersion]: Buffer.from(SCHEMA_VERSION),
    [Header.sourceType]: Buffer.from(SourceType.schedule),
    [Header.targetEpoch]: Buffer.from(String(Math.floor(dueMs / 1000))),
    [Header.targetEpochMs]: Buffer.from(String(dueMs)),
    [Header.targetTopic]: Buffer.from('bench_dispatch_target'),
    [Header.targetKey]: Buffer.from(`order-${i}`),
  };
  return {
    topic,
    partition: 0,
    offset: i,
    key: Buffer.from(`bench-target-${String(i).padStart(8, '0')}`),
    value,
    headers,
    timestamp: dayStart,
  };
}

/** One round: a fresh engine holding `n` due schedules; returns µs per dispatched schedule, and µs per tombstone read back. */
async function round(n: number): Promise<{ us: number; readBackUs: number }> {
  let now = dayStart;
  const timers = new Map<object, () => void>();
  const clock: Clock = {
    now: () => now,
    setTimeout: (cb) => {
      const handle = {};
      timers.set(handle, cb);
      return handle;
    },
    clearTimeout: (handle) => void timers.delete(handle as object),
  };
  let produced = 0;
  const tombstones: ProduceRecord[] = [];
  const transport: Transport = {
    specificationVersion: 'v1',
    connect: async () => {},
    close: async () => {},
    subscribe: async () => ({ close: async () => {} }),
    seekToBeginning: async () => ({ low: 0, high: n }),
    seek: async () => ({ low: 0, high: n }),
    openReader: async () => {
      throw new Error('not used: the window covers every schedule');
    },
    fetchWatermarks: async () => ({ low: 0, high: n }),
    offsetForTime: async () => 0,
    partitionCount: async () => 1,
    produce: async (records) => {
      produced += records.length;
      for (const r of records) if (r.topic === topic) tombstones.push(r);
      return records.map(() => ({ topic, partition: 0, offset: -1 }));
    },
    produceNoWait: () => {},
    createTransactionalProducer: async () => {
      throw new Error('not used');
    },
    commitOffsets: async () => {},
  };
  const engine = new PartitionEngine({
    topic,
    partition: 0,
    transport,
    clock,
    options: parseSchedulerOptions({ topics: [topic], commitOffsets: false, bufferHorizonMs: 86_400_000 }),
    events: new SchedulerEvents(),
    logger: noopLogger,
  });
  await engine.start();
  for (let i = 0; i < n; i += 5000) {
    const records: ConsumedRecord[] = [];
    for (let j = i; j < Math.min(n, i + 5000); j++) records.push(record(j));
    await engine.handleBatch({ topic, partition: 0, records, position: Math.min(n, i + 5000) });
  }
  if (engine.status().buffered !== n) throw new Error(`expected ${n} buffered, got ${engine.status().buffered}`);
  (globalThis as { gc?: () => void }).gc?.();
  now = dayStart + 5000;
  const t0 = process.hrtime.bigint();
  while (engine.status().dispatched < n) {
    const due = [...timers.values()];
    timers.clear();
    for (const fire of due) fire();
    await new Promise((resolve) => setImmediate(resolve));
  }
  const us = Number(process.hrtime.bigint() - t0) / 1e3 / n;
  if (produced !== 2 * n) throw new Error(`expected ${2 * n} records produced, got ${produced}`);

  // Read-back: the tombstones come back as a consumer hands them over (byte headers, batches of 500).
  const back: ConsumedRecord[] = tombstones.map((t, i) => ({
    topic,
    partition: 0,
    offset: n + i,
    key: bytes(t.key!),
    value: null,
    headers: Object.fromEntries(Object.entries(t.headers ?? {}).map(([name, v]) => [name, bytes(v)])),
    timestamp: now,
  }));
  (globalThis as { gc?: () => void }).gc?.();
  const t1 = process.hrtime.bigint();
  for (let i = 0; i < back.length; i += 500) {
    await engine.handleBatch({ topic, partition: 0, records: back.slice(i, i + 500), position: n + Math.min(back.length, i + 500) });
  }
  const readBackUs = Number(process.hrtime.bigint() - t1) / 1e3 / back.length;
  if (engine.status().buffered !== 0) throw new Error(`expected an empty buffer after the read-back, got ${engine.status().buffered}`);
  await engine.stop({ report: false });
  return { us, readBackUs };
}

const bytes = (v: string | Uint8Array): Buffer => (typeof v === 'string' ? Buffer.from(v) : Buffer.from(v));

let best = Number.POSITIVE_INFINITY;
let bestReadBack = Number.POSITIVE_INFINITY;
const all: number[] = [];
const allReadBack: number[] = [];
for (let r = 0; r < rounds; r++) {
  const { us, readBackUs } = await round(N);
  all.push(us);
  allReadBack.push(readBackUs);
  best = Math.min(best, us);
  bestReadBack = Math.min(bestReadBack, readBackUs);
}
const list = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
console.log(`dispatch CPU: ${best.toFixed(2)} µs per schedule (best of ${rounds}; all ${list(all)}; ${N} schedules)`);
console.log(`read-back CPU: ${bestReadBack.toFixed(2)} µs per own tombstone (best of ${rounds}; all ${list(allReadBack)})`);
writeFileSync(
  new URL('../results/dispatch-cpu.json', import.meta.url),
  `${JSON.stringify({ schedules: N, rounds, bestUsPerSchedule: best, allUsPerSchedule: all, bestReadBackUsPerTombstone: bestReadBack, allReadBackUsPerTombstone: allReadBack, node: process.version }, null, 2)}\n`,
);
