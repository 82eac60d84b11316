/**
 * Shared helpers of the engine scenarios: hand-made schedules-topic records (the way a non-ksched
 * producer, kcat or a buggy client writes them) and small assertions over what was dispatched.
 */
import {
  Header,
  type PartitionBatch,
  type ProduceRecord,
  type RecordHeaders,
  type SubscribeOptions,
  type Subscription,
  type TopicPartition,
  type Transport,
  type Watermarks,
} from '@ksched/core';
import type { DispatchedMessage, TestEnvironment } from '@ksched/testkit';

/** 2026-01-01T12:00:00Z, the environment's default start. */
export const NOON = Date.UTC(2026, 0, 1, 12);
export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

export const seconds = (ms: number): number => Math.floor(ms / 1000);

/** `YYYY-MM-DD` (UTC) of a Unix ms instant. */
export const utcDate = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

export interface RawScheduleInput {
  readonly topic?: string;
  readonly key: string;
  /** Due time in Unix seconds (`schedule_target_epoch`). */
  readonly epoch: number | string;
  /** `schedule_target_epoch_ms`, when given. */
  readonly epochMs?: number | string;
  readonly target?: string;
  readonly targetPartition?: number | string;
  readonly targetKey?: string;
  readonly payload?: string | null;
  readonly version?: string;
  readonly partition?: number;
  /** CreateTime, Unix ms (default: the producer's clock). */
  readonly timestamp?: number;
  /** Extra headers (win over the schedule headers, to break them on purpose). */
  readonly headers?: RecordHeaders;
}

/** A v1.0.0 schedule written by hand (no builder checks: past epochs, odd versions…). */
export function rawSchedule(input: RawScheduleInput): ProduceRecord {
  const headers: Record<string, string | Uint8Array> = {
    [Header.schemaVersion]: input.version ?? '1.0.0',
    [Header.sourceType]: 'schedule',
    [Header.targetEpoch]: String(input.epoch),
    [Header.targetTopic]: input.target ?? 'events',
  };
  if (input.epochMs !== undefined) headers[Header.targetEpochMs] = String(input.epochMs);
  if (input.targetPartition !== undefined) headers[Header.targetPartition] = String(input.targetPartition);
  if (input.targetKey !== undefined) headers[Header.targetKey] = input.targetKey;
  Object.assign(headers, input.headers ?? {});
  return {
    topic: input.topic ?? 'scheduled_messages',
    key: input.key,
    value: input.payload === undefined ? `payload-${input.key}` : input.payload,
    headers,
    partition: input.partition ?? 0,
    ...(input.timestamp !== undefined ? { timestamp: input.timestamp } : {}),
  };
}

/** A hand-made tombstone (as the reference's integration specs write them): type and version only, unless `epoch` is given. */
export function rawTombstone(input: {
  readonly topic?: string;
  readonly key: string;
  readonly partition?: number;
  readonly epoch?: number;
}): ProduceRecord {
  return {
    topic: input.topic ?? 'scheduled_messages',
    key: input.key,
    value: null,
    headers: {
      [Header.schemaVersion]: '1.0.0',
      [Header.sourceType]: 'tombstone',
      ...(input.epoch !== undefined ? { [Header.targetEpoch]: String(input.epoch) } : {}),
    },
    partition: input.partition ?? 0,
  };
}

/** A hand-made cancel. */
export function rawCancel(input: { readonly topic?: string; readonly key: string; readonly partition?: number }): ProduceRecord {
  return {
    topic: input.topic ?? 'scheduled_messages',
    key: input.key,
    value: null,
    headers: { [Header.schemaVersion]: '1.0.0', [Header.sourceType]: 'cancel' },
    partition: input.partition ?? 0,
  };
}

