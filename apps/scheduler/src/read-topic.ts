/**
 * Reads records of a topic from its beginning up to the end offset seen at the start, through
 * the `Transport` port (so it works with either adapter). The transport port joins a consumer
 * group to consume (kafkajs cannot assign partitions by hand), so this uses a throw-away group
 * that never commits offsets.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import { TransportError } from '@ksched/core';
import type { ConsumedRecord, Subscription, Transport } from '@ksched/core';

/** Options of {@link readTopic}. */
export interface ReadTopicOptions {
  readonly topic: string;
  /** Partitions to read; default: all. */
  readonly partitions?: readonly number[];
  /** Skip records below this offset. */
  readonly fromOffset?: number;
  /** Stop a partition after this many records (at or above `fromOffset`). */
  readonly limit?: number;
  /** Give up after this long, ms. Default 60 s. */
  readonly timeoutMs?: number;
  /** Consumer group to use; default `ksched-cli-<uuid>`. */
  readonly groupId?: string;
}

/** What {@link readTopic} found in one partition. */
export interface PartitionRead {
  readonly partition: number;
  readonly low: number;
  readonly high: number;
  readonly records: ConsumedRecord[];
}

/**
 * Reads `topic` (or some of its partitions) from the low watermark to the end offset seen at
 * assignment. Resolves with one entry per requested partition, in partition order.
 *
 * @throws TransportError when the topic or a partition does not exist, or on timeout.
 */
export async function readTopic(transport: Transport, options: ReadTopicOptions): Promise<PartitionRead[]> {
  const count = await transport.partitionCount(options.topic);
  const wanted = options.partitions ?? Array.from({ length: count }, (_, i) => i);
  for (const p of wanted) {
    if (!Number.isInteger(p) || p < 0 || p >= count) {
      throw new TransportError(
        `partition ${p} of ${options.topic} does not exist (it has ${count} partition${count === 1 ? '' : 's'}: 0..${count - 1})`,
        { retriable: false },
      );
    }
  }
  const from = options.fromOffset ?? 0;
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const reads = new Map<number, { low: number; high: number; records: ConsumedRecord[]; done: boolean }>();
  let subscribing: Promise<Subscription> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const reading = new Promise<PartitionRead[]>((resolve, reject) => {
    const finishIfDone = () => {
      if (wanted.every((p) => reads.get(p)?.done === true)) {
        resolve(wanted.map((p) => ({ partition: p, low: reads.get(p)!.low, high: reads.get(p)!.high, records: reads.get(p)!.records })));
      }
    };
    timer = setTimeout(
      () => reject(new TransportError(`timed out reading ${options.topic}`, { retriable: true })),
      options.timeoutMs ?? 60_000,
    );
    subscribing = transport.subscribe({
      groupId: options.groupId ?? `ksched-cli-${randomUUID()}`,
      topics: [options.topic],
      listener: {
        onAssigned: async (tps) => {
          for (const tp of tps) {
            if (!wanted.includes(tp.partition) || reads.has(tp.partition)) continue;
            const wm = await transport.seekToBeginning(tp);
            const done = wm.high <= wm.low || wm.high <= from;
            reads.set(tp.partition, { low: wm.low, high: wm.high, records: [], done });
          }
          finishIfDone();
        },
        onRevoked: () => {},
        onBatch: (batch) => {
          const read = reads.get(batch.partition);
          if (read === undefined || read.done) return;
          for (const record of batch.records) {
            if (record.offset >= read.high) break;
            if (record.offset >= from && read.records.length < limit) read.records.push(record);
          }
          if (batch.position >= read.high || read.records.length >= limit) {
            read.done = true;
            finishIfDone();
          }
        },
        onError: (error) => reject(error),
      },
    });
    subscribing.catch(reject);
  });
  try {
    return await reading;
  } finally {
    clearTimeout(timer);
    const subscription = await subscribing?.catch(() => undefined);
    await subscription?.close();
  }
}
