/**
 * The producer-side client over this adapter: the kit's schedule client bound to
 * {@link createKafkaJsTransport} (a given transport, or one made from kafkajs options, connected
 * on first use and closed by `close()`).
 *
 * @module
 */
import { scheduleClientFactory } from '@ksched/core/adapter';
import type { AdapterScheduleClientOptions } from '@ksched/core/adapter';
export type { ClientScheduleInput, RescheduleInput, ScheduleClient, ScheduledRef, ScheduleTarget } from '@ksched/core';
import { createKafkaJsTransport } from './kafkajs-transport.js';
import type { KafkaJsTransportOptions } from './options.js';

/** Options of {@link createScheduleClient}: a `transport` (not closed by the client), or kafkajs transport options. */
export type ScheduleClientOptions = AdapterScheduleClientOptions<KafkaJsTransportOptions>;

/**
 * Creates a schedule client (see core's `createScheduleClient`); throws a `ConfigError` for invalid kafkajs options.
 *
 * @example
 * ```ts
 * const client = createScheduleClient({ brokers: ['127.0.0.1:19092'], schedulesTopic: 'scheduled_messages' });
 * await client.schedule({ message: { topic: 'orders', key: 'order-42', payload: 'remind' }, delayMs: 60_000 });
 * ```
 */
export const createScheduleClient = scheduleClientFactory(createKafkaJsTransport);
