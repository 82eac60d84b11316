/**
 * Memory: heap (plus ArrayBuffer contents) per buffered schedule after GC, minus the bytes of its
 * key, header names and values, and payload, with an unbounded window (a horizon of several days,
 * no memory ceiling: every schedule is held). Then a day of schedules (due evenly over the next
 * 24 h) held with the default 1 h window versus an unbounded one: heap growth in total and per
 * schedule of the day (target: the 1 h window holds ≤ 1/10 of the unbounded heap). A PartitionEngine is fed directly through a stub
 * Transport (seekToBeginning / seek → {low: 0, high: N}; a fixed clock, so no background read); records are built the way each adapter builds
 * them (its own fromKafkaMessage / fromRdKafkaMessage on client-shaped messages), so no broker
 * confounds the number. Baseline in the same run: the same records held in a Map by key.
 *
 *   node --expose-gc … src/memory.ts [--quick] [--schedules 1000000] [--day-schedules 5000000]
 */
import {
  DAY_MS,
  PartitionEngine,
  SchedulerEvents,
  noopLogger,
  parseSchedulerOptions,
  type Clock,
  type ConsumedRecord,
  type Transport,
} from '@ksched/core';
import { fromKafkaMessage } from '@ksched/kafka-adapter-kafkajs';
import { fromRdKafkaMessage } from '@ksched/kafka-adapter-rdkafka';
import { adapters, arg, log, quick, scheduleHeaders, writeResult, type AdapterName } from './lib/common.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const N = arg('schedules', quick ? 200_000 : 1_000_000);
/** The measure: schedules due evenly over the next 24 h, held with a 1 h window versus an unbounded one. */
const DAY_N = arg('day-schedules', quick ? 500_000 : 5_000_000);
const HORIZON_MS = 3_600_000;
const topic = 'bench_memory';
const dayStart = 1_767_225_600_000;
const clock: Clock = { now: () => dayStart + 1000, setTimeout: () => ({}), clearTimeout: () => {} };
const value = 'v'.repeat(200);

function record(name: AdapterName, i: number, dueMs = dayStart + 3_600_000 + (i % 80_000_000)): ConsumedRecord {
  const key = `bench-target-${String(i).padStart(8, '0')}`;
  const h = scheduleHeaders(dueMs, 'bench_memory_target');
  if (name === 'kafkajs') {
    const headers: Record<string, Buffer> = {};
    for (const [k, v] of Object.entries(h)) headers[k] = Buffer.from(v);
    return fromKafkaMessage(topic, 0, {
      key: Buffer.from(key),
      value: Buffer.from(value),
      headers,
      offset: String(i),
      timestamp: String(dayStart),
      attributes: 0,
      size: 0,
    } as never);
  }
  return fromRdKafkaMessage({
    topic,
    partition: 0,
    offset: i,
    key: Buffer.from(key),
    value: Buffer.from(value),
    headers: Object.entries(h).map(([k, v]) => ({ [k]: Buffer.from(v) })),
    timestamp: dayStart,
    size: 0,
  } as never);
}

function dataBytes(r: ConsumedRecord): number {
  let n = (r.key?.byteLength ?? 0) + (r.value?.byteLength ?? 0);
  for (const [k, v] of Object.entries(r.headers)) n += Buffer.byteLength(k) + (typeof v === 'string' ? Buffer.byteLength(v) : v.byteLength);
  return n;
}

