/**
 * The producer-side client applications use to schedule, cancel and reschedule messages. It builds
 * the records with core's `schedule`/`cancel` builders and sends them through a `Transport`, which
 * hashes `partitionKey` (or else the envelope key) with Kafka's murmur2, so a cancel or an update
 * reaches the partition of the schedule it refers to.
 *
 * @module
 */
import { cancel as buildCancel, schedule as buildSchedule, TransportError } from '@ksched/core';
import type { BuildOptions, Clock, DueTime, EnvelopeInput, EnvelopeRecord, ScheduleInput, ScheduleMessage, Transport } from '@ksched/core';
import { createKafkaJsTransport } from './kafkajs-transport.js';
import type { KafkaJsTransportOptions } from './options.js';

/** Client settings other than the connection. */
interface ScheduleClientSettings {
  /** The schedules topic every record goes to (also the only one the builders accept). */
  readonly schedulesTopic: string;
  /** "Now" for relative delays and the past/future limits. Default: the system clock. */
  readonly clock?: Pick<Clock, 'now'>;
  /** UUID v4 source for generated envelope keys. Default: `crypto.randomUUID`. */
  readonly uuid?: () => string;
}

/**
 * Options of {@link createScheduleClient}: a `transport` (the client does not close it), or kafkajs
 * transport options (the client creates its transport, connects it on first use and closes it).
 */
export type ScheduleClientOptions = ScheduleClientSettings & ({ readonly transport: Transport } | KafkaJsTransportOptions);

/** Where a schedule (or a cancel) landed, and what identifies it for a later cancel or update. */
export interface ScheduledRef {
  /** The envelope key (the schedule's identity within its partition). */
  readonly key: string;
  readonly topic: string;
  /** The partition it was written to: pass it to `cancel`/`reschedule` to reach the same partition. */
  readonly partition: number;
  /** Its offset, `-1` if the client did not report it. */
  readonly offset: number;
  /** The partition key it was hashed with, if any. */
  readonly partitionKey?: string;
}

/** Arguments of {@link ScheduleClient.schedule}: core's `ScheduleInput` without the envelope topic. */
export type ClientScheduleInput = {
  readonly message: ScheduleMessage;
  /** Envelope key and routing; the topic is the client's schedules topic. */
  readonly envelope?: Omit<EnvelopeInput, 'topic'>;
} & DueTime;

/**
 * The schedule a cancel or an update refers to: its key and, to reach its partition, the
 * partition it landed on (best: `ScheduledRef.partition`) or the partition key it was produced
 * with. With neither, the key itself is hashed, which is right for schedules partitioned by key.
 */
export interface ScheduleTarget {
  readonly key: string;
  readonly partition?: number;
  readonly partitionKey?: string;
}

/** Arguments of {@link ScheduleClient.reschedule}: the schedule to replace, the new message and due time. */
export type RescheduleInput = ScheduleTarget & { readonly message: ScheduleMessage } & DueTime;

/** A client for one schedules topic. */
export interface ScheduleClient {
  readonly schedulesTopic: string;
  /**
   * Schedules `message`. Without an envelope key, the key is `<message.topic>-<uuid>` and the
   * envelope is partitioned like the message (its `partitionKey`, else its `partition`).
   *
   * @throws InvalidArgumentError / ContractViolationError from core's builder; TransportError when producing fails.
   */
  schedule(input: ClientScheduleInput): Promise<ScheduledRef>;
  /**
   * Cancels the schedule `target.key`, on the schedule's partition.
   *
   * @throws InvalidArgumentError / ContractViolationError from core's builder; TransportError when producing fails.
   */
  cancel(target: ScheduleTarget): Promise<ScheduledRef>;
  /**
   * Replaces the schedule `key` (same envelope key, same partition) with a new message and due time.
   *
   * @throws InvalidArgumentError / ContractViolationError from core's builder; TransportError when producing fails.
   */
  reschedule(input: RescheduleInput): Promise<ScheduledRef>;
  /** Closes the transport when the client created it. */
  close(): Promise<void>;
}

const SETTING_KEYS = new Set(['schedulesTopic', 'clock', 'uuid', 'transport']);

function envelopeRouting(target: ScheduleTarget): Pick<EnvelopeInput, 'partition' | 'partitionKey'> {
  return {
    ...(target.partition !== undefined ? { partition: target.partition } : {}),
    ...(target.partitionKey !== undefined ? { partitionKey: target.partitionKey } : {}),
  };
}

/**
 * Creates a {@link ScheduleClient}.
 *
 * @throws ConfigError (`KSM_CONFIG`) for invalid kafkajs options.
 *
 * @example
 * ```ts
 * const client = createScheduleClient({ brokers: ['127.0.0.1:19092'], schedulesTopic: 'scheduled_messages' });
 * const ref = await client.schedule({ message: { topic: 'orders', key: 'order-42', payload: 'remind' }, delayMs: 60_000 });
 * await client.cancel(ref); // same key, same partition
 * await client.close();
 * ```
 */
export function createScheduleClient(options: ScheduleClientOptions): ScheduleClient {
  const record = options as unknown as Record<string, unknown>;
  let transport: Transport;
  let owned: boolean;
  if ('transport' in options && options.transport !== undefined) {
    transport = options.transport;
    owned = false;
  } else {
    const transportOptions: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(record)) if (!SETTING_KEYS.has(k)) transportOptions[k] = v;
    transport = createKafkaJsTransport(transportOptions as KafkaJsTransportOptions);
    owned = true;
  }
  const schedulesTopic = options.schedulesTopic;
  const build: BuildOptions = {
    schedulesTopics: [schedulesTopic],
    ...(options.clock !== undefined ? { clock: options.clock } : {}),
    ...(options.uuid !== undefined ? { uuid: options.uuid } : {}),
  };

  async function send(record: EnvelopeRecord): Promise<ScheduledRef> {
    const [meta] = await transport.produce([record]);
    if (meta === undefined) throw new TransportError('the transport reported no metadata for the produced record', { retriable: false });
    return {
      key: record.key,
      topic: meta.topic,
      partition: meta.partition,
      offset: meta.offset,
      ...(record.partitionKey !== undefined ? { partitionKey: record.partitionKey } : {}),
    };
  }

  let closed: Promise<void> | undefined;
  return {
    schedulesTopic,
    schedule: async (input) => {
      const { envelope, ...rest } = input;
      const full = { ...rest, envelope: { ...(envelope ?? {}), topic: schedulesTopic } } as ScheduleInput;
      return send(buildSchedule(full, build));
    },
    cancel: async (target) =>
      send(buildCancel({ key: target.key, envelope: { topic: schedulesTopic, ...envelopeRouting(target) } }, build)),
    reschedule: async (input) => {
      const { key, partition, partitionKey, message, ...due } = input;
      const routing = envelopeRouting({
        key,
        ...(partition !== undefined ? { partition } : {}),
        ...(partitionKey !== undefined ? { partitionKey } : {}),
      });
      const full = { ...due, message, envelope: { topic: schedulesTopic, key, ...routing } } as ScheduleInput;
      return send(buildSchedule(full, build));
    },
    close: () => {
      closed ??= owned ? transport.close() : Promise.resolve();
      return closed;
    },
  };
}
