/**
 * The engine decodes each schedules-topic record once, when it reads it: a buffered schedule
 * keeps its decoded routing in its packed form, so dispatching it decodes nothing again. The
 * decoder is wrapped in a counting spy (the engine imports it from the codec module).
 */
import { describe, expect, it, vi } from 'vitest';
import { Header, SCHEMA_VERSION, SourceType } from '../../src/contracts/headers.js';
import { parseSchedulerOptions } from '../../src/contracts/options.js';
import { SchedulerEvents } from '../../src/engine/events.js';
import { PartitionEngine } from '../../src/engine/partition-engine.js';
import type { Clock } from '../../src/ports/clock.js';
import { noopLogger } from '../../src/ports/logger.js';
import type { ConsumedRecord, ProduceRecord, Transport } from '../../src/ports/transport.js';
import * as codec from '../../src/wire/codec/index.js';
import { wireBytes } from './wire-bytes.js';

vi.mock('../../src/wire/codec/index.js', async (importOriginal) => {
  const actual = await importOriginal<typeof codec>();
  return { ...actual, decodeRecord: vi.fn(actual.decodeRecord) };
});

const topic = 'scheduled';
const T0 = 1_767_225_600_000;
const enc = new TextEncoder();

function scheduleRecord(i: number): ConsumedRecord {
  const dueMs = T0 + 1000 + i;
  const headers: Record<string, string | Uint8Array> = {
    'trace-id': `t-${i}`,
    [Header.schemaVersion]: SCHEMA_VERSION,
    [Header.sourceType]: enc.encode(SourceType.schedule),
    [Header.targetEpoch]: String(Math.floor(dueMs / 1000)),
    [Header.targetEpochMs]: String(dueMs),
    [Header.targetTopic]: i % 2 === 0 ? 'orders' : enc.encode('invoices'),
  };
  if (i % 3 === 0) headers[Header.targetPartition] = String(i);
  if (i % 4 === 0) headers[Header.targetKey] = `order-${i}`;
  if (i % 5 === 0) headers[Header.targetPartitionKey] = `tenant-${i}`;
  return { topic, partition: 2, offset: i, key: enc.encode(`k-${i}`), value: enc.encode(`payload ${i}`), headers, timestamp: T0 };
}

/** A stub transport for one partition of `n` records that records what is produced. */
function stubTransport(n: number, produced: ProduceRecord[]): Transport {
  return {
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
      produced.push(...records);
      return records.map(() => ({ topic, partition: 0, offset: -1 }));
    },
    produceNoWait: () => {},
    createTransactionalProducer: async () => {
      throw new Error('not used');
    },
    commitOffsets: async () => {},
  };
}

describe('decode once', () => {
  it('dispatching buffered schedules calls the decoder no more times than reading them did, and produces what decoding would', async () => {
    const n = 40;
    let now = T0;
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
    const produced: ProduceRecord[] = [];
    const engine = new PartitionEngine({
      topic,
      partition: 2,
      transport: stubTransport(n, produced),
      clock,
      options: parseSchedulerOptions({ topics: [topic], commitOffsets: false, flushBatchSize: 10 }),
      events: new SchedulerEvents(),
      logger: noopLogger,
    });
    const decodeRecord = vi.mocked(codec.decodeRecord);
    decodeRecord.mockClear();
    await engine.start();
    const records = Array.from({ length: n }, (_, i) => scheduleRecord(i));
    await engine.handleBatch({ topic, partition: 2, records, position: n });
    expect(engine.status()).toMatchObject({ state: 'loaded', buffered: n, dispatched: 0 });
    const afterRead = decodeRecord.mock.calls.length;
    expect(afterRead).toBe(n);

    now = T0 + 5000;
    for (let turn = 0; turn < 100 && engine.status().dispatched < n; turn++) {
      const due = [...timers.values()];
      timers.clear();
      for (const fire of due) fire();
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(engine.status()).toMatchObject({ dispatched: n, buffered: 0 });
    expect(decodeRecord.mock.calls.length).toBe(afterRead);

    // The records produced are those decoding each consumed record again would give, in order.
    const expected = records.flatMap((record) => {
      const decoded = decodeRecord.getMockImplementation()!(record);
      if (decoded.kind !== 'schedule') throw new Error(decoded.kind);
      const pair = codec.dispatchPair(record, decoded.target);
      return [pair.target, pair.tombstone];
    });
    const targets = produced.filter((r) => r.topic !== topic);
    const tombstones = produced.filter((r) => r.topic === topic);
    expect(targets.map(wireBytes)).toEqual(expected.filter((r) => r.topic !== topic).map(wireBytes));
    expect(tombstones.map(wireBytes)).toEqual(expected.filter((r) => r.topic === topic).map(wireBytes));
    await engine.stop({ report: false });
  });
});