function used(): number {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** A stub transport for a partition of `n` records: seeks report {low: 0, high: n}; nothing is read in the background. */
function stubTransport(n: number): Transport {
  return {
    specificationVersion: 'v1',
    connect: async () => {},
    close: async () => {},
    subscribe: async () => ({ close: async () => {} }),
    seekToBeginning: async () => ({ low: 0, high: n }),
    seek: async () => ({ low: 0, high: n }),
    openReader: async () => {
      throw new Error('not used: the stub clock never reaches a background read');
    },
    fetchWatermarks: async () => ({ low: 0, high: n }),
    offsetForTime: async () => 0,
    partitionCount: async () => 1,
    produce: async (records) => records.map(() => ({ topic, partition: 0, offset: -1 })),
    produceNoWait: () => {},
    createTransactionalProducer: async () => {
      throw new Error('not used');
    },
    commitOffsets: async () => {},
  };
}

/** Unbounded window: every schedule of the partition is held (horizon of several days, no memory ceiling). */
const unbounded = { bufferHorizonMs: 10 * DAY_MS, bufferMaxBytes: Number.MAX_SAFE_INTEGER };

/**
 * Loads `n` records (`make(i)`) into a fresh PartitionEngine with `options` and returns the heap
 * growth (after gc) while it holds them, with the engine's own status.
 */
async function load(
  n: number,
  make: (i: number) => ConsumedRecord,
  options: Record<string, unknown>,
): Promise<{ growthBytes: number; buffered: number; bufferedBytes: number; windowEndMs: number; loadMs: number }> {
  const base = used();
  let engine: PartitionEngine | undefined = new PartitionEngine({
    topic,
    partition: 0,
    transport: stubTransport(n),
    clock,
    options: parseSchedulerOptions({ topics: [topic], commitOffsets: false, ...options }),
    events: new SchedulerEvents(),
    logger: noopLogger,
  });
  await engine.start();
  const batch = 5000;
  const loadStart = performance.now();
  for (let i = 0; i < n; i += batch) {
    const records: ConsumedRecord[] = [];
    for (let j = i; j < Math.min(n, i + batch); j++) records.push(make(j));
    await engine.handleBatch({ topic, partition: 0, records, position: Math.min(n, i + batch) });
  }
  const loadMs = performance.now() - loadStart;
  const status = engine.status();
  if (status.state !== 'loaded') throw new Error(`expected loaded, got ${status.state}`);
  const growthBytes = used() - base;
  await engine.stop({ report: false });
  engine = undefined;
  return { growthBytes, buffered: status.buffered, bufferedBytes: status.bufferedBytes, windowEndMs: status.windowEndMs, loadMs };
}

/** Position in time of the i-th record of a day's partition: a permutation of 0..n-1, so records are not in due order. */
const PERMUTE = 7919;
const results: Record<string, unknown> = {};
for (const name of adapters) {
  const data = dataBytes(record(name, 0));
  // Baseline: the records held in a Map by key (what keeping them costs without ksched).
  const base = used();
  let map: Map<string, ConsumedRecord> | undefined = new Map();
  for (let i = 0; i < N; i++) {
    const r = record(name, i);
    map.set(`bench-target-${String(i).padStart(8, '0')}`, r);
  }
  const mapPer = (used() - base) / N;
  if (map.size !== N) throw new Error('map size');
  map = undefined;

  const full = await load(N, (i) => record(name, i), unbounded);
  if (full.buffered !== N) throw new Error(`expected ${N} buffered, got ${full.buffered}`);
  const per = full.growthBytes / N;
  const loadMs = full.loadMs;
  // A day of schedules (due evenly over the next 24 h, in no particular order in the partition):
  // the default 1 h window (default ceiling too) against an unbounded one.
  const now = clock.now();
  const dayDue = (i: number) => now + 1000 + Math.floor((((i * PERMUTE) % DAY_N) * DAY_MS) / DAY_N);
  let expectedInHour = 0;
  for (let i = 0; i < DAY_N; i++) if (dayDue(i) < now + HORIZON_MS) expectedInHour++;
  const hour = await load(DAY_N, (i) => record(name, i, dayDue(i)), { bufferHorizonMs: HORIZON_MS });
  if (hour.buffered !== expectedInHour) throw new Error(`1 h window: expected ${expectedInHour} buffered, got ${hour.buffered}`);
  const all = await load(DAY_N, (i) => record(name, i, dayDue(i)), unbounded);
  if (all.buffered !== DAY_N) throw new Error(`unbounded: expected ${DAY_N} buffered, got ${all.buffered}`);
  const day = {
    schedules: DAY_N,
    horizonMs: HORIZON_MS,
    hour: { ...hour, perScheduleBytes: hour.growthBytes / DAY_N },
    unbounded: { ...all, perScheduleBytes: all.growthBytes / DAY_N },
    /** 1 h heap / unbounded heap; target ≤ 0.1. */
    share: hour.growthBytes / all.growthBytes,
  };
  log(
    `${name}: ${DAY_N} schedules over 24 h: 1 h window holds ${hour.buffered} in ${(hour.growthBytes / 2 ** 20).toFixed(1)} MiB ` +
      `(${day.hour.perScheduleBytes.toFixed(1)} B per schedule of the day), unbounded ${all.buffered} in ${(all.growthBytes / 2 ** 20).toFixed(1)} MiB ` +
      `(${day.unbounded.perScheduleBytes.toFixed(1)} B); share ${day.share.toFixed(3)} (target ≤ 0.1)`,
  );
  log(
    `${name}: ${per.toFixed(0)} B/schedule buffered (data ${data} B, overhead ${(per - data).toFixed(0)} B); Map of records ${mapPer.toFixed(0)} B; record mapping + engine load ${((loadMs * 1000) / N).toFixed(2)} µs/record (CPU, no broker)`,
  );
  results[name] = {
    perScheduleBytes: per,
    dataBytes: data,
    overheadBytes: per - data,
    rawMapPerRecordBytes: mapPer,
    overheadVsRawMapBytes: per - mapPer,
    loadCpuUsPerRecord: (loadMs * 1000) / N,
    day,
  };
}
writeResult('memory', {
  schedules: N,
  daySchedules: DAY_N,
  payloadBytes: 200,
  note: 'heapUsed + arrayBuffers after gc; malloc overhead of ArrayBuffer backing stores not counted',
  adapters: results,
  node: process.version,
});
