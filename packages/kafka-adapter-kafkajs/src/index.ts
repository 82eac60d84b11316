/**
 * `@ksched/kafka-adapter-kafkajs`: the ksched `Transport` over kafkajs, topic administration for
 * the schedules and states topics, and a producer-side client (`schedule`, `cancel`,
 * `reschedule`) that partitions like every other ksched client.
 *
 * @packageDocumentation
 */

/** The adapter as a service loads it (`KafkaAdapter`): transport, topic admin and schedule client. */
export { adapter } from './adapter.js';
export { createKafkaJsTransport } from './kafkajs-transport.js';
export { createScheduleClient } from './client.js';
export type { ScheduleClientOptions } from './client.js';
export type { ClientScheduleInput, RescheduleInput, ScheduleClient, ScheduledRef, ScheduleTarget } from './client.js';
export {
  kafkaJsTransportOptionsSchema,
  kafkaJsConnectionOptionsSchema,
  retryOptionsSchema,
  parseKafkaJsTransportOptions,
  parseKafkaJsConnectionOptions,
} from './options.js';
export type {
  KafkaJsTransportOptions,
  ResolvedKafkaJsTransportOptions,
  KafkaJsConnectionOptions,
  ResolvedKafkaJsConnectionOptions,
} from './options.js';
export { toTransportError, isFencedError, isKafkaJsError } from './map-errors.js';
export { fromKafkaMessage, toKafkaMessage, fromKafkaHeaders, toKafkaHeaders } from './map-record.js';
export { ensureSchedulesTopics, verifySchedulesTopics, createTopic, createTopicAdmin, SCHEDULES_TOPIC_CONFIGS } from './admin.js';
export type { EnsureSchedulesTopicsResult, NewTopic, SchedulesTopicsSettings, TopicAdmin } from './admin.js';
export type { KafkaJsAdminTarget, SchedulesTopicsOptions, VerifySchedulesTopicsOptions } from './admin.js';
