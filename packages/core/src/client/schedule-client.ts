/**
 * The producer-side client applications use to schedule, cancel and reschedule messages. It builds
 * the records with the core builders and sends them through a `Transport`, which hashes
 * `partitionKey` (or else the envelope key) with Kafka's murmur2, so a cancel or an update reaches
 * the partition of the schedule it refers to.
 *
 * @module
 */
import {
  cancel as buildCancel,
  schedule as buildSchedule,
  type BuildOptions,
  type DueTime,
  type EnvelopeInput,
  type EnvelopeRecord,
  type ScheduleInput,
  type ScheduleMessage,
} from '../contracts/scheduled-message.js';
import { TransportError } from '../errors.js';
import type { Clock } from '../ports/clock.js';
import type { Transport } from '../ports/transport.js';

/** Settings of {@link createScheduleClient}. */
export interface ScheduleClientOptions {
  /** The transport records are produced through. */
  readonly transport: Transport;
  /** Close the transport when the client is closed (adapters set this when they created it). Default false. */
  readonly ownsTransport?: boolean;
  /** The schedules topic every record goes to (also the only one the builders accept). */
  readonly schedulesTopic: string;
  /** "Now" for relative delays and the past/future limits. Default: the system clock. */
  readonly clock?: Pick<Clock, 'now'>;
  /** UUID v4 source for generated envelope keys. Default: `crypto.randomUUID`. */
  readonly uuid?: () => string;
}

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
  /** Closes the transport when the client owns it; otherwise does nothing. */
  close(): Promise<void>;
}

function envelopeRouting(target: ScheduleTarget): Pick<EnvelopeInput, 'partition' | 'partitionKey'> {
  return {
    ...(target.partition !== undefined ? { partition: target.partition } : {}),
    ...(target.partitionKey !== undefined ? { partitionKey: target.partitionKey } : {}),
  };
}

/**
 * A producer-side client for one schedules topic over any {@link Transport}. Each adapter offers
 * the same function taking its own connection options.
 *
 * @example
 * ```ts
 * const client = createScheduleClient({ transport, schedulesTopic: 'scheduled_messages' });
 * const ref = await client.schedule({ message: { topic: 'orders', key: 'order-42', payload: 'remind' }, delayMs: 60_000 });
 * await client.cancel(ref); // same key, same partition
 * ```
 */
export function createScheduleClient(options: ScheduleClientOptions): ScheduleClient {
  const { transport, schedulesTopic } = options;
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
    schedule: async ({ envelope, ...due }) =>
      send(buildSchedule({ ...due, envelope: { ...(envelope ?? {}), topic: schedulesTopic } } as ScheduleInput, build)),
    cancel: async (target) =>
      send(buildCancel({ key: target.key, envelope: { topic: schedulesTopic, ...envelopeRouting(target) } }, build)),
    reschedule: async ({ key, partition, partitionKey, message, ...due }) =>
      send(
        buildSchedule(
          {
            ...due,
            message,
            envelope: {
              topic: schedulesTopic,
              key,
              ...envelopeRouting({
                key,
                ...(partition !== undefined ? { partition } : {}),
                ...(partitionKey !== undefined ? { partitionKey } : {}),
              }),
            },
          } as ScheduleInput,
          build,
        ),
      ),
    close: () => {
      closed ??= options.ownsTransport === true ? transport.close() : Promise.resolve();
      return closed;
    },
  };
}