/** How many times each schedule key was delivered. */
export function deliveryCounts(messages: readonly DispatchedMessage[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const m of messages) {
    const key = m.scheduleKey ?? '(none)';
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** Keys delivered more than once, with their count. */
export function duplicates(messages: readonly DispatchedMessage[]): [string, number][] {
  return [...deliveryCounts(messages)].filter(([, n]) => n > 1);
}

/** Every schedule key exactly once: no loss, no duplicate. */
export function expectExactlyOnce(
  messages: readonly DispatchedMessage[],
  keys: readonly string[],
): { lost: string[]; duplicated: [string, number][]; unexpected: string[] } {
  const counts = deliveryCounts(messages);
  const wanted = new Set(keys);
  return {
    lost: keys.filter((k) => !counts.has(k)),
    duplicated: [...counts].filter(([, n]) => n > 1),
    unexpected: [...counts.keys()].filter((k) => !wanted.has(k)),
  };
}

/** A logger that keeps every call, for "logged once" assertions. */
export function recordingLogger(): {
  readonly entries: { level: string; fields: Record<string, unknown>; message: string }[];
  readonly logger: {
    debug(fields: Record<string, unknown>, message: string): void;
    info(fields: Record<string, unknown>, message: string): void;
    warn(fields: Record<string, unknown>, message: string): void;
    error(fields: Record<string, unknown>, message: string): void;
  };
} {
  const entries: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, message: string) => {
    entries.push({ level, fields, message });
  };
  return { entries, logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') } };
}

/** Advances fake time in steps (so that each step's timers and async work settle). */
export async function advanceBy(env: TestEnvironment, totalMs: number, stepMs: number): Promise<void> {
  let left = totalMs;
  while (left > 0) {
    const step = Math.min(stepMs, left);
    await env.advance(step);
    left -= step;
  }
}

/** A deterministic PRNG (mulberry32), so "random" scenarios replay identically. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Hooks of {@link interceptTransport}. */
export interface TransportHooks {
  /** Runs before the engine handles each delivered batch (may be async). */
  readonly beforeBatch?: (batch: PartitionBatch) => Promise<void> | void;
  /** Runs after the engine handled each delivered batch. */
  readonly afterBatch?: (batch: PartitionBatch) => Promise<void> | void;
  /** Sees every `sendInTransaction` of the member's transactional producers (records, and whether it committed). */
  readonly onTransaction?: (transactionalId: string, records: readonly ProduceRecord[], outcome: 'committed' | 'failed') => void;
  /** Sees every `close` of the member's transactional producers. */
  readonly onProducerClose?: (transactionalId: string) => void;
  /** Runs before each transactional producer `init`; a throw makes it reject. */
  readonly beforeInit?: (transactionalId: string) => void;
  /** Runs before each `seekToBeginning` and `seek`; a throw makes the seek reject (a broker that does not answer). */
  readonly beforeSeek?: (tp: TopicPartition) => void;
  /** Runs before `seekToBeginning` (or `seek`) resolves, with the watermarks it returns. */
  readonly onSeek?: (tp: TopicPartition, watermarks: Watermarks) => void;
}

/** A `Transport` delegating to `inner`, with hooks around batches, seeks and transactions. */
export function interceptTransport(inner: Transport, hooks: TransportHooks): Transport {
  return {
    specificationVersion: 'v1',
    connect: () => inner.connect(),
    close: () => inner.close(),
    fetchWatermarks: (tp) => inner.fetchWatermarks(tp),
    offsetForTime: (tp, timestampMs) => inner.offsetForTime(tp, timestampMs),
    partitionCount: (topic) => inner.partitionCount(topic),
    produce: (records) => inner.produce(records),
    produceNoWait: (records, onError) => inner.produceNoWait(records, onError),
    commitOffsets: (offsets) => inner.commitOffsets(offsets),
    async seekToBeginning(tp) {
      hooks.beforeSeek?.(tp);
      const watermarks = await inner.seekToBeginning(tp);
      hooks.onSeek?.(tp, watermarks);
      return watermarks;
    },
    async seek(tp, offset) {
      hooks.beforeSeek?.(tp);
      const watermarks = await inner.seek(tp, offset);
      hooks.onSeek?.(tp, watermarks);
      return watermarks;
    },
    openReader: (tp, options) => inner.openReader(tp, options),
    async createTransactionalProducer(transactionalId) {
      const producer = await inner.createTransactionalProducer(transactionalId);
      return {
        transactionalId: producer.transactionalId,
        init: async () => {
          hooks.beforeInit?.(transactionalId);
          await producer.init();
        },
        close: () => {
          hooks.onProducerClose?.(transactionalId);
          return producer.close();
        },
        async sendInTransaction(records) {
          try {
            const out = await producer.sendInTransaction(records);
            hooks.onTransaction?.(transactionalId, records, 'committed');
            return out;
          } catch (error) {
            hooks.onTransaction?.(transactionalId, records, 'failed');
            throw error;
          }
        },
      };
    },
    subscribe(options: SubscribeOptions): Promise<Subscription> {
      const listener = options.listener;
      return inner.subscribe({
        ...options,
        listener: {
          onAssigned: (tps) => listener.onAssigned(tps),
          onRevoked: (tps) => listener.onRevoked(tps),
          ...(listener.onError ? { onError: (error: unknown) => listener.onError!(error) } : {}),
          async onBatch(batch) {
            await hooks.beforeBatch?.(batch);
            await listener.onBatch(batch);
            await hooks.afterBatch?.(batch);
          },
        },
      });
    },
  };
}
