/**
 * The producer-side client over this adapter: the kit's schedule client bound to
 * {@link createRdKafkaTransport}.
 *
 * @module
 */
import { scheduleClientFactory } from '@ksched/core/adapter';
import type { AdapterScheduleClientOptions } from '@ksched/core/adapter';
export type { ClientScheduleInput, RescheduleInput, ScheduleClient, ScheduledRef, ScheduleTarget } from '@ksched/core';
import { createRdKafkaTransport } from './rdkafka-transport.js';
import type { RdKafkaTransportOptions } from './options.js';

/** Options of {@link createScheduleClient}: a `transport` (not closed by the client), or node-rdkafka transport options. */
export type ScheduleClientOptions = AdapterScheduleClientOptions<RdKafkaTransportOptions>;

/** Creates a schedule client (see core's `createScheduleClient`); a `ConfigError` for invalid node-rdkafka options. */
export const createScheduleClient = scheduleClientFactory(createRdKafkaTransport);
