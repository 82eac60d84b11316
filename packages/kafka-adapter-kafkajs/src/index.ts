/**
 * `@ksched/kafka-adapter-kafkajs`: the ksched `Transport` over kafkajs, topic administration for
 * the schedules and states topics, and a producer-side client (`schedule`, `cancel`,
 * `reschedule`) that partitions like every other ksched client.
 *
 * @packageDocumentation
 */
import { adapter } from './adapter.js';

/** The adapter as a service loads it (`KafkaAdapter`): transport, topic admin and schedule client. */
export { adapter };
/** The adapter's functions (see `KafkaAdapter` in `@ksched/core/adapter` for each). */
export const { createScheduleClient, ensureSchedulesTopics, verifySchedulesTopics, createTopic, createTopicAdmin } = adapter;
export type { ScheduleClientOptions, SchedulesTopicsOptions, VerifySchedulesTopicsOptions } from './adapter.js';
export type { KafkaJsAdminTarget } from './admin.js';
/** What every adapter re-exports from core: the schedule client's and topic admin's types, `SCHEDULES_TOPIC_CONFIGS`. */
export * from '@ksched/core/adapter/reexports';
export { createKafkaJsTransport } from './kafkajs-transport.js';
/** The option schemas, parsers and types: all of options.ts. */
export * from './options.js';
export { toTransportError, isFencedError, isKafkaJsError } from './map-errors.js';
export { fromKafkaMessage, toKafkaMessage, fromKafkaHeaders, toKafkaHeaders } from './map-record.js';
