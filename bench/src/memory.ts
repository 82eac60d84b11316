/**
 * Memory: heap (plus ArrayBuffer contents) per buffered schedule after GC, minus the bytes of its
 * key, header names and values, and payload. A PartitionEngine is fed directly through a stub
 * Transport (seekToBeginning → {low: 0, high: N}); records are built the way each adapter builds
 * them (its own fromKafkaMessage / fromRdKafkaMessage on client-shaped messages), so no broker
 * confounds the number. Baseline in the same run: the same records held in a Map by key.
 *
 *   node --expose-gc … src/memory.ts [--quick] [--schedules 1000000]
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
const topic = 'bench_memory';
const dayStart = 1_767_225_600_000;
const clock: Clock = { now: () => dayStart + 1000, setTimeout: () => ({}), clearTimeout: () => {} };
const value = 'v'.repeat(200);

function record(name: AdapterName, i: number): ConsumedRecord {
  const dueMs = dayStart + 3_600_000 + (i % 80_000_000);
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

const stub: Transport = {
  specificationVersion: 'v1',
  connect: async () => {},
  close: async () => {},
  subscribe: async () => ({ close: async () => {} }),
  seekToBeginning: async () => ({ low: 0, high: N }),
  fetchWatermarks: async () => ({ low: 0, high: N }),
  partitionCount: async () => 1,
  produce: async (records) => records.map(() => ({ topic, partition: 0, offset: -1 })),
  produceNoWait: () => {},
  createTransactionalProducer: async () => {
    throw new Error('not used');
  },
  commitOffsets: async () => {},
};

const results: Record<string, unknown> = {};
for (const name of adapters) {
  const data = dataBytes(record(name, 0));
  // Baseline: the records held in a Map by key (what keeping them costs without ksched).
  let base = used();
  let map: Map<string, ConsumedRecord> | undefined = new Map();
  for (let i = 0; i < N; i++) {
    const r = record(name, i);
    map.set(`bench-target-${String(i).padStart(8, '0')}`, r);
  }
  const mapPer = (used() - base) / N;
  if (map.size !== N) throw new Error('map size');
  map = undefined;

  base = used();
  let engine: PartitionEngine | undefined = new PartitionEngine({
    topic,
    partition: 0,
    transport: stub,
    clock,
    options: parseSchedulerOptions({ topics: [topic], commitOffsets: false }),
    events: new SchedulerEvents(),
    logger: noopLogger,
  });
  await engine.start();
  const batch = 5000;
  const loadStart = performance.now();
  for (let i = 0; i < N; i += batch) {
    const records: ConsumedRecord[] = [];
    for (let j = i; j < Math.min(N, i + batch); j++) records.push(record(name, j));
    await engine.handleBatch({ topic, partition: 0, records, position: Math.min(N, i + batch) });
  }
  const loadMs = performance.now() - loadStart;
  const status = engine.status();
  if (status.buffered !== N || status.state !== 'loaded')
    throw new Error(`expected ${N} buffered and loaded, got ${status.buffered} ${status.state}`);
  const per = (used() - base) / N;
  await engine.stop({ report: false });
  engine = undefined;
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
  };
}
writeResult('memory', {
  schedules: N,
  payloadBytes: 200,
  note: 'heapUsed + arrayBuffers after gc; malloc overhead of ArrayBuffer backing stores not counted',
  adapters: results,
  node: process.version,
});
void DAY_MS;
